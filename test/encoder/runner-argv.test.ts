import { describe, expect, it } from "vitest";
import type { FfmpegCommand } from "../../encoder/ffmpeg/command";
import { ffmpegArgv } from "../../encoder/ffmpeg/runner";

/** Pure: how the runner wraps a command, no ffmpeg. */

const command = (args: string[]): FfmpegCommand => ({ args, outputs: ["out.mp4"], main: "out.mp4", durationS: 3 });

describe("ffmpeg argv", () => {
  it("never reads stdin and whitelists only file and pipe before every input", () => {
    const argv = ffmpegArgv(command(["-i", "input", "-i", "subs.vtt", "-map", "0", "out.mp4"]));
    expect(argv.slice(0, 8)).toEqual(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y"]);
    // Every run bounds its largest single allocation (see limits.ts).
    expect(argv.slice(8, 10)).toEqual(["-max_alloc", String(8192 * 8192 * 8)]);
    expect(argv.slice(10)).toEqual(["-protocol_whitelist", "file,pipe", "-i", "input", "-protocol_whitelist", "file,pipe", "-i", "subs.vtt", "-map", "0", "out.mp4"]);
  });

  it("follows an input still arriving, waiting for its next bytes, and only that input", () => {
    const argv = ffmpegArgv(command(["-ss", "1", "-i", "input", "-i", "subs.vtt", "out.mp4"]), { file: "input", waitMs: 5_000 });
    expect(argv.slice(10)).toEqual([
      "-ss", "1",
      "-protocol_whitelist", "file,pipe", "-follow", "1", "-rw_timeout", "5000000", "-i", "input",
      "-protocol_whitelist", "file,pipe", "-i", "subs.vtt",
      "out.mp4",
    ]);
  });
});
