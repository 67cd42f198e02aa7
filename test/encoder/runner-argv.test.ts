import { describe, expect, it } from "vitest";
import type { FfmpegCommand } from "../../encoder/ffmpeg/command";
import { buildEncodeCommand } from "../../encoder/ffmpeg/encode";
import { ffmpegArgv, readsFromStdin } from "../../encoder/ffmpeg/runner";

/** Pure: how the runner wraps a command, no ffmpeg. */

const source = { file: "input", width: 640, height: 360, durationS: 3, fps: 30, hasVideo: true, hasAudio: true };
const growing = { file: "input", waitMs: 5_000, bytes: async function* () {} };
const command = (args: string[]): FfmpegCommand => ({ args, outputs: ["out.mp4"], main: "out.mp4", durationS: 3 });

describe("ffmpeg argv", () => {
  it("never reads stdin for commands and whitelists only file and pipe before every input", () => {
    const argv = ffmpegArgv(command(["-i", "input", "-i", "subs.vtt", "-map", "0", "out.mp4"]));
    expect(argv.slice(0, 8)).toEqual(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y"]);
    expect(argv.slice(8)).toEqual(["-protocol_whitelist", "file,pipe", "-i", "input", "-protocol_whitelist", "file,pipe", "-i", "subs.vtt", "-map", "0", "out.mp4"]);
  });

  it("feeds an input still arriving through stdin when the command reads it once, from its start", () => {
    const video = buildEncodeCommand({ kind: "video", format: "mp4", codec: "h264", width: 320 }, source, "out");
    expect(readsFromStdin(video, "input")).toBe(true);
    const argv = ffmpegArgv(video, growing);
    expect(argv).toContain("pipe:0");
    expect(argv).not.toContain("input");
    expect(argv).not.toContain("-follow");
    expect(argv[argv.indexOf("pipe:0") - 1]).toBe("-i");
    // A subtitle or second file is read as a file.
    expect(ffmpegArgv(command(["-i", "input", "-i", "subs.vtt", "out.mp4"]), growing)).toEqual(expect.arrayContaining(["pipe:0", "subs.vtt"]));
  });

  it("follows the growing file when the command seeks in it or reads it twice", () => {
    const trimmed = buildEncodeCommand({ kind: "video", format: "mp4", codec: "h264", width: 320, start: 1 }, source, "out");
    const still = buildEncodeCommand({ kind: "image", format: "jpeg", start: 1.5 }, source, "out");
    const twice = command(["-i", "input", "-i", "input", "-filter_complex", "[0:v][1:v]hstack", "out.mp4"]);
    const afterAnother = command(["-ss", "2", "-i", "subs.vtt", "-i", "input", "out.mp4"]);
    for (const seeks of [trimmed, still, twice]) {
      expect(readsFromStdin(seeks, "input")).toBe(false);
      const argv = ffmpegArgv(seeks, growing);
      expect(argv).not.toContain("pipe:0");
      const follow = argv.indexOf("-follow");
      expect(argv.slice(follow, follow + 4)).toEqual(["-follow", "1", "-rw_timeout", "5000000"]);
      expect(argv.slice(argv.indexOf("input") - 1, argv.indexOf("input") + 1)).toEqual(["-i", "input"]);
    }
    // Another input's seek is not this one's.
    expect(readsFromStdin(afterAnother, "input")).toBe(true);
  });

  it("reads a file that has all arrived as a file", () => {
    const argv = ffmpegArgv(command(["-i", "input", "out.mp4"]));
    expect(argv).not.toContain("pipe:0");
    expect(argv).not.toContain("-follow");
  });
});
