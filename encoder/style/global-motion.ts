import type { LocalMotion } from "./vidstab";

/**
 * The camera's motion between two frames from the local motions of fields across the
 * picture: a similarity transform (shift, scale, rotation about the centre) that most
 * fields agree with. Every pair of fields defines one exactly; the one the most fields
 * agree with (within INLIER_PX) wins, tried in a fixed order so the answer is
 * deterministic, and is then refitted by least squares on the fields that agree. Things
 * moving on their own across part of the picture are left out rather than averaged in,
 * which would read as zoom. Pure.
 */
export interface GlobalMotion {
  /** Shift, pixels. */
  dx: number;
  dy: number;
  /** Scale from the previous frame to this one (1: none; above 1: zooming in). */
  scale: number;
  /** Fields that agree with it. */
  fields: number;
}

/** Fewer agreeing fields than this (or than MIN_AGREEMENT of them all) do not pin a transform down. */
export const MIN_FIELDS = 4;
const MIN_AGREEMENT = 0.4;
/** A field agrees with a transform when its vector is within this many pixels of the transform's (vidstab's are whole pixels). */
const INLIER_PX = 1.5;

/** v = [[a, −b], [b, a]]·p + t, with p relative to the picture's centre. */
interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

interface Field {
  x: number;
  y: number;
  u: number;
  w: number;
}

function throughPair(p: Field, q: Field): Similarity | null {
  const dx = q.x - p.x;
  const dy = q.y - p.y;
  const d2 = dx * dx + dy * dy;
  if (d2 === 0) return null;
  const du = q.u - p.u;
  const dw = q.w - p.w;
  const a = (dx * du + dy * dw) / d2;
  const b = (dx * dw - dy * du) / d2;
  return { a, b, tx: p.u - (a * p.x - b * p.y), ty: p.w - (b * p.x + a * p.y) };
}

function leastSquares(fields: Field[]): Similarity | null {
  const n = fields.length;
  const mean = fields.reduce((m, f) => ({ x: m.x + f.x / n, y: m.y + f.y / n, u: m.u + f.u / n, w: m.w + f.w / n }), { x: 0, y: 0, u: 0, w: 0 });
  let sxx = 0;
  let a = 0;
  let b = 0;
  for (const f of fields) {
    const [x, y, u, w] = [f.x - mean.x, f.y - mean.y, f.u - mean.u, f.w - mean.w];
    sxx += x * x + y * y;
    a += x * u + y * w;
    b += x * w - y * u;
  }
  if (sxx <= 0) return null;
  [a, b] = [a / sxx, b / sxx];
  return { a, b, tx: mean.u - (a * mean.x - b * mean.y), ty: mean.w - (b * mean.x + a * mean.y) };
}

/** Rounded well below a pixel's (or scale's) meaning, and never −0: the same fields always give the same numbers. */
const tidy = (v: number, per: number) => Math.round(v * per) / per + 0;

const residual = (f: Field, m: Similarity) => Math.hypot(f.u - (m.a * f.x - m.b * f.y + m.tx), f.w - (m.b * f.x + m.a * f.y + m.ty));

/**
 * The motion of one frame (vidstab's vectors point from the new frame's field to where it
 * was, so the transform is read the other way round). Null when too few fields agree.
 */
export function globalMotionOf(motions: LocalMotion[], width: number, height: number): GlobalMotion | null {
  const fields: Field[] = motions.map((m) => ({ x: m.fx - width / 2, y: m.fy - height / 2, u: m.vx, w: m.vy }));
  const needed = Math.max(MIN_FIELDS, Math.ceil(MIN_AGREEMENT * fields.length));
  if (fields.length < needed) return null;
  let best: Field[] = [];
  let bestError = Infinity;
  for (let i = 0; i < fields.length; i++) {
    for (let j = i + 1; j < fields.length; j++) {
      const model = throughPair(fields[i]!, fields[j]!);
      if (!model) continue;
      const agreeing = fields.filter((f) => residual(f, model) <= INLIER_PX);
      const error = agreeing.reduce((s, f) => s + residual(f, model), 0);
      if (agreeing.length > best.length || (agreeing.length === best.length && error < bestError)) [best, bestError] = [agreeing, error];
    }
  }
  if (best.length < needed) return null;
  const final = leastSquares(best);
  if (!final) return null;
  return { dx: tidy(-final.tx, 1e4), dy: tidy(-final.ty, 1e4), scale: tidy(1 / Math.max(1e-6, Math.hypot(1 + final.a, final.b)), 1e6), fields: best.length };
}
