/**
 * extraction_confidence: how much the measured style can be trusted, 0–1. It starts at 1
 * and loses a share for each thing that leaves part of the style thinly measured. Pure.
 */
export interface ConfidenceInputs {
  durationS: number;
  hasAudio: boolean;
  /** Audio present but silent: no loudness, no beats. */
  audible: boolean;
  changes: number;
  tempoFound: boolean;
  /** Share of motion steps a global motion could be fitted to, 0–1. */
  motionFitted: number;
}

/** Below this length every rhythm and loudness measure rests on too little. */
export const FULL_CONFIDENCE_S = 30;
/** Fewer changes than this give a rhythm from one or two shot lengths. */
export const RHYTHM_CHANGES = 4;

export function extractionConfidence(m: ConfidenceInputs): number {
  let c = 1;
  // Length: from 0.5 for an instant to 1 at FULL_CONFIDENCE_S.
  c *= 0.5 + 0.5 * Math.min(1, Math.max(0, m.durationS) / FULL_CONFIDENCE_S);
  // No audio (or silence): the whole audio style and the beats are neutral values, not measures.
  if (!m.hasAudio || !m.audible) c *= 0.7;
  else if (!m.tempoFound) c *= 0.9;
  // Few cuts: cut_frequency and the transitions rest on few examples.
  c *= 0.8 + (0.2 * Math.min(m.changes, RHYTHM_CHANGES)) / RHYTHM_CHANGES;
  // Camera motion fitted on part of the video only.
  c *= 0.9 + 0.1 * Math.max(0, Math.min(1, m.motionFitted));
  return Math.round(c * 100) / 100;
}
