import { type GlobalMotion, globalMotionOf } from "./global-motion";
import type { LocalMotion } from "./vidstab";

/**
 * The camera's movement over a whole video from its per-step global motions, summed over
 * one-second windows first: a sustained pan or zoom adds up, while the jitter of single
 * fits (integer-pixel vectors, things moving in the picture) largely cancels. Pure.
 */
export interface CameraMotion {
  /** Mean shift per second, in frame diagonals. */
  cameraSpeed: number;
  /** Mean |ln scale| change per second (see scales.ts zoomUsageOf). */
  zoomRate: number;
  /** Steps whose motion could be fitted, of all steps between frames. */
  fittedSteps: number;
  steps: number;
}

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;

/** `frames` sampled `fps` times a second at width × height. */
export function cameraMotionOf(frames: LocalMotion[][], width: number, height: number, fps: number): CameraMotion {
  // The first frame has no previous one to move from.
  const motions: (GlobalMotion | null)[] = frames.slice(1).map((f) => globalMotionOf(f, width, height));
  const windowSteps = Math.max(1, Math.round(fps));
  const diagonal = Math.hypot(width, height);
  let speed = 0;
  let zoom = 0;
  let windows = 0;
  for (let start = 0; start < motions.length; start += windowSteps) {
    const window = motions.slice(start, start + windowSteps);
    const seconds = window.length / fps;
    let dx = 0;
    let dy = 0;
    let lnScale = 0;
    // An unfitted step (a cut, a blank frame) counts as still: no motion is invented for it.
    for (const m of window) {
      if (!m) continue;
      dx += m.dx;
      dy += m.dy;
      lnScale += Math.log(m.scale);
    }
    speed += Math.hypot(dx, dy) / diagonal / seconds;
    zoom += Math.abs(lnScale) / seconds;
    windows++;
  }
  return {
    cameraSpeed: windows ? round4(speed / windows) : 0,
    zoomRate: windows ? round4(zoom / windows) : 0,
    fittedSteps: motions.filter((m) => m !== null).length,
    steps: motions.length,
  };
}
