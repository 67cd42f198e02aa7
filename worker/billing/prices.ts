import type { PriorityName } from "../api/schemas/create-job";

/**
 * Kiln's price table, in EUR. A deployment bills (or shows back) with these numbers;
 * change them here and the API's estimates and actual costs follow. Video is priced
 * per minute of output, by codec and by the resolution tier of the output picture; a
 * ladder pays for every rung. The priority multiplies the whole job.
 */
export const CURRENCY = "EUR" as const;

export const resolutionTiers = ["sd", "hd", "fhd", "qhd", "uhd", "8k"] as const;
export type ResolutionTier = (typeof resolutionTiers)[number];

/** The largest picture (in pixels) of each tier; anything larger is 8k. */
export const tierMaxPixels: Record<Exclude<ResolutionTier, "8k">, number> = {
  sd: 854 * 480,
  hd: 1280 * 720,
  fhd: 1920 * 1080,
  qhd: 2560 * 1440,
  uhd: 4096 * 2160,
};

export type VideoCodec = "h264" | "h265" | "vp9" | "av1";

/** EUR per output minute. */
export const videoPricePerMinute: Record<VideoCodec, Record<ResolutionTier, number>> = {
  h264: { sd: 0.004, hd: 0.006, fhd: 0.008, qhd: 0.012, uhd: 0.02, "8k": 0.04 },
  h265: { sd: 0.006, hd: 0.009, fhd: 0.012, qhd: 0.018, uhd: 0.03, "8k": 0.06 },
  vp9: { sd: 0.005, hd: 0.008, fhd: 0.01, qhd: 0.016, uhd: 0.026, "8k": 0.052 },
  av1: { sd: 0.01, hd: 0.015, fhd: 0.02, qhd: 0.03, uhd: 0.05, "8k": 0.1 },
};

/** GIF and animated WebP are priced as H.264 video of the same size. */
export const ANIMATION_CODEC: VideoCodec = "h264";
/** EUR per output minute of an audio-only output. */
export const AUDIO_PRICE_PER_MINUTE = 0.001;
/** EUR per still image (kind image). */
export const IMAGE_PRICE_EACH = 0.001;
/** EUR per thumbnail frame, each still or each sprite tile. */
export const THUMBNAIL_FRAME_PRICE = 0.0002;

export const priorityMultiplier: Record<PriorityName, number> = { economy: 0.75, standard: 1, premium: 2 };

export function tierOf(pixels: number): ResolutionTier {
  for (const tier of resolutionTiers) {
    if (tier === "8k" || pixels <= tierMaxPixels[tier]) return tier;
  }
  return "8k";
}

/** Costs are shown to the ten-thousandth of a euro. */
export function roundEur(amount: number): number {
  return Math.round(amount * 10_000) / 10_000;
}
