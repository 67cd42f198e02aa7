import type { FfmpegCommand, SourceInfo } from "./command";
import { type TimeWindow, displaySize, even, seconds, wholeSource } from "./framing";

/**
 * Content-aware (per-title) encoding: a short complexity probe of the source decides a
 * CRF offset and a peak-rate scale for every rung of an output, so a talking head or a
 * slide deck is not given the bits a sports match needs, and vice versa.
 *
 * The probe encodes a few evenly spaced short samples of the source, downscaled to a
 * fixed small picture and frame rate, with x264 at a fixed CRF and a fast preset, and
 * measures what that costs in bits per pixel per frame. At constant quality, x264
 * spends bits where the picture is hard to predict (detail, noise, motion), so the
 * rate at fixed CRF is a direct, cheap measure of how hard the title is to encode.
 */

/** Samples per probe and the longest a sample is, in seconds. */
const SAMPLES = 3;
const SAMPLE_SECONDS = 1;
/** The probe's picture (short side) and frame rate: fixed, so scores compare across sources. */
const PROBE_SHORT_SIDE = 216;
const PROBE_FPS = 24;
/** The probe's own encoder settings: a mid CRF and a fast preset. */
const PROBE_CRF = 23;
const PROBE_PRESET = "veryfast";
export const PROBE_FILE = "complexity_probe.h264";

/**
 * Where the score's scale sits: the bits per pixel the probe measures on ordinary
 * content (testsrc2, film-like detail in motion: ≈0.11) score 50; every doubling of the
 * rate is POINTS_PER_DOUBLING points more. A flat picture measures ≈0.003 (score 0), heavy
 * noise ≈0.56 (score ≈87).
 */
const MID_BPP = 0.1;
const POINTS_PER_DOUBLING = 15;
/** The most the CRF moves either way, in x264 steps (±3 roughly halves/doubles the size). */
export const MAX_CRF_OFFSET = 4;
/** The peak-rate caps are scaled between 1/CAP_RANGE and CAP_RANGE times the tier's. */
export const CAP_RANGE = 2;

export interface ProbeSample {
  startS: number;
  lengthS: number;
}

export interface ComplexityProbeCommand extends FfmpegCommand {
  /** The probe's picture and the frames it encodes, to turn the file's size into bits per pixel. */
  width: number;
  height: number;
  frames: number;
}

/** What the probe found and what it means for every rung of a content-aware output. */
export interface ContentAwareAdjustment {
  /** 0 (flat) to 100 (noise): the bits per pixel on a log scale. */
  complexity: number;
  bitsPerPixel: number;
  /** Added to the tier's CRF, in x264 steps; positive for simple content. */
  crfOffset: number;
  /** Multiplies the tier's peak-rate cap; below 1 for simple content. */
  capScale: number;
}

/**
 * Evenly spaced samples, each in the middle of its own stretch of the source, all
 * inside it (so each yields its full frames); shorter samples for sources under
 * SAMPLES × SAMPLE_SECONDS.
 */
export function planProbeSamples(durationS: number): ProbeSample[] {
  if (!(durationS > 0)) return [{ startS: 0, lengthS: SAMPLE_SECONDS }];
  const stretch = durationS / SAMPLES;
  const lengthS = Math.min(SAMPLE_SECONDS, stretch);
  return Array.from({ length: SAMPLES }, (_, i) => ({ startS: round3(i * stretch + (stretch - lengthS) / 2), lengthS: round3(lengthS) }));
}

/** The probe's picture: the source's shape at a short side of PROBE_SHORT_SIDE. */
export function probeSize(source: SourceInfo): { width: number; height: number } {
  const { width, height } = displaySize(source);
  const scale = PROBE_SHORT_SIDE / Math.min(width, height);
  return { width: even(width * scale), height: even(height * scale) };
}

/**
 * One ffmpeg run: each sample is an input seeked on its own (-ss before -i seeks by
 * index rather than decoding up to it), normalised to the probe's size and rate,
 * concatenated, and encoded to a raw H.264 stream whose size is the measure. With a
 * clip, the samples are taken from it: the title is what the outputs will hold.
 */
export function buildComplexityProbeCommand(source: SourceInfo, clip: TimeWindow = wholeSource(source)): ComplexityProbeCommand {
  const { width, height } = probeSize(source);
  const samples = planProbeSamples(clip.durationS);
  const inputs = samples.flatMap((s) => ["-ss", seconds(clip.start + s.startS), "-t", seconds(s.lengthS), "-i", source.file]);
  const normalise = samples.map((_, i) => `[${i}:v:0]fps=${PROBE_FPS},scale=${width}:${height},setsar=1,format=yuv420p[p${i}]`);
  const graph = [...normalise, `${samples.map((_, i) => `[p${i}]`).join("")}concat=n=${samples.length}:v=1:a=0[probe]`].join(";");
  return {
    args: [...inputs, "-filter_complex", graph, "-map", "[probe]", "-an", "-c:v", "libx264", "-preset", PROBE_PRESET, "-crf", String(PROBE_CRF), "-f", "h264", PROBE_FILE],
    outputs: [PROBE_FILE],
    main: PROBE_FILE,
    durationS: samples.reduce((sum, s) => sum + s.lengthS, 0),
    width,
    height,
    frames: samples.reduce((sum, s) => sum + Math.round(s.lengthS * PROBE_FPS), 0),
  };
}

/** The score and adjustment for a probe whose stream came out `bytes` long. */
export function contentAwareAdjustment(bytes: number, probe: Pick<ComplexityProbeCommand, "width" | "height" | "frames">): ContentAwareAdjustment {
  const bitsPerPixel = (bytes * 8) / (Math.max(probe.frames, 1) * probe.width * probe.height);
  const complexity = clamp(Math.round(50 + POINTS_PER_DOUBLING * Math.log2(Math.max(bitsPerPixel, 1e-6) / MID_BPP)), 0, 100);
  // Linear in the score: 0 → +MAX_CRF_OFFSET and caps / CAP_RANGE; 100 → the opposite.
  const centred = (complexity - 50) / 50;
  return {
    complexity,
    bitsPerPixel: Math.round(bitsPerPixel * 10_000) / 10_000,
    // `0 -` rather than unary minus: no -0 in the recorded decision.
    crfOffset: 0 - Math.round(centred * MAX_CRF_OFFSET),
    capScale: Math.round(CAP_RANGE ** centred * 100) / 100,
  };
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
