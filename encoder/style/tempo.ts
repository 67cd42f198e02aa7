/**
 * Tempo from the onset envelope by autocorrelation: the envelope's period is the lag at
 * which it best matches itself, within the range of musical tempi. Pure.
 */

export const MIN_BPM = 60;
export const MAX_BPM = 200;
/** The normalised autocorrelation a period must reach to count as periodic at all. */
export const MIN_PERIODICITY = 0.25;
/**
 * A shorter lag whose peak is this strong relative to the strongest wins: a beat also
 * repeats at 2, 3 … periods, and beats that alternate strong and soft match themselves
 * best two beats on.
 */
const OCTAVE_PREFERENCE = 0.75;
/** A multiple of the period refines it while its peak keeps this share of the period's. */
const MULTIPLE_SHARE = 0.5;
/** Multiples of the period used to refine it, and the longest lag they reach, seconds. */
const REFINE_MULTIPLES = 8;
const REFINE_MAX_S = 8;

export interface TempoEstimate {
  bpm: number;
  /** The normalised autocorrelation at the period, 0–1. */
  strength: number;
}

/**
 * The envelope smoothed by a 5-frame triangle: an onset's peak is a frame or two wide, so a
 * period that is not a whole number of frames would otherwise match itself only at every
 * other beat and read as half the tempo.
 */
function smooth(envelope: Float64Array): Float64Array {
  const kernel = [1, 2, 3, 2, 1];
  return envelope.map((_, i) => {
    let sum = 0;
    let weight = 0;
    kernel.forEach((k, j) => {
      const v = envelope[i + j - 2];
      if (v !== undefined) [sum, weight] = [sum + k * v, weight + k];
    });
    return sum / weight;
  });
}

function autocorrelation(raw: Float64Array, maxLag: number): Float64Array {
  const envelope = smooth(raw);
  const n = envelope.length;
  const mean = envelope.reduce((s, v) => s + v, 0) / n;
  const centred = envelope.map((v) => v - mean);
  const r = new Float64Array(maxLag + 1);
  for (let lag = 0; lag <= maxLag; lag++) {
    let sum = 0;
    for (let i = 0; i + lag < n; i++) sum += centred[i]! * centred[i + lag]!;
    // Unbiased: a long lag has fewer products, not weaker ones.
    r[lag] = sum / (n - lag);
  }
  return r;
}

/** The peak's position refined by a parabola through it and its neighbours. */
function refinePeak(r: Float64Array, lag: number): number {
  if (lag <= 0 || lag >= r.length - 1) return lag;
  const [a, b, c] = [r[lag - 1]!, r[lag]!, r[lag + 1]!];
  const denominator = a - 2 * b + c;
  return denominator === 0 ? lag : lag + (0.5 * (a - c)) / denominator;
}

function localPeakNear(r: Float64Array, around: number, reach: number): number {
  let best = Math.max(1, Math.round(around - reach));
  for (let lag = best; lag <= Math.min(r.length - 2, Math.round(around + reach)); lag++) if (r[lag]! > r[best]!) best = lag;
  return best;
}

/** The tempo of an envelope sampled every `stepS` seconds, or null when it has no clear period. */
export function estimateTempo(envelope: Float64Array, stepS: number): TempoEstimate | null {
  const minLag = Math.floor(60 / MAX_BPM / stepS);
  const maxLag = Math.ceil(60 / MIN_BPM / stepS);
  // At least four periods of the slowest tempo, or the periodicity means little.
  if (envelope.length < 4 * maxLag) return null;
  const refineLag = Math.min(Math.floor(envelope.length / 2), Math.ceil(REFINE_MAX_S / stepS));
  const r = autocorrelation(envelope, Math.max(maxLag + 1, refineLag));
  if (!(r[0]! > 0)) return null;
  const peaks: number[] = [];
  for (let lag = Math.max(1, minLag); lag <= maxLag; lag++) if (r[lag]! > r[lag - 1]! && r[lag]! >= r[lag + 1]!) peaks.push(lag);
  if (peaks.length === 0) return null;
  const strongest = peaks.reduce((best, lag) => (r[lag]! > r[best]! ? lag : best), peaks[0]!);
  const chosen = peaks.find((lag) => r[lag]! >= OCTAVE_PREFERENCE * r[strongest]!)!;
  const strength = r[chosen]! / r[0]!;
  if (strength < MIN_PERIODICITY) return null;
  // The period fitted through its multiples: each lag k·P measured to a fraction of a frame.
  const period = refinePeak(r, chosen);
  let weighted = period;
  let weights = 1;
  for (let k = 2; k <= REFINE_MULTIPLES && k * period < refineLag - 1; k++) {
    const peak = localPeakNear(r, k * period, Math.max(2, period * 0.1));
    if (r[peak]! < MULTIPLE_SHARE * r[chosen]!) break;
    weighted += k * refinePeak(r, peak);
    weights += k * k;
  }
  const bpm = 60 / ((weighted / weights) * stepS);
  return { bpm: Math.round(bpm * 10) / 10, strength: Math.round(Math.min(1, strength) * 1000) / 1000 };
}
