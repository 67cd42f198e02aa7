import { describe, expect, it } from "vitest";
import { fft, hann } from "../../encoder/style/fft";
import { detectOnsets } from "../../encoder/style/onsets";
import { spectralFeatures } from "../../encoder/style/spectral-features";
import { estimateTempo } from "../../encoder/style/tempo";

const RATE = 22050;

/** Deterministic noise (a linear congruential generator), so the tests never vary. */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** Decaying tone bursts of `hz` at each of `times` (seconds), over `seconds`. */
function bursts(times: number[], hz: number, seconds: number, amplitude = 0.5): Float32Array {
  const pcm = new Float32Array(Math.round(seconds * RATE));
  for (const t of times) {
    const start = Math.round(t * RATE);
    for (let i = 0; i < 0.08 * RATE && start + i < pcm.length; i++) pcm[start + i]! += amplitude * Math.sin((2 * Math.PI * hz * i) / RATE) * Math.exp(-i / (0.015 * RATE));
  }
  return pcm;
}

const every = (periodS: number, seconds: number, from = 0.25) => Array.from({ length: Math.floor((seconds - from) / periodS) }, (_, i) => from + i * periodS);

describe("fft", () => {
  it("puts a sine's energy in its bin", () => {
    const n = 256;
    const re = new Float64Array(n).map((_, i) => Math.cos((2 * Math.PI * 8 * i) / n));
    const im = new Float64Array(n);
    fft(re, im);
    const magnitude = Array.from(re, (r, k) => Math.hypot(r, im[k]!));
    expect(magnitude[8]).toBeCloseTo(n / 2, 6);
    expect(magnitude[n - 8]).toBeCloseTo(n / 2, 6);
    expect(Math.max(...magnitude.filter((_, k) => k !== 8 && k !== n - 8))).toBeLessThan(1e-9);
  });

  it("refuses a length that is not a power of two", () => {
    expect(() => fft(new Float64Array(100), new Float64Array(100))).toThrow();
  });

  it("has a Hann window that is zero at its start and one in its middle", () => {
    const w = hann(8);
    expect(w[0]).toBe(0);
    expect(w[4]).toBeCloseTo(1, 12);
  });
});

describe("spectral features", () => {
  it("puts a 60 Hz tone's energy in the low band and a 1 kHz tone's in the speech band", () => {
    const tone = (hz: number) => Float32Array.from({ length: RATE * 2 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / RATE));
    const low = spectralFeatures(tone(60), RATE).energy;
    const mid = spectralFeatures(tone(1000), RATE).energy;
    expect(low.low / low.total).toBeGreaterThan(0.95);
    expect(mid.speech / mid.total).toBeGreaterThan(0.95);
    expect(mid.low / mid.total).toBeLessThan(0.01);
  });

  it("has no flux, onsets or tempo in silence", () => {
    const features = spectralFeatures(new Float32Array(RATE * 6), RATE);
    expect(features.flux.every((v) => v === 0)).toBe(true);
    expect(detectOnsets(features)).toEqual([]);
    expect(estimateTempo(features.flux, features.frameStepS)).toBeNull();
  });
});

describe("onsets", () => {
  it("finds each burst near its time, in the band of its tone", () => {
    const times = [0.3, 1.1, 1.7, 2.6];
    const beats = detectOnsets(spectralFeatures(bursts(times, 1000, 3), RATE));
    expect(beats).toHaveLength(times.length);
    beats.forEach((b, i) => {
      expect(Math.abs(b.timestamp_ms - times[i]! * 1000)).toBeLessThanOrEqual(25);
      expect(b.frequency).toBe("mid");
      expect(b.confidence).toBeGreaterThan(0.5);
    });
  });

  it("tells bass, mid and treble onsets apart", () => {
    const bands = [
      [80, "bass"],
      [1000, "mid"],
      [7000, "treble"],
    ] as const;
    for (const [hz, band] of bands) {
      const beats = detectOnsets(spectralFeatures(bursts([0.5, 1.5], hz, 2), RATE));
      expect(beats.map((b) => b.frequency)).toEqual([band, band]);
    }
  });
});

describe("tempo by autocorrelation", () => {
  it.each([90, 120, 128, 150])("finds %i BPM in bursts on the beat within ±1 BPM", (bpm) => {
    const features = spectralFeatures(bursts(every(60 / bpm, 8), 1000, 8), RATE);
    const tempo = estimateTempo(features.flux, features.frameStepS);
    expect(tempo).not.toBeNull();
    expect(Math.abs(tempo!.bpm - bpm)).toBeLessThanOrEqual(1);
  });

  it("does not halve a tempo whose every other beat is softer", () => {
    const times = every(0.5, 8);
    const pcm = bursts(times.filter((_, i) => i % 2 === 0), 1000, 8);
    const soft = bursts(times.filter((_, i) => i % 2 === 1), 1000, 8, 0.2);
    const features = spectralFeatures(pcm.map((v, i) => v + soft[i]!), RATE);
    expect(Math.abs(estimateTempo(features.flux, features.frameStepS)!.bpm - 120)).toBeLessThanOrEqual(1);
  });

  it("has none in steady noise, and none in a clip too short for four slow beats", () => {
    const random = noise(42);
    const hiss = Float32Array.from({ length: RATE * 8 }, () => 0.3 * random());
    const features = spectralFeatures(hiss, RATE);
    expect(estimateTempo(features.flux, features.frameStepS)).toBeNull();
    const short = spectralFeatures(bursts(every(0.5, 3), 1000, 3), RATE);
    expect(estimateTempo(short.flux, short.frameStepS)).toBeNull();
  });
});
