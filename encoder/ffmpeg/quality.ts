import type { EncodeSpec } from "../contract";

/**
 * Ittybit's five quality tiers, per encoder: the one place that says what "high"
 * means for each codec. Encoder speed settings are chosen for a 2-core machine:
 * each tier spends more CPU only where it buys visible quality.
 */
export type Quality = NonNullable<Extract<EncodeSpec, { kind: "video" }>["quality"]>;
export const DEFAULT_QUALITY: Quality = "medium";

export type VideoCodec = Extract<EncodeSpec, { kind: "video" }>["codec"];

/** Constant-quality factor and speed setting, in the encoder's own scale. */
export interface VideoQuality {
  crf: number;
  /** x264/x265 `-preset`, libvpx `-cpu-used`, SVT-AV1 `-preset` (lower is slower and better). */
  speed: string;
}

export const videoQuality: Record<VideoCodec, Record<Quality, VideoQuality>> = {
  // x264 CRF 23 is its own default and visually good; ±3 CRF roughly halves/doubles the size.
  h264: {
    very_low: { crf: 32, speed: "veryfast" },
    low: { crf: 28, speed: "faster" },
    medium: { crf: 23, speed: "fast" },
    high: { crf: 20, speed: "medium" },
    very_high: { crf: 17, speed: "medium" },
  },
  // x265 reaches x264's quality about 5 CRF higher; its presets are ~3× slower than x264's of the same name.
  h265: {
    very_low: { crf: 35, speed: "superfast" },
    low: { crf: 31, speed: "veryfast" },
    medium: { crf: 28, speed: "faster" },
    high: { crf: 24, speed: "fast" },
    very_high: { crf: 21, speed: "fast" },
  },
  // libvpx-vp9 in constant-quality mode (-b:v 0); cpu-used below 3 costs far more time than it gains.
  vp9: {
    very_low: { crf: 45, speed: "6" },
    low: { crf: 38, speed: "5" },
    medium: { crf: 33, speed: "4" },
    high: { crf: 28, speed: "3" },
    very_high: { crf: 24, speed: "3" },
  },
  // SVT-AV1 (0–63 CRF, presets 0–13): preset 8 is its real-time-ish sweet spot on few cores.
  av1: {
    very_low: { crf: 50, speed: "10" },
    low: { crf: 42, speed: "9" },
    medium: { crf: 35, speed: "8" },
    high: { crf: 30, speed: "8" },
    very_high: { crf: 25, speed: "7" },
  },
};

/** Audio bitrates in bps for the lossy encoders; the lossless ones (wav, flac) have no tier. */
export type LossyAudioCodec = "aac" | "mp3" | "vorbis" | "opus";
export const audioBitrate: Record<LossyAudioCodec, Record<Quality, number>> = {
  aac: { very_low: 64_000, low: 96_000, medium: 128_000, high: 192_000, very_high: 256_000 },
  mp3: { very_low: 96_000, low: 128_000, medium: 160_000, high: 224_000, very_high: 320_000 },
  vorbis: { very_low: 64_000, low: 96_000, medium: 128_000, high: 192_000, very_high: 256_000 },
  // Opus is transparent for stereo near 128 kbps; more buys nothing.
  opus: { very_low: 48_000, low: 64_000, medium: 96_000, high: 128_000, very_high: 160_000 },
};

/** Still and animated image encoders. */
export const imageQuality: Record<Quality, { jpegQscale: number; webp: number; avif: number; gifColors: number }> = {
  // mjpeg -q:v runs 2 (best) to 31; webp and AVIF (sharp) 0–100; GIF palettes up to 256 colours.
  very_low: { jpegQscale: 16, webp: 40, avif: 30, gifColors: 32 },
  low: { jpegQscale: 9, webp: 60, avif: 42, gifColors: 64 },
  medium: { jpegQscale: 5, webp: 75, avif: 52, gifColors: 128 },
  high: { jpegQscale: 3, webp: 85, avif: 64, gifColors: 256 },
  very_high: { jpegQscale: 2, webp: 95, avif: 80, gifColors: 256 },
};

/**
 * HLS rungs by the short side of the picture, with the peak bitrate (bps) each is
 * capped at for medium quality; other tiers scale the caps by ladderScale.
 */
export const hlsLadder = [
  { size: 1080, maxrate: 5_000_000 },
  { size: 720, maxrate: 2_800_000 },
  { size: 480, maxrate: 1_400_000 },
  { size: 360, maxrate: 800_000 },
  { size: 240, maxrate: 400_000 },
] as const;
export const ladderScale: Record<Quality, number> = { very_low: 0.5, low: 0.75, medium: 1, high: 1.4, very_high: 2 };

/**
 * Content-aware CRF offsets are given in x264 steps; one tier step in the tables above
 * is about 1.5 CRF steps for libvpx-vp9 and SVT-AV1 (0–63 scales), so their offsets
 * are scaled by that and every CRF is kept inside its encoder's range.
 */
export const crfStepScale: Record<VideoCodec, number> = { h264: 1, h265: 1, vp9: 1.5, av1: 1.5 };
export const maxCrf: Record<VideoCodec, number> = { h264: 51, h265: 51, vp9: 63, av1: 63 };
