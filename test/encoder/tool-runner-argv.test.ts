import { describe, expect, it } from "vitest";
import { inputFiles, toolFfmpegArgv } from "../../encoder/tools/ffmpeg-cmd";

/** Pure: how the tool runner wraps a user's ffmpeg arguments. */

describe("the tool runner's argv", () => {
  it("adds the fixed options first and whitelists file and pipe before each input", () => {
    expect(toolFfmpegArgv(["-y", "-i", "a.mov", "-i", "b.wav", "o.mp4"], true)).toEqual([
      "-hide_banner", "-nostdin", "-nostats", "-progress", "pipe:1",
      "-y", "-protocol_whitelist", "file,pipe", "-i", "a.mov", "-protocol_whitelist", "file,pipe", "-i", "b.wav", "o.mp4",
    ]);
    expect(toolFfmpegArgv(["-i", "a.mov", "o.mp4"], false).slice(5)).toEqual(["-i", "a.mov", "o.mp4"]);
  });

  it("knows which inputs are files in the working directory", () => {
    expect(inputFiles(["-i", "a.mov", "-f", "lavfi", "-i", "testsrc", "-i", "file:sub/b.wav", "-i", "img%03d.png", "-i", "/etc/passwd", "-i", "http://x/y", "o.mp4"])).toEqual(["a.mov", "sub/b.wav"]);
  });
});
