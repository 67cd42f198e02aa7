import { stat } from "node:fs/promises";
import path from "node:path";
import type { ToolLimits } from "../contract";
import type { Cores } from "../ffmpeg/cores";
import { describeArgv } from "../ffmpeg/ffprobe-run";
import { type ProbeResult, parseProbe } from "../ffmpeg/probe";
import type { Sandbox } from "../sandbox/sandbox";

/** Where a tool process runs: the job's directory under the order's limits, in the sandbox. */
export interface ToolPlace {
  sandbox: Sandbox;
  dir: string;
  limits: ToolLimits;
  signal: AbortSignal;
  ffmpeg?: string;
  ffprobe?: string;
  /** The encoder's cores: a user's ffmpeg runs once it holds one. */
  cores?: Cores;
}

/** A description is kilobytes; past this it is not one worth reading. */
const MAX_DESCRIPTION_CHARS = 1024 * 1024;
/** As long as a probe of a transcode input may take (ffprobe-run's default). */
const PROBE_WALL_SECONDS = 60;

/**
 * ffprobe's JSON description (`-show_format -show_streams`) of a file in the working
 * directory, read in the sandbox: the files of a tool pipeline are the user's, and a
 * playlist or concat list among them may name any path. Null when ffprobe cannot read it
 * as media (or could not run); only a cancel is thrown.
 */
export async function describeInSandbox(file: string, place: ToolPlace): Promise<unknown> {
  let out = "";
  try {
    const code = await place.sandbox.run({
      dir: place.dir,
      command: [place.ffprobe ?? "ffprobe", ...describeArgv("file", `file:${file}`)],
      limits: { ...place.limits, wall_seconds: Math.min(place.limits.wall_seconds, PROBE_WALL_SECONDS) },
      signal: place.signal,
      onStdout: (text) => {
        if (out.length < MAX_DESCRIPTION_CHARS) out += text;
      },
    });
    if (code !== 0 || out.length >= MAX_DESCRIPTION_CHARS) return null;
    return JSON.parse(out);
  } catch (err) {
    if (place.signal.aborted) throw err;
    return null;
  }
}

/** A file of the working directory as the job's metadata describes media; null when ffprobe cannot read it. */
export async function probeInSandbox(file: string, place: ToolPlace): Promise<ProbeResult | null> {
  const description = await describeInSandbox(file, place);
  if (description === null) return null;
  try {
    // The pipeline's own file, read in the sandbox: a playlist it wrote is described, not refused.
    return parseProbe(description, (await stat(path.join(place.dir, file))).size, file, true);
  } catch {
    return null;
  }
}
