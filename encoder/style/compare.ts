import type { StyleAnalysis } from "./analysis";
import { type StyleComparison, type StyleDimension, styleDimensions } from "./style-json";

/** One video's value on every dimension rendering moves; null when it has none (loudness of a silent video). */
export type DimensionValues = Record<StyleDimension, number | null>;

/** What was measured of one video on each dimension: grade scores, LUFS, width ÷ height as displayed, frames a second, cuts a minute, zoom usage. */
export function dimensionValuesOf(analysis: StyleAnalysis): DimensionValues {
  const { color_grade: grade } = analysis.style;
  return {
    temperature: grade.temperature,
    tint: grade.tint,
    saturation: grade.saturation,
    contrast: grade.contrast,
    integrated_loudness: analysis.audio.integratedLufs,
    aspect_ratio: analysis.video.width / analysis.video.height,
    frame_rate: analysis.video.fps,
    cut_frequency: analysis.style.cut_frequency,
    zoom_usage: analysis.style.zoom_usage,
  };
}

/**
 * How much two measures of a dimension may differ and still be the same value: the
 * measuring noise of a re-encode (a grade point, half a loudness unit, a rounding of the
 * frame's sides). A gap within it is no gap.
 */
export const sameWithin: Record<StyleDimension, number> = {
  temperature: 1,
  tint: 1,
  saturation: 1,
  contrast: 1,
  integrated_loudness: 0.5,
  aspect_ratio: 0.01,
  frame_rate: 0.05,
  cut_frequency: 1,
  zoom_usage: 1,
};

/** Rounded to 3 places; never −0. */
const round3 = (v: number) => Math.round(v * 1000) / 1000 + 0;

/**
 * The fraction of the source → template gap the output closed: (output − source) ÷
 * (template − source): above 1 past the target, negative when it moved away. Without a
 * gap (within `sameWithin`) it is 1 when the output stayed on the value and 0 when
 * rendering opened a gap of its own; null when any value is missing.
 */
export function closedFraction(dimension: StyleDimension, source: number | null, template: number | null, output: number | null): number | null {
  if (source === null || template === null || output === null) return null;
  const tolerance = sameWithin[dimension];
  if (Math.abs(template - source) <= tolerance) return Math.abs(output - template) <= tolerance ? 1 : 0;
  return round3((output - source) / (template - source));
}

/** Every dimension of styleDimensions, compared, in that order. */
export function compareStyles(source: DimensionValues, template: DimensionValues, output: DimensionValues): StyleComparison[] {
  return styleDimensions.map((dimension) => ({
    dimension,
    source: source[dimension],
    template: template[dimension],
    output: output[dimension],
    closed_fraction: closedFraction(dimension, source[dimension], template[dimension], output[dimension]),
  }));
}
