import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The first line of `ffmpeg -version`, e.g. "5.1.6-0+deb12u1"; throws when ffmpeg is missing. */
export async function ffmpegVersion(binary = "ffmpeg"): Promise<string> {
  const { stdout } = await run(binary, ["-hide_banner", "-version"]);
  const match = /^ffmpeg version (\S+)/m.exec(stdout);
  if (!match) throw new Error(`unexpected ffmpeg -version output: ${stdout.slice(0, 120)}`);
  return match[1]!;
}
