import { closeSync, openSync, readSync, readdirSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import type { EncodeSpec } from "../../encoder/contract";
import { type ClipName } from "./clips";
import { encodeClip } from "./encode-clip";
import { type Probed, audioStream, ffprobe, frameRate, videoStream } from "./ffprobe";

/**
 * Every kind × format through real ffmpeg, checked with ffprobe (and sharp where
 * ffmpeg 5.1 cannot read the result). AV1 and HEVC run on 1 s at 320 px to stay fast.
 */

/** Encodes one task and returns the path of its main file. */
async function encode(clip: ClipName, spec: EncodeSpec): Promise<string> {
  const { dir, cmd } = await encodeClip(clip, spec, "out");
  return path.join(dir, cmd.main);
}

function duration(probed: Probed): number {
  return Number(probed.format.duration);
}

function majorBrand(probed: Probed): string | undefined {
  return (probed.format as { tags?: Record<string, string> }).tags?.major_brand;
}

const MP4_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2";

describe("video", () => {
  const cases: {
    name: string;
    clip: ClipName;
    spec: EncodeSpec & { kind: "video" };
    format: string;
    brand?: string;
    codec: string;
    size: [number, number];
    fps: number;
    seconds: number;
    audio: string | null;
  }[] = [
    { name: "mp4/h264, source size", clip: "landscape", spec: { kind: "video", format: "mp4", codec: "h264" }, format: MP4_FAMILY, brand: "isom", codec: "h264", size: [640, 360], fps: 30, seconds: 3, audio: "aac" },
    {
      name: "mp4/h264, silent, trimmed, contain",
      clip: "silent",
      spec: { kind: "video", format: "mp4", codec: "h264", start: 0.52, end: 2.12, width: 300, height: 300, fit: "contain", quality: "low" },
      format: MP4_FAMILY,
      codec: "h264",
      size: [300, 300],
      fps: 25,
      seconds: 1.6,
      audio: null,
    },
    { name: "mp4/h265, one side", clip: "landscape", spec: { kind: "video", format: "mp4", codec: "h265", width: 320, end: 1 }, format: MP4_FAMILY, brand: "isom", codec: "hevc", size: [320, 180], fps: 30, seconds: 1, audio: "aac" },
    { name: "mp4/av1", clip: "landscape", spec: { kind: "video", format: "mp4", codec: "av1", width: 320, end: 1 }, format: MP4_FAMILY, codec: "av1", size: [320, 180], fps: 30, seconds: 1, audio: "aac" },
    {
      name: "webm/vp9, cover, 15 fps, trimmed",
      clip: "landscape",
      spec: { kind: "video", format: "webm", codec: "vp9", width: 240, height: 240, fit: "cover", position: "left", fps: 15, start: 1, end: 2 },
      format: "matroska,webm",
      codec: "vp9",
      size: [240, 240],
      fps: 15,
      seconds: 1,
      audio: "opus",
    },
    { name: "webm/av1, silent, bitrate", clip: "silent", spec: { kind: "video", format: "webm", codec: "av1", width: 320, end: 1, bitrate: 200_000 }, format: "matroska,webm", codec: "av1", size: [320, 180], fps: 25, seconds: 1, audio: null },
    { name: "mov/h264, fill, bitrate", clip: "landscape", spec: { kind: "video", format: "mov", codec: "h264", width: 200, height: 200, fit: "fill", bitrate: 300_000, end: 1 }, format: MP4_FAMILY, brand: "qt  ", codec: "h264", size: [200, 200], fps: 30, seconds: 1, audio: "aac" },
    { name: "mov/h265, portrait source", clip: "portrait", spec: { kind: "video", format: "mov", codec: "h265", height: 320, end: 1 }, format: MP4_FAMILY, brand: "qt  ", codec: "hevc", size: [180, 320], fps: 30, seconds: 1, audio: "aac" },
    { name: "mp4/h264, rotated phone clip", clip: "phone", spec: { kind: "video", format: "mp4", codec: "h264" }, format: MP4_FAMILY, codec: "h264", size: [360, 640], fps: 30, seconds: 2, audio: "aac" },
    { name: "mp4/h264, odd source at 50%", clip: "odd", spec: { kind: "video", format: "mp4", codec: "h264", width: "50%" }, format: MP4_FAMILY, codec: "h264", size: [160, 120], fps: 25, seconds: 2, audio: "aac" },
  ];

  it.each(cases)("$name", async ({ clip, spec, format, brand, codec, size, fps, seconds, audio }) => {
    const probed = ffprobe(await encode(clip, spec));
    const video = videoStream(probed)!;
    expect(probed.format.format_name).toBe(format);
    if (brand) expect(majorBrand(probed)).toBe(brand);
    expect(video.codec_name).toBe(codec);
    expect([video.width, video.height]).toEqual(size);
    expect(video.pix_fmt).toBe("yuv420p");
    expect(frameRate(video)).toBeCloseTo(fps, 1);
    expect(Math.abs(duration(probed) - seconds)).toBeLessThanOrEqual(1 / fps + 0.001);
    expect(audioStream(probed)?.codec_name ?? null).toBe(audio);
    // Autorotation already turned the picture; a leftover display matrix would turn it again.
    expect(video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0).toBe(0);
    // Apple players need HEVC tagged hvc1 (ffmpeg's default is hev1).
    if (codec === "hevc") expect((video as { codec_tag_string?: string }).codec_tag_string).toBe("hvc1");
  });
});

describe("audio", () => {
  const cases = [
    { format: "mp3", container: "mp3", codec: "mp3" },
    { format: "aac", container: MP4_FAMILY, codec: "aac" },
    { format: "ogg", container: "ogg", codec: "vorbis" },
    { format: "opus", container: "ogg", codec: "opus" },
    { format: "wav", container: "wav", codec: "pcm_s16le" },
    { format: "flac", container: "flac", codec: "flac" },
  ] as const;

  it.each(cases)("$format from a video input", async ({ format, container, codec }) => {
    const probed = ffprobe(await encode("landscape", { kind: "audio", format, end: 1 }));
    expect(probed.format.format_name).toBe(container);
    expect(probed.streams.map((s) => s.codec_type)).toEqual(["audio"]);
    expect(audioStream(probed)!.codec_name).toBe(codec);
    // One audio frame of slack: encoders pad the last frame (MP3 1152 samples, Opus 20 ms).
    expect(Math.abs(duration(probed) - 1)).toBeLessThanOrEqual(0.06);
  });

  it("trims from the middle with a bitrate", async () => {
    const probed = ffprobe(await encode("landscape", { kind: "audio", format: "aac", start: 1, end: 2.5, bitrate: 64_000 }));
    expect(Math.abs(duration(probed) - 1.5)).toBeLessThanOrEqual(0.05);
    expect(Number(probed.format.bit_rate)).toBeLessThan(96_000);
  });
});

describe("image", () => {
  const cases: { name: string; clip: ClipName; spec: EncodeSpec & { kind: "image" }; codec: string; size: [number, number] }[] = [
    { name: "jpeg, one side, past the end", clip: "landscape", spec: { kind: "image", format: "jpeg", width: 320, start: 99 }, codec: "mjpeg", size: [320, 180] },
    { name: "png, contain", clip: "landscape", spec: { kind: "image", format: "png", width: 200, height: 200, fit: "contain", background: "#fff" }, codec: "png", size: [200, 200] },
    { name: "webp, cover", clip: "odd", spec: { kind: "image", format: "webp", width: 100, height: 100, fit: "cover", start: 1 }, codec: "webp", size: [100, 100] },
    { name: "jpeg from the rotated phone clip", clip: "phone", spec: { kind: "image", format: "jpeg" }, codec: "mjpeg", size: [360, 640] },
  ];

  it.each(cases)("$name", async ({ clip, spec, codec, size }) => {
    const probed = ffprobe(await encode(clip, spec));
    const video = videoStream(probed)!;
    expect(video.codec_name).toBe(codec);
    expect([video.width, video.height]).toEqual(size);
  });

  it("contain pads with the background colour", async () => {
    const file = await encode("landscape", { kind: "image", format: "png", width: 200, height: 200, fit: "contain", background: "#ff0000" });
    const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    // Top-left pixel is padding (red); the centre is picture.
    expect([...data.subarray(0, 3)]).toEqual([255, 0, 0]);
  });

  it("avif: really AVIF, at the requested size, and the intermediate PNG is gone", async () => {
    const file = await encode("landscape", { kind: "image", format: "avif", width: 320 });
    const head = Buffer.alloc(32);
    const fd = openSync(file, "r");
    readSync(fd, head, 0, 32, 0);
    closeSync(fd);
    expect(head.toString("latin1", 4, 8)).toBe("ftyp");
    expect(head.toString("latin1", 8, 12)).toBe("avif");
    const meta = await sharp(file).metadata();
    expect(meta).toMatchObject({ format: "heif", compression: "av1", width: 320, height: 180 });
    expect(readdirSync(path.dirname(file)).sort()).toEqual(["input", "out.avif"]);
  });
});

describe("animation", () => {
  it("gif: palette from the clip, 10 fps, resized", async () => {
    const file = await encode("landscape", { kind: "animation", format: "gif", start: 0.5, end: 2.5, width: 160 });
    expect(videoStream(ffprobe(file))!.codec_name).toBe("gif");
    const meta = await sharp(file, { animated: true }).metadata();
    expect(meta).toMatchObject({ format: "gif", width: 160, pageHeight: 90, pages: 20, loop: 0 });
    expect(new Set(meta.delay)).toEqual(new Set([100]));
  });

  it("webp: animated, looping, at the requested rate and fit", async () => {
    // ffmpeg 5.1 cannot decode animated WebP, so sharp reads it.
    const file = await encode("portrait", { kind: "animation", format: "webp", end: 1, fps: 5, width: 100, height: 100, fit: "cover" });
    const meta = await sharp(file, { animated: true }).metadata();
    expect(meta).toMatchObject({ format: "webp", width: 100, pageHeight: 100, pages: 5, loop: 0 });
    expect(new Set(meta.delay)).toEqual(new Set([200]));
  });
});
