import type { PrintedFrame } from "./metadata-print";

/**
 * The loudness measures of the audio_analysis run (ebur128 and astats, printed every
 * 100 ms with running values, see encoder/ffmpeg/style-analysis.ts): the last value of
 * each key is the whole file's (ebur128 leaves its keys off the final partial frame).
 * Pure.
 */
export interface LoudnessMeasures {
  /** EBU R128 integrated loudness, LUFS; null when the audio is silent (below the −70 LUFS gate). */
  integratedLufs: number | null;
  /** EBU R128 loudness range, LU. */
  loudnessRangeLu: number | null;
  /** The highest true peak, dBTP. */
  truePeakDbtp: number | null;
  /** Whole-file sample peak over RMS, dB. */
  crestFactorDb: number | null;
}

/** ebur128's integrated loudness reads this when every block was gated out: silence. */
const SILENT_LUFS = -70;

const round2 = (v: number) => Math.round(v * 100) / 100;
const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

export function loudnessOf(frames: PrintedFrame[]): LoudnessMeasures {
  const last = new Map<string, number>();
  let truePeak = 0;
  for (const f of frames) {
    for (const [key, value] of f.values) last.set(key, value);
    const v = f.values.get("lavfi.r128.true_peak");
    if (finite(v)) truePeak = Math.max(truePeak, v);
  }
  const integrated = last.get("lavfi.r128.I");
  const range = last.get("lavfi.r128.LRA");
  const peak = last.get("lavfi.astats.Overall.Peak_level");
  const rms = last.get("lavfi.astats.Overall.RMS_level");
  const audible = finite(integrated) && integrated > SILENT_LUFS;
  return {
    integratedLufs: audible ? round2(integrated) : null,
    loudnessRangeLu: audible && finite(range) ? round2(range) : null,
    truePeakDbtp: audible && truePeak > 0 ? round2(20 * Math.log10(truePeak)) : null,
    crestFactorDb: audible && finite(peak) && finite(rms) ? round2(peak - rms) : null,
  };
}
