/**
 * The scales that turn raw measures into StyleJSON numbers, and back: extraction reads
 * them one way, application the other, so a grade moved by N points on a scale is
 * measured as N points on the output. Pure. Frame statistics are ffmpeg signalstats
 * means over the sampled frames, on its 8-bit scale (limited range: luma 16–235, chroma
 * centred on 128).
 */

export interface FrameStats {
  /** Mean luma. */
  yavg: number;
  /** Mean 10th and 90th luma percentiles (signalstats YLOW, YHIGH). */
  ylow: number;
  yhigh: number;
  /** Mean Cb and Cr (128 is neutral). */
  uavg: number;
  vavg: number;
  /** Mean chroma magnitude (signalstats SATAVG). */
  satavg: number;
}

export interface ColorGrade {
  temperature: number;
  tint: number;
  saturation: number;
  contrast: number;
  highlights: number;
  shadows: number;
}

export const clampScore = (v: number): number => Math.max(-100, Math.min(100, v));
const round1 = (v: number) => Math.round(v * 10) / 10;

/** Score points per unit of Cr − Cb (temperature) or Cr + Cb − 256 (tint). */
export const CHROMA_POINTS = 2.5;
/** The chroma magnitude scored 0: ordinary footage, neither muted nor vivid. */
export const NEUTRAL_SATURATION = 25;
/** The 10th–90th percentile luma spread scored 0, and the spread one point stands for. */
export const NEUTRAL_SPREAD = 140;
export const SPREAD_PER_POINT = 0.8;
/** Luma of the 90th and 10th percentiles scored 0, and the luma one point stands for. */
export const NEUTRAL_HIGHLIGHTS = 180;
export const HIGHLIGHTS_PER_POINT = 0.55;
export const NEUTRAL_SHADOWS = 50;
export const SHADOWS_PER_POINT = 0.5;

/** The color grade a video's frame statistics score as (−100…100 each, 0 neutral). */
export function gradeOf(s: FrameStats): ColorGrade {
  return {
    temperature: round1(clampScore(CHROMA_POINTS * (s.vavg - s.uavg))),
    tint: round1(clampScore(CHROMA_POINTS * (s.uavg + s.vavg - 256))),
    saturation: round1(clampScore((100 * (s.satavg - NEUTRAL_SATURATION)) / NEUTRAL_SATURATION)),
    contrast: round1(clampScore((s.yhigh - s.ylow - NEUTRAL_SPREAD) / SPREAD_PER_POINT)),
    highlights: round1(clampScore((s.yhigh - NEUTRAL_HIGHLIGHTS) / HIGHLIGHTS_PER_POINT)),
    shadows: round1(clampScore((s.ylow - NEUTRAL_SHADOWS) / SHADOWS_PER_POINT)),
  };
}

/** The chroma magnitude a saturation score stands for. */
export const satavgOf = (saturation: number): number => NEUTRAL_SATURATION * (1 + saturation / 100);
/** Cr − Cb for a temperature score, and Cr + Cb − 256 for a tint score. */
export const chromaDifferenceOf = (temperature: number): number => temperature / CHROMA_POINTS;
export const chromaSumOf = (tint: number): number => tint / CHROMA_POINTS;
/** The mean 90th and 10th luma percentiles a highlights and a shadows score stand for. */
export const yhighOf = (highlights: number): number => NEUTRAL_HIGHLIGHTS + highlights * HIGHLIGHTS_PER_POINT;
export const ylowOf = (shadows: number): number => NEUTRAL_SHADOWS + shadows * SHADOWS_PER_POINT;

/** The loudest and quietest integrated loudness (LUFS) the 0–1 normalization level spans. */
export const LOUDEST_LUFS = 0;
export const QUIETEST_LUFS = -60;

/** EBU R128 integrated loudness → normalization_level (0 at −60 LUFS or below, 1 at 0 LUFS). */
export function normalizationLevelOf(integratedLufs: number): number {
  const level = (integratedLufs - QUIETEST_LUFS) / (LOUDEST_LUFS - QUIETEST_LUFS);
  return Math.round(Math.max(0, Math.min(1, level)) * 1000) / 1000;
}

/** normalization_level → the integrated loudness (LUFS) it stands for. */
export const integratedLufsOf = (level: number): number => QUIETEST_LUFS + level * (LOUDEST_LUFS - QUIETEST_LUFS);

/** The aspect ratios StyleJSON names, as width ÷ height. */
export const aspectRatios = { "16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1, "4:5": 4 / 5, "4:3": 4 / 3 } as const;
export type AspectRatio = keyof typeof aspectRatios;

/** The named ratio nearest a display width ÷ height (compared on a log scale, so 2:1 and 1:2 are as far from 1:1). */
export function nearestAspectRatio(widthOverHeight: number): AspectRatio {
  let best: AspectRatio = "16:9";
  for (const name of Object.keys(aspectRatios) as AspectRatio[]) {
    if (Math.abs(Math.log(widthOverHeight / aspectRatios[name])) < Math.abs(Math.log(widthOverHeight / aspectRatios[best]))) best = name;
  }
  return best;
}

export const frameRates = [24, 25, 30, 50, 60] as const;

/** The StyleJSON frame rate nearest a measured one. */
export function nearestFrameRate(fps: number): number {
  return frameRates.reduce((best, r) => (Math.abs(r - fps) < Math.abs(best - fps) ? r : best), frameRates[0] as number);
}

/**
 * compression_ratio ↔ crest factor. An uncompressed recording peaks about REFERENCE_CREST_DB
 * above its RMS level; a compressor of ratio R squeezes that span to roughly 1/R of it, so
 * the ratio read from a measured crest factor is REFERENCE_CREST_DB ÷ crest (1 at or above
 * the reference: no compression measured; at most MAX_COMPRESSION_RATIO). Higher is more
 * compressed, and an acompressor ratio can be set from it directly.
 */
export const REFERENCE_CREST_DB = 20;
export const MAX_COMPRESSION_RATIO = 20;

export function compressionRatioOf(crestFactorDb: number): number {
  const ratio = REFERENCE_CREST_DB / Math.max(crestFactorDb, REFERENCE_CREST_DB / MAX_COMPRESSION_RATIO);
  return Math.round(Math.max(1, ratio) * 100) / 100;
}

/** The crest factor (dB) a compression_ratio stands for. */
export const crestFactorDbOf = (ratio: number): number => REFERENCE_CREST_DB / Math.max(1, Math.min(MAX_COMPRESSION_RATIO, ratio));

/**
 * bass_boost ↔ the share of energy below 150 Hz. Pink noise (equal energy per octave, the
 * usual balance of a mix) puts NEUTRAL_LOW_SHARE of its 20 Hz–11 kHz energy there: that
 * share or less scores 0, all energy in the low band scores 100, linear between.
 */
export const NEUTRAL_LOW_SHARE = Math.log(150 / 20) / Math.log(11025 / 20);

export function bassBoostOf(lowBandShare: number): number {
  const boost = (100 * (lowBandShare - NEUTRAL_LOW_SHARE)) / (1 - NEUTRAL_LOW_SHARE);
  return Math.round(Math.max(0, Math.min(100, boost)) * 10) / 10;
}

/** The low-band energy share a bass_boost stands for (0 stands for the neutral share). */
export const lowBandShareOf = (bassBoost: number): number => NEUTRAL_LOW_SHARE + (Math.max(0, Math.min(100, bassBoost)) / 100) * (1 - NEUTRAL_LOW_SHARE);

/** enhance_speech: the speech band (300–3400 Hz) holds more than this share of the energy. */
export const SPEECH_DOMINANCE = 0.5;
export const enhanceSpeechOf = (speechBandShare: number): boolean => speechBandShare > SPEECH_DOMINANCE;

/**
 * zoom_usage ↔ zoom rate: the mean |ln scale| change per second (a zoom from 1× to 1.5×
 * over 5 s is 0.081/s). 0 without zoom, rising towards 100: the rate of ZOOM_RATE_SCALE
 * scores 63.
 */
export const ZOOM_RATE_SCALE = 0.1;
export const zoomUsageOf = (zoomRatePerS: number): number => Math.round(100 * (1 - Math.exp(-Math.max(0, zoomRatePerS) / ZOOM_RATE_SCALE)) * 10) / 10;
/** The zoom rate (ln scale per second) a zoom_usage stands for. */
export const zoomRateOf = (zoomUsage: number): number => -ZOOM_RATE_SCALE * Math.log(1 - Math.max(0, Math.min(99.9, zoomUsage)) / 100);

/**
 * motion_intensity: the larger of two saturating scores, so either kind of motion shows.
 * Camera motion: the global shift in frame diagonals per second (CAMERA_SPEED_SCALE scores
 * 63: a pan across the frame in about four seconds). Motion in the picture: the median
 * mean luma difference between frames, per frame at 30 fps (ACTIVITY_SCALE scores 63).
 */
export const CAMERA_SPEED_SCALE = 0.25;
export const ACTIVITY_SCALE = 8;
const saturating = (value: number, scale: number) => 100 * (1 - Math.exp(-Math.max(0, value) / scale));
export function motionIntensityOf(cameraSpeed: number, frameActivity: number): number {
  return Math.round(Math.max(saturating(cameraSpeed, CAMERA_SPEED_SCALE), saturating(frameActivity, ACTIVITY_SCALE)) * 10) / 10;
}
