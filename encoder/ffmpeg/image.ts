import type { EncodeSpec } from "../contract";
import type { FfmpegCommand, PostStep, SourceInfo } from "./command";
import { displaySize, frameFilters, planFrame, seconds } from "./framing";
import { DEFAULT_QUALITY, imageQuality } from "./quality";

type ImageSpec = Extract<EncodeSpec, { kind: "image" }>;

/**
 * Seeking to the very end finds no frame: frames that start before `-ss` are
 * dropped, and the last one starts a frame before the duration. A frame and a half
 * of margin lands on the last frame whatever the rounding of the probed duration.
 */
const END_MARGIN_FRAMES = 1.5;
const FALLBACK_FPS = 30;

/** Where to take the frame: the requested second, clamped to the last frame. */
export function frameTime(start: number | undefined, source: SourceInfo): number {
  const last = source.durationS - END_MARGIN_FRAMES / (source.fps || FALLBACK_FPS);
  return Math.max(0, Math.min(start ?? 0, last));
}

/**
 * One frame, resized. ffmpeg 5.1 has no AVIF muxer, so AVIF is written as a
 * lossless PNG that the post step turns into AVIF (and deletes).
 */
export function buildImageCommand(spec: ImageSpec, source: SourceInfo, outputBase: string): FfmpegCommand {
  const quality = imageQuality[spec.quality ?? DEFAULT_QUALITY];
  const at = frameTime(spec.start, source);
  const plan = planFrame(spec, displaySize(source));
  const encoders = {
    // mjpeg takes full-range 4:2:0 (yuvj420p), which format negotiation picks for it.
    jpeg: { ext: "jpg", args: ["-c:v", "mjpeg", "-q:v", String(quality.jpegQscale)] },
    png: { ext: "png", args: ["-c:v", "png"] },
    webp: { ext: "webp", args: ["-c:v", "libwebp", "-quality", String(quality.webp)] },
  };
  const avif = spec.format === "avif";
  const { ext, args } = encoders[spec.format === "avif" ? "png" : spec.format];
  const written = `${outputBase}.${avif ? "avif-source.png" : ext}`;
  const output = avif ? `${outputBase}.avif` : written;
  const post: PostStep | undefined = avif ? { kind: "avif", source: written, target: output, quality: quality.avif } : undefined;
  return {
    args: [
      ...(at > 0 ? ["-ss", seconds(at)] : []),
      "-i", source.file,
      "-map", "0:v:0",
      "-frames:v", "1",
      "-vf", frameFilters(plan).join(","),
      ...args,
      "-f", "image2",
      written,
    ],
    outputs: [output],
    main: output,
    durationS: 1 / (source.fps || FALLBACK_FPS),
    ...(post && { post }),
  };
}
