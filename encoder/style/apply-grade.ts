import { type ColorGrade, type FrameStats, chromaDifferenceOf, chromaSumOf, satavgOf, ylowOf, yhighOf } from "./scales";

/**
 * The grade: per-channel maps on 8-bit YUV that move the rendered pictures' frame
 * statistics onto the template's. Pure.
 *
 * The scales (scales.ts) are defined on YUV means, so the grade is applied in YUV too
 * (lutyuv): a luma map through the 10th and 90th percentiles (a monotone map moves every
 * percentile exactly, so contrast, highlights and shadows follow), and a chroma map that
 * scales chroma about its mean (saturation) and moves the mean (temperature, tint).
 * Mean chroma magnitude is not linear in the scale, so the first map is an estimate and
 * refineGrade corrects it from a measurement of the graded pictures.
 */

export interface GradeMap {
  /** y' = lumaGain · (y − lumaCentre) + lumaTarget */
  lumaGain: number;
  lumaCentre: number;
  lumaTarget: number;
  /** u' = 128 + chromaGain · (u − 128 − centre.u) + shift.u, and v alike */
  chromaGain: number;
  centre: { u: number; v: number };
  shift: { u: number; v: number };
}

/** The frame statistics a color grade stands for, chroma as offsets from neutral (128). */
export interface GradeTarget {
  ylow: number;
  yhigh: number;
  u: number;
  v: number;
  satavg: number;
}

/** How far a grade may stretch: beyond these the picture breaks up rather than taking a look. */
export const LUMA_GAIN = { min: 0.5, max: 2 };
export const CHROMA_GAIN = { min: 0, max: 3 };
/** Legal 8-bit limited-range values. */
export const LUMA_RANGE = { min: 16, max: 235 };
export const CHROMA_RANGE = { min: 16, max: 240 };

const clamp = (v: number, range: { min: number; max: number }) => Math.max(range.min, Math.min(range.max, v));

export function gradeTarget(grade: ColorGrade): GradeTarget {
  const difference = chromaDifferenceOf(grade.temperature);
  const sum = chromaSumOf(grade.tint);
  return { ylow: ylowOf(grade.shadows), yhigh: yhighOf(grade.highlights), u: (sum - difference) / 2, v: (sum + difference) / 2, satavg: satavgOf(grade.saturation) };
}

/**
 * The first map, from the ungraded pictures' statistics. Chroma spread about the mean
 * is estimated as if mean magnitude were root-mean-square (√(satavg² − |mean|²)), and
 * the graded magnitude as √(spread² + |target mean|²).
 */
export function firstGrade(measured: FrameStats, target: GradeTarget): GradeMap {
  const spread = measured.yhigh - measured.ylow;
  const lumaGain = spread > 1 ? clamp((target.yhigh - target.ylow) / spread, LUMA_GAIN) : 1;
  const centre = { u: measured.uavg - 128, v: measured.vavg - 128 };
  const sourceSpread = Math.sqrt(Math.max(measured.satavg ** 2 - Math.hypot(centre.u, centre.v) ** 2, (measured.satavg / 4) ** 2));
  const targetSpread = Math.sqrt(Math.max(target.satavg ** 2 - Math.hypot(target.u, target.v) ** 2, 0));
  return {
    lumaGain,
    lumaCentre: (measured.ylow + measured.yhigh) / 2,
    lumaTarget: (target.ylow + target.yhigh) / 2,
    chromaGain: sourceSpread > 0.5 ? clamp(targetSpread / sourceSpread, CHROMA_GAIN) : 1,
    centre,
    shift: { u: target.u, v: target.v },
  };
}

/**
 * The map corrected from `graded`, the statistics of pictures graded with it: the means
 * shifted by what clipping cost them, luma spread scaled by what is still missing, and
 * chroma gain by a secant through the one point known exactly (gain 0 leaves every
 * pixel on the target mean, magnitude |target mean|).
 */
export function refineGrade(map: GradeMap, graded: FrameStats, target: GradeTarget): GradeMap {
  const spread = graded.yhigh - graded.ylow;
  const lumaGain = spread > 1 ? clamp((map.lumaGain * (target.yhigh - target.ylow)) / spread, LUMA_GAIN) : map.lumaGain;
  const anchor = Math.hypot(target.u, target.v);
  const reached = graded.satavg - anchor;
  const wanted = target.satavg - anchor;
  const chromaGain = reached > 0.5 && wanted > 0 ? clamp((map.chromaGain * wanted) / reached, CHROMA_GAIN) : map.chromaGain;
  return {
    ...map,
    lumaGain,
    lumaTarget: map.lumaTarget + (target.ylow + target.yhigh) / 2 - (graded.ylow + graded.yhigh) / 2,
    chromaGain,
    shift: { u: map.shift.u + target.u - (graded.uavg - 128), v: map.shift.v + target.v - (graded.vavg - 128) },
  };
}

/** A number for an expression, in parentheses so a negative one reads as one. */
const num = (v: number) => `(${Math.round(v * 10000) / 10000})`;

/** The map as a lutyuv filter (values rounded and kept legal by lutyuv itself). */
export function gradeFilter(map: GradeMap): string {
  const chroma = (centre: number, shift: number) => `clip(128+${num(shift)}+${num(map.chromaGain)}*(val-128-${num(centre)}),${CHROMA_RANGE.min},${CHROMA_RANGE.max})`;
  const luma = `clip(${num(map.lumaTarget)}+${num(map.lumaGain)}*(val-${num(map.lumaCentre)}),${LUMA_RANGE.min},${LUMA_RANGE.max})`;
  return `lutyuv=y='${luma}':u='${chroma(map.centre.u, map.shift.u)}':v='${chroma(map.centre.v, map.shift.v)}'`;
}
