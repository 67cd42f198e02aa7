import type { LocalMotion } from "./vidstab";

/**
 * The camera's motion between two frames from the local motions of fields across the
 * picture: a similarity transform (shift, scale, rotation about the centre) fitted by
 * least squares, refitted without the fields that disagree with it (things moving on
 * their own). Pure.
 */
export interface GlobalMotion {
  /** Shift, pixels. */
  dx: number;
  dy: number;
  /** Scale from the previous frame to this one (1: none; above 1: zooming in). */
  scale: number;
  /** Fields the fit kept. */
  fields: number;
}

/** Fewer fields than this do not pin a transform down. */
export const MIN_FIELDS = 4;
/** A field more than this many pixels (and this many times the median residual) from the fit is an outlier. */
const OUTLIER_PX = 1.5;
const OUTLIER_FACTOR = 2.5;

interface Fit {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** Solves v = [[a, −b], [b, a]]·p + t for the fields, positions p relative to the centre. */
function fit(fields: LocalMotion[], cx: number, cy: number): Fit | null {
  const n = fields.length;
  if (n < MIN_FIELDS) return null;
  let mx = 0;
  let my = 0;
  let mvx = 0;
  let mvy = 0;
  for (const f of fields) {
    mx += f.fx - cx;
    my += f.fy - cy;
    mvx += f.vx;
    mvy += f.vy;
  }
  [mx, my, mvx, mvy] = [mx / n, my / n, mvx / n, mvy / n];
  let sxx = 0;
  let a = 0;
  let b = 0;
  for (const f of fields) {
    const x = f.fx - cx - mx;
    const y = f.fy - cy - my;
    const u = f.vx - mvx;
    const w = f.vy - mvy;
    sxx += x * x + y * y;
    a += x * u + y * w;
    b += x * w - y * u;
  }
  if (sxx <= 0) return null;
  [a, b] = [a / sxx, b / sxx];
  return { a, b, tx: mvx - (a * mx - b * my), ty: mvy - (b * mx + a * my) };
}

function residual(f: LocalMotion, m: Fit, cx: number, cy: number): number {
  const x = f.fx - cx;
  const y = f.fy - cy;
  return Math.hypot(f.vx - (m.a * x - m.b * y + m.tx), f.vy - (m.b * x + m.a * y + m.ty));
}

/**
 * The motion of one frame (vidstab's vectors point from the new frame's field to where it
 * was, so the transform is read the other way round). Null when too few fields agree.
 */
export function globalMotionOf(fields: LocalMotion[], width: number, height: number): GlobalMotion | null {
  const [cx, cy] = [width / 2, height / 2];
  const first = fit(fields, cx, cy);
  if (!first) return null;
  const residuals = fields.map((f) => residual(f, first, cx, cy));
  const typical = [...residuals].sort((p, q) => p - q)[Math.floor(residuals.length / 2)]!;
  const kept = fields.filter((_, i) => residuals[i]! <= Math.max(OUTLIER_PX, OUTLIER_FACTOR * typical));
  const final = fit(kept, cx, cy);
  if (!final) return null;
  return { dx: -final.tx, dy: -final.ty, scale: 1 / Math.max(1e-6, Math.hypot(1 + final.a, final.b)), fields: kept.length };
}
