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
