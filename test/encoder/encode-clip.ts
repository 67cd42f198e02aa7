import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll } from "vitest";
import type { EncodeSpec } from "../../encoder/contract";
import type { FfmpegCommand, SourceInfo } from "../../encoder/ffmpeg/command";
import { buildEncodeCommand } from "../../encoder/ffmpeg/encode";
import { runPostStep } from "../../encoder/media/post-step";
import { type ClipName, clipPath, clips } from "./clips";

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** What the probe would report for a clip: display sizes, so a 90° phone clip is portrait. */
export function sourceOf(name: ClipName): SourceInfo {
  const clip = clips[name];
  const turned = "rotate" in clip && (clip.rotate === 90 || clip.rotate === 270);
  return {
    file: "input",
    width: turned ? clip.height : clip.width,
    height: turned ? clip.width : clip.height,
    durationS: clip.seconds,
    fps: clip.fps,
    hasVideo: true,
    hasAudio: clip.audio,
  };
}

/**
 * Builds one task's command, runs it with real ffmpeg (as the runner would, minus
 * progress) in a fresh directory holding the clip as `input`, and runs its post step.
 */
export async function encodeClip(clip: ClipName, spec: EncodeSpec, outputBase: string): Promise<{ dir: string; cmd: FfmpegCommand }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-encode-"));
  dirs.push(dir);
  symlinkSync(clipPath(clip), path.join(dir, "input"));
  const cmd = buildEncodeCommand(spec, sourceOf(clip), outputBase);
  await run("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", ...cmd.args], { cwd: dir });
  if (cmd.post) await runPostStep(cmd.post, dir);
  return { dir, cmd };
}
