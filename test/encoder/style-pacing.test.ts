import { describe, expect, it } from "vitest";
import { easingOf } from "../../encoder/style/easing";
import type { FrameSeries } from "../../encoder/style/frame-series";
import { cutFrequencyOf, shotLengths, transitionsOf } from "../../encoder/style/pacing";
import { type DetectedTransition, detectTransitions } from "../../encoder/style/transitions";

const FPS = 30;

/** A series of `frames` frames from per-frame luma and difference functions; scene scores as scdet derives them. */
function series(frames: number, luma: (i: number) => number, diff: (i: number) => number): FrameSeries {
  const s: FrameSeries = { time: [], yavg: [], ylow: [], yhigh: [], uavg: [], vavg: [], satavg: [], ydif: [], sceneScore: [] };
  for (let i = 0; i < frames; i++) {
    s.time.push(i / FPS);
    s.yavg.push(luma(i));
    s.ylow.push(luma(i) - 40);
    s.yhigh.push(luma(i) + 60);
    s.uavg.push(128);
    s.vavg.push(128);
    s.satavg.push(25);
    s.ydif.push(i === 0 ? 0 : diff(i));
  }
  // scdet: the frame's difference (0–100 scale) beyond the previous one's.
  s.sceneScore = s.ydif.map((d, i) => Math.min(d / 2.56, Math.abs(d - (s.ydif[i - 1] ?? 0)) / 2.56));
  return s;
}

const curve = (f: (t: number) => number) => Array.from({ length: 11 }, (_, i) => ({ at: i / 10, done: f(i / 10) }));

describe("easing", () => {
  it("names the shape of a progress curve", () => {
    expect(easingOf([curve((t) => t)])).toBe("linear");
    expect(easingOf([curve((t) => t * t)])).toBe("ease-in");
    expect(easingOf([curve((t) => 1 - (1 - t) ** 2)])).toBe("ease-out");
    expect(easingOf([curve((t) => t * t * (3 - 2 * t))])).toBe("ease-in-out");
    expect(easingOf([])).toBe("linear");
  });
});

describe("transition detection", () => {
  it("finds a cut as a one-frame spike in the scene score", () => {
    const s = series(120, (i) => (i < 60 ? 100 : 150), (i) => (i === 60 ? 60 : 0.5));
    expect(detectTransitions(s, FPS)).toEqual([{ type: "cut", atS: 2, startS: 2, endS: 2, durationMs: 0, easing: "linear" }]);
  });

  it("finds a fade through black as a luma dip, its span the length of both ramps", () => {
    // Out over frames 60–67 (linear to black), back in over 68–75.
    const luma = (i: number) => (i < 60 || i > 75 ? 120 : i <= 67 ? 120 - ((i - 59) * 104) / 8 : 16 + ((i - 67) * 104) / 8);
    const s = series(150, luma, (i) => Math.abs(luma(i) - luma(i - 1)) + 0.3);
    const [fade, ...rest] = detectTransitions(s, FPS);
    expect(rest).toEqual([]);
    expect(fade!.type).toBe("fade");
    expect(fade!.atS).toBeCloseTo(67 / FPS, 6);
    expect(fade!.durationMs).toBe(Math.round((16 / FPS) * 1000));
    expect(fade!.easing).toBe("linear");
  });

  it("does not take a dark opening or a dark scene cut into for a fade", () => {
    const opening = series(90, (i) => (i < 10 ? 16 + i * 10 : 116), () => 0.5);
    expect(detectTransitions(opening, FPS).filter((t) => t.type === "fade")).toEqual([]);
    const dark = series(120, (i) => (i >= 50 && i < 70 ? 20 : 120), (i) => (i === 50 || i === 70 ? 80 : 0.5));
    expect(detectTransitions(dark, FPS).map((t) => t.type)).toEqual(["cut", "cut"]);
  });

  it("finds a dissolve as a spread-out rise in frame difference without a luma dip", () => {
    // 15 frames of a 0.5 s crossfade: each frame moves a fifteenth of the way between scenes 90 luma apart.
    const s = series(150, (i) => 100 + Math.min(15, Math.max(0, i - 59)) * 2, (i) => (i >= 60 && i < 75 ? 6 : 0.3));
    const [dissolve, ...rest] = detectTransitions(s, FPS);
    expect(rest).toEqual([]);
    expect(dissolve).toMatchObject({ type: "dissolve", durationMs: 500, easing: "linear" });
  });

  it("leaves steady motion alone", () => {
    const s = series(300, (i) => 100 + 10 * Math.sin(i / 20), () => 3);
    expect(detectTransitions(s, FPS)).toEqual([]);
  });
});

describe("cut frequency", () => {
  it("reads 30 for a cut every 2 s, whatever the trimmed ends, and 0 for one shot", () => {
    expect(cutFrequencyOf([2, 4, 6, 8], 10)).toBe(30);
    expect(cutFrequencyOf([1.2, 3.2, 5.2, 7.2], 8.5)).toBe(30);
    expect(cutFrequencyOf([], 10)).toBe(0);
  });

  it("splits a video into its shots", () => {
    expect(shotLengths([1, 3], 4)).toEqual([1, 2, 1]);
  });
});

const change = (type: DetectedTransition["type"], durationMs: number, easing: DetectedTransition["easing"] = "linear"): DetectedTransition => ({ type, atS: 0, startS: 0, endS: 0, durationMs, easing });

describe("primary and secondary transitions", () => {
  it("ranks the types by use, with each type's median duration and most common easing", () => {
    const { primary, secondary } = transitionsOf([change("fade", 400, "ease-in"), change("cut", 0), change("fade", 600, "ease-in"), change("fade", 500), change("dissolve", 300)]);
    expect(primary).toEqual({ type: "fade", duration_ms: 500, easing: "ease-in" });
    expect(secondary).toEqual({ type: "cut", duration_ms: 0, easing: "linear" });
  });

  it("reports one shot as a 0 ms cut and no secondary", () => {
    expect(transitionsOf([])).toEqual({ primary: { type: "cut", duration_ms: 0, easing: "linear" }, secondary: null });
  });
});
