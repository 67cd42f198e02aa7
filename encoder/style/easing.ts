/**
 * The easing of a transition from its progress curve: how far it has gone (0–1) at each
 * moment of its span (0–1). Linear progress is a straight line; ease-in starts slowly
 * (below it throughout), ease-out starts fast (above it), ease-in-out is an S: below
 * in the first half, above in the second. Pure.
 */
export type Easing = "linear" | "ease-in" | "ease-out" | "ease-in-out";

export interface ProgressPoint {
  /** Share of the transition's span elapsed, 0–1. */
  at: number;
  /** Share of its change done, 0–1. */
  done: number;
}

/** How far from the straight line a quarter point must be to count as curved. */
const TOLERANCE = 0.06;

/** The progress at `at`, linearly interpolated between the points (sorted by `at`). */
export function progressAt(points: ProgressPoint[], at: number): number {
  if (points.length === 0) return at;
  if (at <= points[0]!.at) return points[0]!.done;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (at <= b.at) return b.at === a.at ? b.done : a.done + ((b.done - a.done) * (at - a.at)) / (b.at - a.at);
  }
  return points[points.length - 1]!.done;
}

export function easingOf(curves: ProgressPoint[][]): Easing {
  const usable = curves.filter((c) => c.length >= 2);
  if (usable.length === 0) return "linear";
  const deviation = (at: number) => usable.reduce((s, c) => s + progressAt(c, at), 0) / usable.length - at;
  const [early, middle, late] = [deviation(0.25), deviation(0.5), deviation(0.75)];
  const overall = (early + middle + late) / 3;
  if (early < -TOLERANCE / 2 && late > TOLERANCE / 2 && Math.abs(middle) < TOLERANCE) return "ease-in-out";
  if (overall < -TOLERANCE) return "ease-in";
  if (overall > TOLERANCE) return "ease-out";
  return "linear";
}
