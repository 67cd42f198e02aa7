import path from "node:path";
import sharp from "sharp";

/**
 * Facts about an image output read by sharp, for the formats ffmpeg 5.1 cannot decode
 * (animated WebP) or does not know (AVIF): size, codec and, for animations, duration.
 */
export async function imageFacts(file: string, cwd: string) {
  const meta = await sharp(path.join(cwd, file), { animated: true }).metadata();
  const frames = meta.pages ?? 1;
  const durationMs = meta.delay ? meta.delay.slice(0, frames).reduce((sum, d) => sum + d, 0) : null;
  return {
    duration_ms: frames > 1 ? durationMs : null,
    width: meta.width ?? null,
    height: meta.pageHeight ?? meta.height ?? null,
    codec: meta.format === "heif" ? (meta.compression ?? "av1") : (meta.format ?? null),
  };
}
