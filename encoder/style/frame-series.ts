import type { FrameStats } from "./scales";
import type { PrintedFrame } from "./metadata-print";

/**
 * The per-frame measures of the video_analysis decode (signalstats and scdet, see
 * encoder/ffmpeg/style-analysis.ts), as parallel arrays in frame order. Pure.
 */
export interface FrameSeries {
  /** Presentation time of each frame, seconds. */
  time: number[];
  yavg: number[];
  ylow: number[];
  yhigh: number[];
  uavg: number[];
  vavg: number[];
  satavg: number[];
  /** Mean absolute luma difference from the previous frame (signalstats YDIF; 0 for the first). */
  ydif: number[];
  /** scdet's scene-change score, 0–100: how much more this frame differs than the previous one did. */
  sceneScore: number[];
}

const keys = {
  yavg: "lavfi.signalstats.YAVG",
  ylow: "lavfi.signalstats.YLOW",
  yhigh: "lavfi.signalstats.YHIGH",
  uavg: "lavfi.signalstats.UAVG",
  vavg: "lavfi.signalstats.VAVG",
  satavg: "lavfi.signalstats.SATAVG",
  ydif: "lavfi.signalstats.YDIF",
  sceneScore: "lavfi.scd.score",
} as const;

/** The printed frames as series; a frame without its signalstats (none is expected) is left out. */
export function frameSeriesOf(frames: PrintedFrame[]): FrameSeries {
  const series: FrameSeries = { time: [], yavg: [], ylow: [], yhigh: [], uavg: [], vavg: [], satavg: [], ydif: [], sceneScore: [] };
  for (const frame of frames) {
    const yavg = frame.values.get(keys.yavg);
    if (yavg === undefined || !Number.isFinite(yavg) || !Number.isFinite(frame.time)) continue;
    series.time.push(frame.time);
    for (const name of Object.keys(keys) as (keyof typeof keys)[]) {
      const v = frame.values.get(keys[name]);
      series[name].push(v !== undefined && Number.isFinite(v) ? v : 0);
    }
  }
  return series;
}

const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** The means over every measured frame: what the grade scales read. Null without frames. */
export function meanFrameStats(series: FrameSeries): FrameStats | null {
  if (series.time.length === 0) return null;
  return {
    yavg: round3(mean(series.yavg)),
    ylow: round3(mean(series.ylow)),
    yhigh: round3(mean(series.yhigh)),
    uavg: round3(mean(series.uavg)),
    vavg: round3(mean(series.vavg)),
    satavg: round3(mean(series.satavg)),
  };
}

/** Frames per second of the series: the median step between frames (robust to a dropped frame). */
export function seriesFps(series: FrameSeries): number | null {
  const steps: number[] = [];
  for (let i = 1; i < series.time.length; i++) steps.push(series.time[i]! - series.time[i - 1]!);
  if (steps.length === 0) return null;
  steps.sort((a, b) => a - b);
  const step = steps[Math.floor(steps.length / 2)]!;
  return step > 0 ? 1 / step : null;
}
