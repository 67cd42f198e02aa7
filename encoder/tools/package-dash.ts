import { randomBytes } from "node:crypto";
import { lstat, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { dashSegmentBase } from "../contract";
import { PipelineError } from "../errors";
import {
  type PackagedStream,
  STAGED_MPD,
  STAGED_SEGMENT,
  dashPackageArgs,
  nameRepresentations,
  packagedInit,
  packagedSegment,
  stagedInit,
} from "../ffmpeg/dash-package";
import { addContentProtection } from "../ffmpeg/drm";
import { StderrTail } from "../ffmpeg/lines";
import { ProgressParser } from "../ffmpeg/progress";
import { CencError, encryptInitSegment, encryptMediaSegment, readTracks } from "../media/cenc";
import { toolFfmpegArgv } from "./ffmpeg-cmd";
import { type ToolPlace, describeInSandbox } from "./sandboxed-probe";
import type { StepContext, StepOf } from "./step";
import { ensureDir, inside, regularFiles } from "./workdir-files";

type Step = StepOf<"shaka:package_dash">;

/** Where a generated ClearKey key is left for later tasks (`${DASH_KEY_ID}`, `${DASH_KEY}`). */
export const GENERATED_KEY_ID_VARIABLE = "DASH_KEY_ID";
export const GENERATED_KEY_VARIABLE = "DASH_KEY";

interface RawStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  disposition?: { attached_pic?: number };
}
interface RawDescription {
  streams?: RawStream[];
  format?: { duration?: string };
}

/** The package's streams, each resolved in its file by a sandboxed ffprobe; and the longest file's duration. */
async function selectStreams(step: Step, place: ToolPlace): Promise<{ files: string[]; streams: (PackagedStream & { codec: string })[]; durationS: number }> {
  const files = [...new Set(step.inputs.map((i) => i.input_file))];
  const described = new Map<string, RawDescription>();
  for (const file of files) {
    if (!(await lstat(inside(place.dir, file)).catch(() => null))?.isFile()) throw new PipelineError("file_missing", `${file} is not a file in the working directory`);
    const description = (await describeInSandbox(file, place)) as RawDescription | null;
    if (description === null) throw new PipelineError("input_unreadable", `${file} is not media ffprobe can read`);
    described.set(file, description);
  }
  const streams = step.inputs.map(({ input_file: file, stream_selector: selector, output, bandwidth }) => {
    const all = described.get(file)!.streams ?? [];
    const chosen = typeof selector === "number" ? all.find((s) => s.index === selector) : all.find((s) => s.codec_type === selector && !s.disposition?.attached_pic);
    if (!chosen) throw new PipelineError("stream_missing", typeof selector === "number" ? `${file} has no stream ${selector}` : `${file} has no ${selector} stream`);
    if (chosen.codec_type !== "video" && chosen.codec_type !== "audio") {
      throw new PipelineError("stream_missing", `stream ${selector} of ${file} is ${chosen.codec_type ?? "of no known type"}: Kiln's packager takes video and audio streams`);
    }
    const kind: PackagedStream["kind"] = chosen.codec_type;
    return { input: files.indexOf(file), stream: chosen.index!, kind, base: dashSegmentBase(output), codec: chosen.codec_name ?? "?", ...(bandwidth ? { bandwidth } : {}) };
  });
  const durationS = Math.max(0, ...[...described.values()].map((d) => Number(d.format?.duration) || 0));
  return { files, streams, durationS };
}

/** The dash muxer in the sandbox, its stderr to the task's log. */
async function runMuxer(args: string[], place: ToolPlace, durationS: number, context: StepContext): Promise<void> {
  const stderr = new StderrTail((line) => context.log.add(line));
  const progress = new ProgressParser(durationS, (f) => context.progress(f * 0.9));
  let code: number;
  try {
    code = await place.sandbox.run({
      dir: place.dir,
      command: [place.ffmpeg ?? "ffmpeg", ...toolFfmpegArgv(args, true)],
      limits: place.limits,
      signal: place.signal,
      onStdout: (text) => progress.push(text),
      onStderr: (text) => stderr.push(text),
    });
  } finally {
    stderr.end();
  }
  if (code !== 0) throw new PipelineError("encode_failed", `ffmpeg exited with ${code}${stderr.text ? `:\n${stderr.text}` : ""}`);
}

/** The key a cenc package is encrypted with: the task's, or one generated and left in the job's environment. Only its id is logged. */
function clearKey(step: Step, { env, log }: StepContext): { key: Buffer; keyId: Buffer } | null {
  if (!step.protection) return null;
  if (step.protection.key && step.protection.key_id) {
    log.add(`cenc: ClearKey key id ${step.protection.key_id}`);
    return { key: Buffer.from(step.protection.key, "hex"), keyId: Buffer.from(step.protection.key_id, "hex") };
  }
  const key = randomBytes(16);
  const keyId = randomBytes(16);
  env.set(GENERATED_KEY_ID_VARIABLE, keyId.toString("hex"));
  env.set(GENERATED_KEY_VARIABLE, key.toString("hex"));
  log.add(`cenc: generated ClearKey key id ${keyId.toString("hex")}; later tasks read it as \${${GENERATED_KEY_ID_VARIABLE}} and the key as \${${GENERATED_KEY_VARIABLE}}`);
  return { key, keyId };
}

/**
 * shaka:package_dash — Kiln's own DASH packager (Shaka Packager is not available here):
 * each input's selected stream (`video`, `audio`, or a stream index, resolved by a
 * sandboxed ffprobe; `stream_missing` otherwise) is copied without re-encoding by
 * ffmpeg's dash muxer in the sandbox into a staging directory: fMP4 segments, one
 * adaptation set per kind. With cenc, every segment is then encrypted and the MPD
 * signals the key id and ClearKey (media/cenc.ts, ffmpeg/drm.ts). The segments move to
 * `output_dir` under each stream's `output` (`{output}_init.mp4`, `{output}_{n}.m4s`)
 * by rename, which replaces rather than follows whatever was there, and the MPD is
 * written as `mpd_output`.
 */
export async function packageDash(step: Step, context: StepContext): Promise<void> {
  const { place, log } = context;
  const { files, streams, durationS } = await selectStreams(step, place);
  const staging = `.${step.task_id}.dash`;
  const stagingDir = inside(place.dir, staging);
  await rm(stagingDir, { recursive: true, force: true });
  try {
    await ensureDir(place.dir, staging);
    await runMuxer(dashPackageArgs(files, streams, staging, step.segment_duration), place, durationS, context);
    const staged = await regularFiles(stagingDir);
    const segmentsOf = (rep: number) =>
      staged
        .map((name) => ({ name, m: STAGED_SEGMENT.exec(name) }))
        .filter(({ m }) => m !== null && Number(m[1]) === rep)
        .map(({ name, m }) => ({ name, n: m![2]! }));
    const sizes = new Map<number, number>();
    for (const [rep] of streams.entries()) {
      if (!staged.includes(stagedInit(rep))) throw new PipelineError("encode_failed", `the dash muxer wrote no init segment for stream ${rep}`);
      let bytes = 0;
      for (const s of segmentsOf(rep)) bytes += (await stat(path.join(stagingDir, s.name))).size;
      sizes.set(rep, bytes);
    }

    const key = clearKey(step, context);
    if (key) await encrypt(stagingDir, streams.length, segmentsOf, key);

    const out = await ensureDir(place.dir, step.output_dir);
    const measured = (rep: number) => (durationS > 0 ? Math.round((sizes.get(rep)! * 8) / durationS) : 1);
    let mpd = nameRepresentations(await readFile(path.join(stagingDir, STAGED_MPD), "utf8"), streams, measured);
    if (key) mpd = addContentProtection(mpd, { key_id: key.keyId.toString("hex") });
    await writeFile(path.join(stagingDir, STAGED_MPD), mpd);

    for (const [rep, stream] of streams.entries()) {
      const segments = segmentsOf(rep);
      await rename(path.join(stagingDir, stagedInit(rep)), path.join(out, packagedInit(stream.base)));
      for (const s of segments) await rename(path.join(stagingDir, s.name), path.join(out, packagedSegment(stream.base, s.n)));
      log.add(`${path.join(step.output_dir, packagedInit(stream.base))} and ${segments.length} segments: ${stream.kind} ${stream.codec}${key ? ", cenc" : ""}`);
    }
    await rename(path.join(stagingDir, STAGED_MPD), path.join(out, step.mpd_output));
    log.add(`${path.join(step.output_dir, step.mpd_output)}: ${streams.length} representations`);
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
  }
}

/** CENC over each representation's clear init and media segments, in place. */
async function encrypt(stagingDir: string, reps: number, segmentsOf: (rep: number) => { name: string }[], { key, keyId }: { key: Buffer; keyId: Buffer }): Promise<void> {
  try {
    for (let rep = 0; rep < reps; rep++) {
      const initFile = path.join(stagingDir, stagedInit(rep));
      const clear = await readFile(initFile);
      const tracks = readTracks(clear);
      for (const s of segmentsOf(rep)) {
        const file = path.join(stagingDir, s.name);
        await writeFile(file, encryptMediaSegment(await readFile(file), key, tracks));
      }
      await writeFile(initFile, encryptInitSegment(clear, keyId));
    }
  } catch (err) {
    // The packager's messages name boxes, never key material.
    if (err instanceof CencError) throw new PipelineError("encode_failed", `cenc packaging failed: ${err.message}`);
    throw err;
  }
}
