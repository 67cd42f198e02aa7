import type { AudioShaping } from "../ffmpeg/style-render";
import type { AudioAnalysis } from "./analysis";
import { lowBandShareOf } from "./scales";
import type { StyleJson } from "./style-json";

/**
 * The audio part of application, pure: compression and a bass shelf that move the
 * source's audio style towards the template's, and the loudness loudnorm sets last (so
 * neither the compressor nor the shelf moves it afterwards).
 */

/** The low band bass_boost measures (scales.ts: energy below 150 Hz), where the shelf turns. */
export const LOW_BAND_HZ = 150;
/** The most a shelf boosts or cuts: beyond it a mix booms or thins out rather than taking a character. */
export const MAX_SHELF_DB = 12;
/** Compression ratios closer than this are the same character: no compressor. */
export const MIN_COMPRESSION_STEP = 1.1;
/** acompressor's largest ratio. */
export const MAX_COMPRESSOR_RATIO = 20;
/** loudnorm's target range (LUFS), and the true peak it keeps under (dBTP). */
export const LOUDNORM_LUFS = { min: -70, max: -5 };
export const TRUE_PEAK_DB = -1;

/**
 * A compressor when the template is more compressed: compression_ratio is a crest-factor
 * scale (ratio R squeezes the span of peaks over the mean level to 1/R), so a ratio of
 * target ÷ source above the source's mean level (its peak less its crest factor) brings
 * the crest factor to the template's.
 */
export function compressorFor(source: AudioAnalysis, sourceStyle: StyleJson, target: StyleJson): AudioShaping["compressor"] {
  if (source.truePeakDbtp === null || source.crestFactorDb === null) return null;
  const ratio = target.audio_style.compression_ratio / sourceStyle.audio_style.compression_ratio;
  if (ratio < MIN_COMPRESSION_STEP) return null;
  return { thresholdDb: source.truePeakDbtp - source.crestFactorDb, ratio: Math.min(ratio, MAX_COMPRESSOR_RATIO) };
}

/**
 * A low shelf that gives the low band the template's share of the energy: multiplying
 * the low band's energy by G turns share s into sG ÷ (sG + 1 − s), so G = t(1 − s) ÷
 * (s(1 − t)). Only when the bass_boost scores differ; a source with no low band at all
 * gets the largest boost, which is all there is to give it.
 */
export function bassFor(source: AudioAnalysis, sourceStyle: StyleJson, target: StyleJson): AudioShaping["bass"] {
  if (source.lowBandShare === null || Math.abs(target.audio_style.bass_boost - sourceStyle.audio_style.bass_boost) < 1) return null;
  const s = source.lowBandShare;
  const t = lowBandShareOf(target.audio_style.bass_boost);
  const gainDb = s <= 0 ? MAX_SHELF_DB : 10 * Math.log10((t * (1 - s)) / (s * (1 - t)));
  return { gainDb: Math.max(-MAX_SHELF_DB, Math.min(MAX_SHELF_DB, gainDb)), frequency: LOW_BAND_HZ };
}

/** The integrated loudness to level to: the template's as measured, within loudnorm's range; null when the template is silent. */
export function loudnessTargetOf(target: AudioAnalysis): number | null {
  if (target.integratedLufs === null) return null;
  return Math.max(LOUDNORM_LUFS.min, Math.min(LOUDNORM_LUFS.max, target.integratedLufs));
}
