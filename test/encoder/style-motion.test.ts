import { describe, expect, it } from "vitest";
import { cameraMotionOf } from "../../encoder/style/camera-motion";
import { globalMotionOf } from "../../encoder/style/global-motion";
import type { LocalMotion } from "../../encoder/style/vidstab";

const [W, H] = [320, 180];

/** vidstab fields on a grid for a camera moving by (dx, dy) and scaling by `scale` about the centre, vectors rounded to whole pixels as vidstab's are. */
function fields(dx: number, dy: number, scale: number): LocalMotion[] {
  const out: LocalMotion[] = [];
  for (let fx = 40; fx < W; fx += 40) {
    for (let fy = 30; fy < H; fy += 40) {
      // A point at p in the new frame was at (p − c − d)/scale + c in the old one.
      const [x, y] = [fx - W / 2, fy - H / 2];
      out.push({ fx, fy, vx: Math.round((x - dx) / scale - x), vy: Math.round((y - dy) / scale - y) });
    }
  }
  return out;
}

describe("global motion", () => {
  it("reads a camera shift and a zoom from the fields", () => {
    const pan = globalMotionOf(fields(6, -3, 1), W, H)!;
    expect([pan.dx, pan.dy, pan.scale]).toEqual([6, -3, 1]);
    const zoom = globalMotionOf(fields(0, 0, 1.05), W, H)!;
    expect(zoom.scale).toBeGreaterThan(1.03);
    expect(zoom.scale).toBeLessThan(1.07);
  });

  it("leaves out a minority of fields moving on their own", () => {
    const motions = fields(0, 0, 1);
    for (const m of motions.slice(0, 6)) [m.vx, m.vy] = [0, -9];
    const still = globalMotionOf(motions, W, H)!;
    expect([still.dx, still.dy, still.scale]).toEqual([0, 0, 1]);
    expect(still.fields).toBe(motions.length - 6);
  });

  it("fits nothing to too few fields", () => {
    expect(globalMotionOf(fields(0, 0, 1).slice(0, 3), W, H)).toBeNull();
  });
});

describe("camera motion over a video", () => {
  it("scores a sustained zoom and a pan, and nothing for a still picture", () => {
    const frames = (f: () => LocalMotion[]) => [[], ...Array.from({ length: 30 }, f)];
    const zoom = cameraMotionOf(frames(() => fields(0, 0, 1.02)), W, H, 10);
    expect(zoom.zoomRate).toBeGreaterThan(0.1);
    const pan = cameraMotionOf(frames(() => fields(5, 0, 1)), W, H, 10);
    expect(pan.cameraSpeed).toBeCloseTo((5 * 10) / Math.hypot(W, H), 3);
    expect(pan.zoomRate).toBe(0);
    const still = cameraMotionOf(frames(() => fields(0, 0, 1)), W, H, 10);
    expect(still).toEqual({ cameraSpeed: 0, zoomRate: 0, fittedSteps: 30, steps: 30 });
  });

  it("lets jitter back and forth cancel within a second", () => {
    const shaky = cameraMotionOf([[], ...Array.from({ length: 30 }, (_, i) => fields(i % 2 ? 3 : -3, 0, 1))], W, H, 10);
    expect(shaky.cameraSpeed).toBe(0);
  });
});
