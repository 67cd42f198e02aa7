import { describe, expect, it } from "vitest";
import { extractionConfidence } from "../../encoder/style/confidence";
import {
  NEUTRAL_LOW_SHARE,
  bassBoostOf,
  compressionRatioOf,
  crestFactorDbOf,
  enhanceSpeechOf,
  gradeOf,
  lowBandShareOf,
  motionIntensityOf,
  zoomRateOf,
  zoomUsageOf,
} from "../../encoder/style/scales";

describe("audio style scales", () => {
  it("reads compression from the crest factor, higher for a smaller crest, and back", () => {
    expect(compressionRatioOf(20)).toBe(1);
    expect(compressionRatioOf(30)).toBe(1);
    expect(compressionRatioOf(8)).toBe(2.5);
    expect(compressionRatioOf(0)).toBe(20);
    expect(crestFactorDbOf(compressionRatioOf(8))).toBeCloseTo(8, 6);
  });

  it("scores bass boost from the low-band share, 0 at the pink-noise share, and back", () => {
    expect(NEUTRAL_LOW_SHARE).toBeCloseTo(0.319, 3);
    expect(bassBoostOf(0.1)).toBe(0);
    expect(bassBoostOf(1)).toBe(100);
    expect(lowBandShareOf(bassBoostOf(0.6))).toBeCloseTo(0.6, 2);
  });

  it("calls for speech enhancement when the speech band dominates", () => {
    expect(enhanceSpeechOf(0.8)).toBe(true);
    expect(enhanceSpeechOf(0.4)).toBe(false);
  });
});

describe("motion scales", () => {
  it("scores zoom from its rate, and back", () => {
    expect(zoomUsageOf(0)).toBe(0);
    expect(zoomUsageOf(Math.log(1.5) / 5)).toBeCloseTo(55.5, 0);
    expect(zoomRateOf(zoomUsageOf(0.05))).toBeCloseTo(0.05, 3);
  });

  it("takes the larger of camera motion and motion in the picture", () => {
    expect(motionIntensityOf(0, 0)).toBe(0);
    expect(motionIntensityOf(0.25, 0)).toBeCloseTo(63.2, 1);
    expect(motionIntensityOf(0, 8)).toBeCloseTo(63.2, 1);
  });
});

describe("grade numbers", () => {
  it("scores warm chroma positive and cold negative, and saturation around the neutral magnitude", () => {
    const base = { yavg: 110, ylow: 40, yhigh: 180, uavg: 128, vavg: 128, satavg: 25 };
    expect(gradeOf(base)).toEqual({ temperature: 0, tint: 0, saturation: 0, contrast: 0, highlights: 0, shadows: -20 });
    expect(gradeOf({ ...base, uavg: 120, vavg: 136, satavg: 40 }).temperature).toBe(40);
    expect(gradeOf({ ...base, uavg: 136, vavg: 120, satavg: 10 })).toMatchObject({ temperature: -40, saturation: -60 });
  });
});

describe("extraction confidence", () => {
  const full = { durationS: 60, hasAudio: true, audible: true, changes: 10, tempoFound: true, motionFitted: 1 };
  it("is 1 for a long clip with audio, a tempo, cuts and motion throughout", () => {
    expect(extractionConfidence(full)).toBe(1);
  });
  it("is lower for a short clip, missing audio, no tempo, few cuts", () => {
    for (const weaker of [{ durationS: 5 }, { hasAudio: false }, { audible: false }, { tempoFound: false }, { changes: 1 }, { motionFitted: 0.2 }]) {
      expect(extractionConfidence({ ...full, ...weaker })).toBeLessThan(1);
    }
    expect(extractionConfidence({ ...full, durationS: 5, hasAudio: false, changes: 0 })).toBeLessThan(extractionConfidence({ ...full, durationS: 5 }));
  });
});
