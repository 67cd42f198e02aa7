import { type FramePlan, type Position, type Size, even, planFrame } from "../ffmpeg/framing";
import type { AspectRatio } from "./scales";

/**
 * Reframing: the output's picture in the target's aspect ratio, exactly. Pure.
 *
 * Cropping fills the frame, as vertical re-edits do; when a crop would keep less than
 * MIN_CROP_KEPT of the picture (an ultra-wide source made portrait) the source is
 * padded instead, centred.
 */

export const MIN_CROP_KEPT = 0.25;

/** Width and height of a named ratio in lowest terms: 9:16 is 9 wide, 16 high. */
export function ratioTerms(ratio: AspectRatio): { across: number; down: number } {
  const [across, down] = ratio.split(":").map(Number) as [number, number];
  return { across, down };
}

/**
 * The largest even size of exactly `ratio` with sides within `limit`: a whole multiple
 * of the ratio's terms (an even multiple, so both sides are even).
 */
export function exactBox(ratio: AspectRatio, limit: Size): Size {
  const { across, down } = ratioTerms(ratio);
  const multiple = Math.max(2, 2 * Math.floor(Math.min(limit.width / across, limit.height / down) / 2));
  return { width: across * multiple, height: down * multiple };
}

/**
 * The plan that turns a `source`-sized picture (display pixels) into `ratio`, or keeps
 * its own shape (to even sides) without one. A crop's box fits inside the crop, so the
 * source is never scaled up; a pad's box keeps the source's longer side.
 */
export function planReframe(source: Size, ratio: AspectRatio | null, position: Position = "center"): FramePlan {
  if (ratio === null) return planFrame({ width: even(source.width), height: even(source.height), fit: "cover" }, source);
  const { across, down } = ratioTerms(ratio);
  const sourceRatio = source.width / source.height;
  const targetRatio = across / down;
  const kept = Math.min(sourceRatio, targetRatio) / Math.max(sourceRatio, targetRatio);
  if (kept >= MIN_CROP_KEPT) {
    const crop = sourceRatio > targetRatio ? { width: source.height * targetRatio, height: source.height } : { width: source.width, height: source.width / targetRatio };
    return planFrame({ ...exactBox(ratio, crop), fit: "cover", position }, source);
  }
  const longer = Math.max(source.width, source.height);
  return planFrame({ ...exactBox(ratio, { width: longer, height: longer }), fit: "contain" }, source);
}
