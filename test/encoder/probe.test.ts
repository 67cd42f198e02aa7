import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncodeSpec } from "../../encoder/contract";
import { PipelineError } from "../../encoder/errors";
import { ProbeError } from "../../encoder/ffmpeg/ffprobe-run";
import { ffprobeArgv, normaliseRotation, parseProbe, type ProbeResult, probeFile, requireStreams } from "../../encoder/ffmpeg/probe";
import { audioOnlyPath, clipPath, stillImagePath } from "./clips";
import { ffprobe, videoStream } from "./ffprobe";

let dir: string;

/** Copies a file into the test's working dir under `name`, so probeFile sees a job-relative path. */
function put(source: string, name: string): string {
  copyFileSync(source, path.join(dir, name));
  return name;
}
function ffmpeg(...args: string[]) {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], { cwd: dir });
}
/** The first `fraction` of a file, as an upload cut short would leave it. */
function truncated(source: string, name: string, fraction: number): string {
  const bytes = readFileSync(source);
  writeFileSync(path.join(dir, name), bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return name;
}
/** Deterministic noise, so a failure reproduces. */
function noise(length: number, seed: string): Buffer {
  const chunks: Buffer[] = [];
  let block = Buffer.from(seed);
  while (chunks.length * 32 < length) chunks.push((block = createHash("sha256").update(block).digest()));
  return Buffer.concat(chunks).subarray(0, length);
}
async function failure(promise: Promise<unknown>): Promise<ProbeError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "expected the probe to fail").toBeInstanceOf(ProbeError);
  return err as ProbeError;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "kiln-probe-"));
}, 60_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("ffprobeArgv", () => {
  it("reads one job-relative file through the file protocol only, as JSON", () => {
    expect(ffprobeArgv("input.mp4")).toEqual([
      "-v", "error", "-max_alloc", String(8192 * 8192 * 8), "-protocol_whitelist", "file", "-print_format", "json", "-show_format", "-show_streams", "file:input.mp4",
    ]);
    // A name that looks like an option or a URL stays a file name.
    expect(ffprobeArgv("-i").at(-1)).toBe("file:-i");
    expect(ffprobeArgv("http://x/y").at(-1)).toBe("file:http://x/y");
  });

  it("refuses paths outside the job directory", () => {
    expect(() => ffprobeArgv("/etc/passwd")).toThrow();
    expect(() => ffprobeArgv("../other/input.mp4")).toThrow();
    expect(() => ffprobeArgv("")).toThrow();
  });
});

describe("probeFile on the test clips", () => {
  it("landscape: 640x360, 30 fps, h264 + aac, 3 s", async () => {
    const file = put(clipPath("landscape"), "landscape.mp4");
    const { metadata, source, isStillImage } = await probeFile(file, dir);
    expect(metadata).toMatchObject({ width: 640, height: 360, codec: "h264", framerate: 30, has_audio: true, audio_codec: "aac", rotation: 0 });
    expect(Math.abs(metadata.duration_ms - 3000)).toBeLessThanOrEqual(40);
    expect(metadata.file_size_bytes).toBe(statSync(path.join(dir, file)).size);
    const expectedKbps = Math.round(Number(ffprobe(path.join(dir, file)).format.bit_rate) / 1000);
    expect(metadata.bitrate_kbps).toBe(expectedKbps);
    expect(source).toMatchObject({ file, width: 640, height: 360, fps: 30, hasVideo: true, hasAudio: true });
    expect(source.durationS).toBeCloseTo(3, 1);
    expect(isStillImage).toBe(false);
  });

  it("silent: video without audio", async () => {
    const { metadata, source } = await probeFile(put(clipPath("silent"), "silent.mp4"), dir);
    expect(metadata).toMatchObject({ width: 640, height: 360, framerate: 25, has_audio: false, audio_codec: null });
    expect(source).toMatchObject({ hasVideo: true, hasAudio: false });
  });

  it("odd: keeps 321x241 as is", async () => {
    const { metadata, source } = await probeFile(put(clipPath("odd"), "odd.mp4"), dir);
    expect(metadata).toMatchObject({ width: 321, height: 241, rotation: 0 });
    expect(source).toMatchObject({ width: 321, height: 241 });
  });

  it("portrait: 360x640 coded, no rotation", async () => {
    const result = await probeFile(put(clipPath("portrait"), "portrait.mp4"), dir);
    expect(result.metadata).toMatchObject({ width: 360, height: 640, rotation: 0 });
    expect(result.coded).toEqual({ width: 360, height: 640 });
  });

  it("phone: coded 640x360 with a 90° display matrix is displayed 360x640", async () => {
    const file = put(clipPath("phone"), "phone.mp4");
    const coded = videoStream(ffprobe(path.join(dir, file)))!;
    expect([coded.width, coded.height]).toEqual([640, 360]);
    const result = await probeFile(file, dir);
    expect(result.metadata).toMatchObject({ rotation: 90, width: 360, height: 640 });
    expect(result.source).toMatchObject({ width: 360, height: 640 });
    expect(result.coded).toEqual({ width: 640, height: 360 });
  });

  it("corrects the display width by the sample aspect ratio (720x576 at 16:15 → 768x576)", async () => {
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25:duration=1,setsar=16/15", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "sar.mp4");
    expect(videoStream(ffprobe(path.join(dir, "sar.mp4")))).toMatchObject({ width: 720, height: 576 });
    const result = await probeFile("sar.mp4", dir);
    expect(result.metadata).toMatchObject({ width: 768, height: 576, framerate: 25, has_audio: false });
    expect(result.coded).toEqual({ width: 720, height: 576 });
  });

  it("an audio-only file has audio and no video", async () => {
    const result = await probeFile(put(audioOnlyPath(), "tone.m4a"), dir);
    expect(result.metadata).toMatchObject({ has_audio: true, audio_codec: "aac", codec: "aac", width: null, height: null, framerate: null });
    expect(result.metadata.duration_ms).toBeGreaterThan(1900);
    expect(result.source).toMatchObject({ hasVideo: false, hasAudio: true });
    expect(result.isStillImage).toBe(false);
  });

  it("an mp3 with cover art is audio-only (the picture is not a video stream)", async () => {
    const tone = put(audioOnlyPath(), "tone-for-cover.m4a");
    const still = put(stillImagePath(), "cover.png");
    ffmpeg("-i", tone, "-i", still, "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic", "cover.mp3");
    const result = await probeFile("cover.mp3", dir);
    expect(result.source).toMatchObject({ hasVideo: false, hasAudio: true });
    expect(result.metadata).toMatchObject({ codec: "mp3", width: null });
  });

  it("a PNG is a still image: a picture stream, no duration, no frame rate", async () => {
    const result = await probeFile(put(stillImagePath(), "still.png"), dir);
    expect(result.isStillImage).toBe(true);
    expect(result.source).toMatchObject({ hasVideo: true, hasAudio: false, width: 320, height: 240, durationS: 0, fps: null });
    expect(result.metadata).toMatchObject({ codec: "png", duration_ms: 0, framerate: null, bitrate_kbps: null });
  });

  it("a JPEG is a still image, with or without its extension", async () => {
    ffmpeg("-i", put(stillImagePath(), "for-jpeg.png"), "still.jpg");
    copyFileSync(path.join(dir, "still.jpg"), path.join(dir, "still-noext"));
    for (const file of ["still.jpg", "still-noext"]) {
      const result = await probeFile(file, dir);
      expect(result.isStillImage, file).toBe(true);
      expect(result.metadata, file).toMatchObject({ codec: "mjpeg", width: 320, height: 240 });
    }
  });
});

describe("probeFile on unreadable inputs", () => {
  it("a zero-byte file", async () => {
    writeFileSync(path.join(dir, "empty.mp4"), "");
    const err = await failure(probeFile("empty.mp4", dir));
    expect(err.code).toBe("input_unreadable");
    expect(err.message).toMatch(/empty/);
  });

  it("a missing file", async () => {
    expect((await failure(probeFile("nope.mp4", dir))).code).toBe("input_unreadable");
  });

  it("random bytes, with and without a media extension", async () => {
    for (const name of ["random.bin", "random.mp4", "random.mp3"]) {
      writeFileSync(path.join(dir, name), noise(64 * 1024, name));
      const err = await failure(probeFile(name, dir));
      expect(err.code, name).toBe("input_unreadable");
    }
  });

  it("the first 30% of an mp4 whose index is at the end (moov missing)", async () => {
    const err = await failure(probeFile(truncated(clipPath("landscape"), "cut.mp4", 0.3), dir));
    expect(err.code).toBe("input_unreadable");
    expect(err.message).toMatch(/not a media file/);
  });

  it("the first 30% of a faststart mp4 (index intact, data missing)", async () => {
    ffmpeg("-i", put(clipPath("landscape"), "for-faststart.mp4"), "-c", "copy", "-movflags", "+faststart", "faststart.mp4");
    // Whole, it is fine; ffprobe alone accepts the cut one (exit 0, both streams, 3 s).
    await expect(probeFile("faststart.mp4", dir)).resolves.toBeTruthy();
    const file = truncated(path.join(dir, "faststart.mp4"), "cut-faststart.mp4", 0.3);
    const raw = ffprobe(path.join(dir, file));
    expect(raw.streams).toHaveLength(2);
    const err = await failure(probeFile(file, dir));
    expect(err.code).toBe("input_unreadable");
    expect(err.message).toMatch(/truncated/);
  });

  it("the first 30% of a Matroska file", async () => {
    ffmpeg("-i", put(clipPath("landscape"), "for-mkv.mp4"), "-c", "copy", "whole.mkv");
    await expect(probeFile("whole.mkv", dir)).resolves.toBeTruthy();
    const err = await failure(probeFile(truncated(path.join(dir, "whole.mkv"), "cut.mkv", 0.3), dir));
    expect(err.code).toBe("input_unreadable");
    expect(err.message).toMatch(/truncated/);
  });

  it("a short text file", async () => {
    writeFileSync(path.join(dir, "note.txt"), "hello, this is not a video\n");
    expect((await failure(probeFile("note.txt", dir))).code).toBe("input_unreadable");
  });

  it("a long .txt file, which ffprobe reads as an 'ansi' video with a duration", async () => {
    const text = Array.from({ length: 2000 }, (_, i) => `line ${i} of some text`).join("\n");
    writeFileSync(path.join(dir, "notes.txt"), text);
    const raw = ffprobe(path.join(dir, "notes.txt"));
    expect(raw.format.format_name).toBe("tty");
    const err = await failure(probeFile("notes.txt", dir));
    expect(err.code).toBe("input_unreadable");
    expect(err.message).toMatch(/text/);
  });

  it("a subtitle file (streams, but no audio or video)", async () => {
    writeFileSync(path.join(dir, "subs.srt"), "1\n00:00:01,000 --> 00:00:02,000\nhello\n");
    const err = await failure(probeFile("subs.srt", dir));
    expect(err.code).toBe("input_unreadable");
    expect(err.message).toMatch(/no audio or video/);
  });
});

describe("probeFile process handling", () => {
  it("reports cancellation as canceled", async () => {
    const file = put(clipPath("silent"), "cancel.mp4");
    const err = await probeFile(file, dir, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe("canceled");
  });

  it("does not blame the input when ffprobe is missing", async () => {
    const file = put(clipPath("silent"), "nobinary.mp4");
    const err = await probeFile(file, dir, { ffprobe: "/nonexistent/ffprobe" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).not.toMatch(/^input_/);
  });
});

describe("requireStreams", () => {
  const kinds: EncodeSpec["kind"][] = ["video", "audio", "image", "animation", "adaptive_video"];
  let video: ProbeResult;
  let silent: ProbeResult;
  let audio: ProbeResult;
  let still: ProbeResult;
  beforeAll(async () => {
    [video, silent, audio, still] = await Promise.all([
      probeFile(put(clipPath("landscape"), "rs-video.mp4"), dir),
      probeFile(put(clipPath("silent"), "rs-silent.mp4"), dir),
      probeFile(put(audioOnlyPath(), "rs-audio.m4a"), dir),
      probeFile(put(stillImagePath(), "rs-still.png"), dir),
    ]);
  }, 60_000);
  const outcome = (result: ProbeResult, kind: EncodeSpec["kind"]) => {
    try {
      requireStreams(result, kind);
      return "ok";
    } catch (err) {
      expect(err).toBeInstanceOf(ProbeError);
      return (err as ProbeError).code;
    }
  };

  it("a video with audio feeds every kind", () => {
    for (const kind of kinds) expect(outcome(video, kind), kind).toBe("ok");
  });

  it("a silent video feeds every kind but audio", () => {
    expect(Object.fromEntries(kinds.map((k) => [k, outcome(silent, k)]))).toEqual({
      video: "ok", audio: "input_unreadable", image: "ok", animation: "ok", adaptive_video: "ok",
    });
  });

  it("an audio-only input feeds only audio; the others have no video", () => {
    expect(Object.fromEntries(kinds.map((k) => [k, outcome(audio, k)]))).toEqual({
      video: "input_no_video", audio: "ok", image: "input_no_video", animation: "input_no_video", adaptive_video: "input_no_video",
    });
  });

  it("a still image feeds only image; it is not a video and has no audio", () => {
    expect(Object.fromEntries(kinds.map((k) => [k, outcome(still, k)]))).toEqual({
      video: "input_no_video", audio: "input_unreadable", image: "ok", animation: "input_no_video", adaptive_video: "input_no_video",
    });
    expect(() => requireStreams(still, "video")).toThrow(/still image, not a video/);
    expect(() => requireStreams(still, "audio")).toThrow(/no audio/);
  });
});

describe("parseProbe (hand-written ffprobe JSON)", () => {
  const h264 = (extra: Record<string, unknown> = {}) => ({
    index: 0, codec_type: "video", codec_name: "h264", width: 1920, height: 1080, sample_aspect_ratio: "1:1",
    avg_frame_rate: "30/1", r_frame_rate: "30/1", duration: "10.000000", ...extra,
  });
  const aac = { index: 1, codec_type: "audio", codec_name: "aac", duration: "10.000000" };
  const mp4 = (streams: unknown[], format: Record<string, unknown> = {}) => ({
    format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: "10.000000", bit_rate: "5000000", ...format },
    streams,
  });
  const unreadable = (json: unknown) => {
    try {
      parseProbe(json, 1000);
    } catch (err) {
      expect(err).toBeInstanceOf(ProbeError);
      return (err as ProbeError).code;
    }
    return "parsed";
  };

  it("a display matrix of -90 is rotation 270 and swaps the sides", () => {
    const r = parseProbe(mp4([h264({ side_data_list: [{ side_data_type: "Display Matrix", rotation: -90 }] }), aac]), 1000, "in.mp4");
    expect(r.metadata).toMatchObject({ rotation: 270, width: 1080, height: 1920 });
    expect(r.source).toMatchObject({ file: "in.mp4", width: 1080, height: 1920 });
    expect(r.coded).toEqual({ width: 1920, height: 1080 });
  });

  it("180 keeps the sides; odd angles snap to the nearest quarter turn", () => {
    const r = parseProbe(mp4([h264({ side_data_list: [{ side_data_type: "Display Matrix", rotation: 180 }] })]), 1000);
    expect(r.metadata).toMatchObject({ rotation: 180, width: 1920, height: 1080 });
    expect([normaliseRotation(-180), normaliseRotation(450), normaliseRotation(-270), normaliseRotation(89.9), normaliseRotation(0)]).toEqual([180, 90, 90, 90, 0]);
  });

  it("the legacy rotate tag (clockwise) is read when there is no display matrix", () => {
    const r = parseProbe(mp4([h264({ tags: { rotate: "90" } })]), 1000);
    expect(r.metadata).toMatchObject({ rotation: 270, width: 1080, height: 1920 });
    expect(parseProbe(mp4([h264({ tags: { rotate: "270" } })]), 1000).metadata.rotation).toBe(90);
    expect(parseProbe(mp4([h264({ tags: { rotate: "180" } })]), 1000).metadata).toMatchObject({ rotation: 180, width: 1920 });
    // The display matrix wins over the tag.
    const both = h264({ tags: { rotate: "90" }, side_data_list: [{ side_data_type: "Display Matrix", rotation: -90 }] });
    expect(parseProbe(mp4([both]), 1000).metadata.rotation).toBe(270);
  });

  it("sample aspect ratio widens the display size, rounded to even, before rotation", () => {
    const pal = { width: 720, height: 576, sample_aspect_ratio: "16:15" };
    expect(parseProbe(mp4([h264(pal)]), 1000).metadata).toMatchObject({ width: 768, height: 576 });
    expect(parseProbe(mp4([h264({ ...pal, sample_aspect_ratio: "64:45" })]), 1000).metadata).toMatchObject({ width: 1024, height: 576 });
    // 720 × 12/11 = 785.45… → 786
    expect(parseProbe(mp4([h264({ ...pal, sample_aspect_ratio: "12:11" })]), 1000).metadata.width).toBe(786);
    expect(parseProbe(mp4([h264({ ...pal, sample_aspect_ratio: "0:1" })]), 1000).metadata.width).toBe(720);
    const rotated = h264({ ...pal, side_data_list: [{ side_data_type: "Display Matrix", rotation: 90 }] });
    expect(parseProbe(mp4([rotated]), 1000).metadata).toMatchObject({ width: 576, height: 768 });
  });

  it("frame rate: avg_frame_rate, else r_frame_rate, to three decimals", () => {
    const fps = (s: Record<string, unknown>) => parseProbe(mp4([h264(s)]), 1000).metadata.framerate;
    expect(fps({ avg_frame_rate: "30000/1001" })).toBe(29.97);
    expect(fps({ avg_frame_rate: "24000/1001" })).toBe(23.976);
    expect(fps({ avg_frame_rate: "0/0", r_frame_rate: "25/1" })).toBe(25);
    expect(fps({ avg_frame_rate: "0/0", r_frame_rate: "0/0" })).toBeNull();
    expect(parseProbe(mp4([h264({ avg_frame_rate: "30000/1001" })]), 1000).source.fps).toBeCloseTo(29.97003, 5);
  });

  it("duration from the format, else the streams; bitrate from the format, else size over duration", () => {
    expect(parseProbe(mp4([h264(), aac]), 1000).metadata).toMatchObject({ duration_ms: 10000, bitrate_kbps: 5000 });
    const noFormat = parseProbe(mp4([h264({ duration: "4.5" }), { ...aac, duration: "4.52" }], { duration: undefined, bit_rate: undefined }), 1_000_000);
    expect(noFormat.metadata).toMatchObject({ duration_ms: 4520, bitrate_kbps: Math.round((1_000_000 * 8) / 4.52 / 1000) });
    expect(noFormat.source.durationS).toBeCloseTo(4.52, 5);
  });

  it("codec fields, audio flags and file size", () => {
    const r = parseProbe(mp4([h264({ codec_name: "hevc" }), { ...aac, codec_name: "opus" }]), 123456);
    expect(r.metadata).toMatchObject({ codec: "hevc", has_audio: true, audio_codec: "opus", file_size_bytes: 123456 });
    expect(parseProbe(mp4([h264()]), 1).metadata).toMatchObject({ has_audio: false, audio_codec: null });
  });

  it("cover art does not count as video", () => {
    const cover = { index: 1, codec_type: "video", codec_name: "mjpeg", width: 500, height: 500, disposition: { attached_pic: 1 } };
    const r = parseProbe({ format: { format_name: "mp3", duration: "3.0", bit_rate: "128000" }, streams: [{ ...aac, index: 0, codec_name: "mp3" }, cover] }, 1000);
    expect(r.source).toMatchObject({ hasVideo: false, hasAudio: true, width: null });
    expect(r.metadata.codec).toBe("mp3");
  });

  it("still images: pipe and image2 demuxers, or a lone picture without duration", () => {
    const png = { index: 0, codec_type: "video", codec_name: "png", width: 320, height: 240, avg_frame_rate: "25/1" };
    expect(parseProbe({ format: { format_name: "png_pipe" }, streams: [png] }, 1).isStillImage).toBe(true);
    expect(parseProbe({ format: { format_name: "image2", duration: "0.04" }, streams: [{ ...png, codec_name: "mjpeg" }] }, 1).isStillImage).toBe(true);
    expect(parseProbe({ format: { format_name: "matroska,webm" }, streams: [png] }, 1).isStillImage).toBe(true);
    const gif = { format: { format_name: "gif", duration: "1.0" }, streams: [{ ...png, codec_name: "gif", nb_frames: "5" }] };
    expect(parseProbe(gif, 1).isStillImage).toBe(false);
    expect(parseProbe(mp4([h264({ codec_name: "mjpeg" })]), 1).isStillImage).toBe(false);
  });

  it("rejects what describes no usable media", () => {
    expect(unreadable({})).toBe("input_unreadable");
    expect(unreadable("not json")).toBe("input_unreadable");
    expect(unreadable({ format: { format_name: "mp3" }, streams: [] })).toBe("input_unreadable");
    expect(unreadable(mp4([{ index: 0, codec_type: "subtitle", codec_name: "subrip" }]))).toBe("input_unreadable");
    expect(unreadable({ format: { format_name: "tty", duration: "5.8" }, streams: [h264({ codec_name: "ansi" })] })).toBe("input_unreadable");
    expect(unreadable(mp4([h264({ width: 0, height: 0 })]))).toBe("input_unreadable");
    expect(unreadable(mp4([h264({ codec_name: undefined })]))).toBe("input_unreadable");
    expect(unreadable(mp4([h264({ duration: undefined })], { duration: undefined }))).toBe("input_unreadable");
    expect(unreadable(mp4([h264()]))).toBe("parsed");
  });
});
