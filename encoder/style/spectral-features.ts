import { fft, hann } from "./fft";

/**
 * One pass of short-time spectra over mono PCM, kept only as what the audio analysis
 * reads: the onset envelope (spectral flux), the per-band rise in power at each frame
 * (which band an onset is in), and the whole signal's energy per band (bass and speech
 * shares). Pure.
 */

export const FRAME_SIZE = 1024;
export const HOP = 256;

/** Band edges, Hz. Bass below LOW_BAND_HZ (the bass_boost share); speech SPEECH_BAND_HZ. */
export const LOW_BAND_HZ = 150;
export const SPEECH_BAND_HZ = [300, 3400] as const;
/** An onset is bass below this, treble above TREBLE_HZ, mid between. */
export const BASS_ONSET_HZ = 250;
export const TREBLE_HZ = 4000;
/** Energy below this is rumble/DC, left out of every share. */
const FLOOR_HZ = 20;
/** Magnitudes are compressed as log(1 + LOG_GAIN × amplitude): sensitive down to about −60 dBFS. */
const LOG_GAIN = 1000;

export type OnsetBand = "bass" | "mid" | "treble";

export interface SpectralFeatures {
  sampleRate: number;
  /** Seconds from one frame to the next. */
  frameStepS: number;
  /** Seconds at the centre of frame 0. */
  firstFrameS: number;
  /** Spectral flux: the summed rise in log magnitude from the previous frame. */
  flux: Float64Array;
  /** The rise in power from the previous frame, per onset band. */
  bandRise: Record<OnsetBand, Float64Array>;
  /** Energy of the whole signal above 20 Hz, and below LOW_BAND_HZ and within SPEECH_BAND_HZ. */
  energy: { total: number; low: number; speech: number };
}

export function spectralFeatures(pcm: Float32Array, sampleRate: number): SpectralFeatures {
  const frames = pcm.length < FRAME_SIZE ? 0 : Math.floor((pcm.length - FRAME_SIZE) / HOP) + 1;
  const bins = FRAME_SIZE / 2 + 1;
  const hz = (k: number) => (k * sampleRate) / FRAME_SIZE;
  const band = new Array<OnsetBand>(bins);
  for (let k = 0; k < bins; k++) band[k] = hz(k) < BASS_ONSET_HZ ? "bass" : hz(k) > TREBLE_HZ ? "treble" : "mid";
  const window = hann(FRAME_SIZE);
  // A full-scale sine's peak bin then reads amplitude 1.
  const amplitudeScale = 2 / window.reduce((s, v) => s + v, 0);
  const re = new Float64Array(FRAME_SIZE);
  const im = new Float64Array(FRAME_SIZE);
  let prevLog = new Float64Array(bins);
  let prevPower = new Float64Array(bins);
  const features: SpectralFeatures = {
    sampleRate,
    frameStepS: HOP / sampleRate,
    firstFrameS: FRAME_SIZE / 2 / sampleRate,
    flux: new Float64Array(frames),
    bandRise: { bass: new Float64Array(frames), mid: new Float64Array(frames), treble: new Float64Array(frames) },
    energy: { total: 0, low: 0, speech: 0 },
  };
  for (let f = 0; f < frames; f++) {
    const offset = f * HOP;
    for (let i = 0; i < FRAME_SIZE; i++) {
      re[i] = pcm[offset + i]! * window[i]!;
      im[i] = 0;
    }
    fft(re, im);
    const log = new Float64Array(bins);
    const power = new Float64Array(bins);
    let flux = 0;
    for (let k = 0; k < bins; k++) {
      const amplitude = Math.hypot(re[k]!, im[k]!) * amplitudeScale;
      power[k] = amplitude * amplitude;
      log[k] = Math.log1p(LOG_GAIN * amplitude);
      if (f > 0) {
        flux += Math.max(0, log[k]! - prevLog[k]!);
        features.bandRise[band[k]!][f]! += Math.max(0, power[k]! - prevPower[k]!);
      }
      const freq = hz(k);
      if (freq < FLOOR_HZ) continue;
      features.energy.total += power[k]!;
      if (freq < LOW_BAND_HZ) features.energy.low += power[k]!;
      if (freq >= SPEECH_BAND_HZ[0] && freq <= SPEECH_BAND_HZ[1]) features.energy.speech += power[k]!;
    }
    features.flux[f] = flux;
    prevLog = log;
    prevPower = power;
  }
  return features;
}
