import type { Beat } from "./style-json";
import type { OnsetBand, SpectralFeatures } from "./spectral-features";

/**
 * Onsets picked from the spectral-flux envelope: frames where the flux peaks above its
 * surroundings, each with its strength and the band whose power rose most. Pure.
 */

/** A peak is the largest flux within this many seconds either side, … */
const PEAK_HALF_WINDOW_S = 0.05;
/** … above the median flux of the surrounding seconds by this share of the largest flux. */
const LOCAL_WINDOW_S = 1;
const THRESHOLD_SHARE = 0.1;
/** Two onsets are at least this far apart. */
const MIN_GAP_S = 0.1;

const bands: OnsetBand[] = ["bass", "mid", "treble"];

function median(values: Float64Array | number[]): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!;
}

export function detectOnsets(features: SpectralFeatures): Beat[] {
  const { flux, frameStepS, firstFrameS } = features;
  const max = flux.reduce((m, v) => Math.max(m, v), 0);
  if (max <= 0) return [];
  const peakHalf = Math.max(1, Math.round(PEAK_HALF_WINDOW_S / frameStepS));
  const localHalf = Math.max(1, Math.round(LOCAL_WINDOW_S / frameStepS));
  const beats: Beat[] = [];
  let lastS = -Infinity;
  for (let f = 1; f < flux.length; f++) {
    const v = flux[f]!;
    let isPeak = true;
    for (let g = Math.max(0, f - peakHalf); g <= Math.min(flux.length - 1, f + peakHalf) && isPeak; g++) {
      // Ties go to the earliest frame of a plateau.
      if (flux[g]! > v || (g < f && flux[g] === v)) isPeak = false;
    }
    if (!isPeak) continue;
    const strength = v - median(flux.subarray(Math.max(0, f - localHalf), f + localHalf + 1));
    const atS = firstFrameS + f * frameStepS;
    if (strength < THRESHOLD_SHARE * max || atS - lastS < MIN_GAP_S) continue;
    lastS = atS;
    const frequency = bands.reduce((best, b) => (features.bandRise[b][f]! > features.bandRise[best][f]! ? b : best), bands[0]!);
    beats.push({ timestamp_ms: Math.round(atS * 1000), confidence: Math.round(Math.min(1, strength / max) * 1000) / 1000, frequency });
  }
  return beats;
}
