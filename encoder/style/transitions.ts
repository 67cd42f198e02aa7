import { type Easing, type ProgressPoint, easingOf } from "./easing";
import type { FrameSeries } from "./frame-series";

/**
 * Scene changes found in the per-frame luma and frame difference, and what kind of
 * transition each is. Pure. In order of precedence (a frame belongs to one change):
 * - fade: luma dips toward black and comes back, the ramps on both sides spanning N
 *   frames (a fade out, then in);
 * - dissolve: the frame difference stays well above its surroundings for a few frames,
 *   adding up to a change of scene, without a dip in luma;
 * - cut: one frame whose scene-change score spikes.
 */
export type TransitionType = "cut" | "fade" | "dissolve";

export interface DetectedTransition {
  type: TransitionType;
  /** The moment the scene changes, seconds: the cut frame, the darkest frame of a fade, the middle of a dissolve. */
  atS: number;
  /** First and last frame time of the change (equal for a cut). */
  startS: number;
  endS: number;
  /** How long the change takes, ms (0 for a cut). */
  durationMs: number;
  easing: Easing;
}

/** scdet's score a single frame must reach to be a cut (its own default threshold). */
export const CUT_SCORE = 10;
/** The least time between two cuts: a flash frame is not two shots. */
const MIN_SHOT_S = 0.2;
/** A fade reaches within this share of the way from its plateaus' luma to black (limited range 16). */
const FADE_DEPTH = 0.75;
const BLACK_LUMA = 16;
/** A frame's luma must move this much to count as a step of a fade's ramp. */
const RAMP_STEP = 0.5;
/** A dissolve: frame differences above DISSOLVE_FACTOR × their surroundings + DISSOLVE_MARGIN, … */
const DISSOLVE_FACTOR = 2;
const DISSOLVE_MARGIN = 1;
/** … for at least this many frames and at most this long, … */
const DISSOLVE_MIN_FRAMES = 3;
const DISSOLVE_MAX_S = 2;
/** … adding up to at least this much mean luma difference beyond the surroundings (a change of scene). */
const DISSOLVE_MIN_CHANGE = 20;
/** The surroundings of a frame: the lower quartile of frame differences within this many seconds. */
const BASELINE_WINDOW_S = 1.5;

export function detectTransitions(series: FrameSeries, fps: number): DetectedTransition[] {
  const n = series.time.length;
  const taken = new Array<boolean>(n).fill(false);
  const found = [...detectFades(series, taken), ...detectDissolves(series, fps, taken), ...detectCuts(series, taken)];
  return found.sort((a, b) => a.atS - b.atS);
}

function detectFades(s: FrameSeries, taken: boolean[]): DetectedTransition[] {
  const { yavg: y, time: t } = s;
  const out: DetectedTransition[] = [];
  for (let m = 1; m < y.length - 1; m++) {
    if (taken[m] || !(y[m]! <= y[m - 1]! && y[m]! < y[m + 1]!)) continue;
    let start = m;
    while (start > 0 && y[start - 1]! > y[start]! + RAMP_STEP) start--;
    let end = m;
    while (end < y.length - 1 && y[end + 1]! > y[end]! + RAMP_STEP) end++;
    // A dip at the very start or end of the video is an opening or closing, not a change of shot.
    if (start === 0 || end === y.length - 1 || start === m || end === m) continue;
    const plateau = Math.min(y[start]!, y[end]!);
    if (plateau <= BLACK_LUMA || y[m]! > plateau - FADE_DEPTH * (plateau - BLACK_LUMA)) continue;
    for (let i = start; i <= end; i++) taken[i] = true;
    const fadeOut: ProgressPoint[] = [];
    for (let i = start; i <= m; i++) fadeOut.push({ at: (t[i]! - t[start]!) / (t[m]! - t[start]!), done: (y[start]! - y[i]!) / (y[start]! - y[m]!) });
    const fadeIn: ProgressPoint[] = [];
    for (let i = m; i <= end; i++) fadeIn.push({ at: (t[i]! - t[m]!) / (t[end]! - t[m]!), done: (y[i]! - y[m]!) / (y[end]! - y[m]!) });
    out.push({ type: "fade", atS: t[m]!, startS: t[start]!, endS: t[end]!, durationMs: Math.round((t[end]! - t[start]!) * 1000), easing: easingOf([fadeOut, fadeIn]) });
    m = end;
  }
  return out;
}

/** The lower quartile of frame differences around each frame. */
function baselines(ydif: number[], fps: number): number[] {
  const half = Math.max(1, Math.round(BASELINE_WINDOW_S * fps));
  return ydif.map((_, i) => {
    const window = ydif.slice(Math.max(1, i - half), Math.min(ydif.length, i + half + 1)).sort((a, b) => a - b);
    return window.length === 0 ? 0 : window[Math.floor(window.length / 4)]!;
  });
}

function detectDissolves(s: FrameSeries, fps: number, taken: boolean[]): DetectedTransition[] {
  const { ydif, time: t } = s;
  const base = baselines(ydif, fps);
  const elevated = (i: number) => !taken[i] && ydif[i]! > DISSOLVE_FACTOR * base[i]! + DISSOLVE_MARGIN;
  const out: DetectedTransition[] = [];
  for (let i = 1; i < ydif.length; i++) {
    if (!elevated(i)) continue;
    let j = i;
    while (j + 1 < ydif.length && elevated(j + 1)) j++;
    const excess = ydif.slice(i, j + 1).map((d, k) => d - base[i + k]!);
    const change = excess.reduce((a, b) => a + b, 0);
    const frames = j - i + 1;
    // The change must be spread out: one frame carrying most of it is a cut, left to detectCuts.
    const spread = Math.max(...excess) <= change / 2;
    // A dissolve starts at the last frame of the old scene: frame i already differs from it.
    const startS = t[i - 1]!;
    if (frames >= DISSOLVE_MIN_FRAMES && t[j]! - startS <= DISSOLVE_MAX_S && change >= DISSOLVE_MIN_CHANGE && spread) {
      for (let k = i; k <= j; k++) taken[k] = true;
      let done = 0;
      const curve: ProgressPoint[] = [{ at: 0, done: 0 }];
      for (let k = i; k <= j; k++) {
        done += excess[k - i]!;
        curve.push({ at: (t[k]! - startS) / (t[j]! - startS), done: done / change });
      }
      out.push({ type: "dissolve", atS: (startS + t[j]!) / 2, startS, endS: t[j]!, durationMs: Math.round((t[j]! - startS) * 1000), easing: easingOf([curve]) });
    }
    i = j;
  }
  return out;
}

function detectCuts(s: FrameSeries, taken: boolean[]): DetectedTransition[] {
  const out: DetectedTransition[] = [];
  let last = -Infinity;
  for (let i = 1; i < s.time.length; i++) {
    if (taken[i] || s.sceneScore[i]! < CUT_SCORE || s.time[i]! - last < MIN_SHOT_S) continue;
    last = s.time[i]!;
    out.push({ type: "cut", atS: s.time[i]!, startS: s.time[i]!, endS: s.time[i]!, durationMs: 0, easing: "linear" });
  }
  return out;
}
