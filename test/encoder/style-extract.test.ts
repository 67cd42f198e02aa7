import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PipelineError } from "../../encoder/errors";
import { type StyleAnalysis, analyzeStyle, analyzeVideo } from "../../encoder/style/analysis";
import { styleJsonSchema } from "../../encoder/style/style-json";
import { clipPath } from "./clips";
import {
  CLICK_BPM,
  FADE_MS,
  type Grade,
  clickTrackClip,
  cutEvery2sClip,
  fadesClip,
  gradedClip,
  loudnessClip,
  portraitClip,
  staticClip,
  subtitledClip,
  zoomClip,
} from "./style-clips";

const tools = () => ({ ffmpeg: "ffmpeg", ffprobe: "ffprobe", signal: new AbortController().signal });
const CREATED = "2026-01-01T00:00:00.000Z";

const cache = new Map<string, Promise<StyleAnalysis>>();
/** Each clip is analysed once per run; every result is checked against the public schema. */
function analyse(file: string): Promise<StyleAnalysis> {
  let result = cache.get(file);
  if (!result) {
    result = analyzeStyle(file, tools(), CREATED).then((r) => {
      expect(() => styleJsonSchema.parse(r.style)).not.toThrow();
      return r;
    });
    cache.set(file, result);
  }
  return result;
}

// Each test builds (first run) and analyses real clips on shared cores: allow for a slow machine.
describe("style extraction on templates of one known property", { timeout: 120_000 }, () => {
  it("reads a 9:16 clip's aspect ratio exactly, and its frame rate", async () => {
    const { style, video } = await analyse(portraitClip());
    expect(style.aspect_ratio).toBe("9:16");
    expect(style.frame_rate).toBe(30);
    expect([video.width, video.height]).toEqual([180, 320]);
  });

  it("reads a phone clip stored landscape with a 90° display rotation as 9:16", async () => {
    const { style, video } = await analyse(clipPath("phone"));
    expect([90, 270]).toContain(video.rotation);
    expect(style.aspect_ratio).toBe("9:16");
  });

  it("reads a clip cut every 2 s as 30 cuts per minute (±15 %), with cuts as its transition", async () => {
    const { style, video } = await analyse(cutEvery2sClip());
    expect(style.cut_frequency).toBeGreaterThanOrEqual(30 * 0.85);
    expect(style.cut_frequency).toBeLessThanOrEqual(30 * 1.15);
    expect(video.cutTimesS).toHaveLength(4);
    expect(style.primary_transition).toEqual({ type: "cut", duration_ms: 0, easing: "linear" });
    expect(style.secondary_transition).toBeNull();
  });

  it("reads a single shot as 0 cuts per minute", async () => {
    const { style } = await analyse(staticClip());
    expect(style.cut_frequency).toBe(0);
  });

  it("detects 0.5 s fades through black as fades of 500 ms (±150 ms)", async () => {
    const { style, video } = await analyse(fadesClip());
    expect(video.transitions.map((t) => t.type)).toEqual(["fade", "fade"]);
    expect(style.primary_transition.type).toBe("fade");
    expect(Math.abs(style.primary_transition.duration_ms - FADE_MS)).toBeLessThanOrEqual(150);
    // The clip's fades are linear ramps of luma.
    expect(style.primary_transition.easing).toBe("linear");
  });

  it("scores a warm saturated grade warm and saturated, a cold desaturated one cold and muted, ordered around the neutral one", async () => {
    const grades = Object.fromEntries(
      await Promise.all((["warm", "neutral", "cold"] as Grade[]).map(async (g) => [g, (await analyse(gradedClip(g))).style.color_grade] as const)),
    );
    const { warm, neutral, cold } = grades as Record<Grade, StyleAnalysis["style"]["color_grade"]>;
    expect(warm.temperature).toBeGreaterThan(0);
    expect(warm.saturation).toBeGreaterThan(0);
    expect(cold.temperature).toBeLessThan(0);
    expect(cold.saturation).toBeLessThan(0);
    expect(warm.temperature).toBeGreaterThan(neutral.temperature);
    expect(neutral.temperature).toBeGreaterThan(cold.temperature);
    expect(warm.saturation).toBeGreaterThan(neutral.saturation);
    expect(neutral.saturation).toBeGreaterThan(cold.saturation);
  });

  it("finds the tempo of a 120 BPM click track within ±2 BPM, with a beat on each click", async () => {
    const { style, audio } = await analyse(clickTrackClip());
    expect(style.tempo_bpm).not.toBeNull();
    expect(Math.abs(style.tempo_bpm! - CLICK_BPM)).toBeLessThanOrEqual(2);
    const period = 60_000 / CLICK_BPM;
    // Every click after the first (whose onset has no frame before it) is found, near its time.
    expect(style.detected_beats.length).toBeGreaterThanOrEqual(10);
    for (const beat of style.detected_beats) {
      const offset = beat.timestamp_ms - Math.round(beat.timestamp_ms / period) * period;
      expect(Math.abs(offset)).toBeLessThanOrEqual(25);
    }
    expect(audio.tempoStrength).toBeGreaterThan(0.5);
  });

  it("orders a loud compressed track above a quiet dynamic one in level, and in compression", async () => {
    const loud = await analyse(loudnessClip("loud"));
    const quiet = await analyse(loudnessClip("quiet"));
    expect(loud.style.audio_style.normalization_level).toBeGreaterThan(quiet.style.audio_style.normalization_level);
    expect(loud.audio.integratedLufs!).toBeGreaterThan(-16);
    expect(quiet.audio.integratedLufs!).toBeLessThan(-30);
    expect(loud.style.audio_style.compression_ratio).toBeGreaterThan(quiet.style.audio_style.compression_ratio);
  });

  it("scores zoom_usage on a slow zoom above that of a static clip", async () => {
    const zoom = await analyse(zoomClip());
    const still = await analyse(staticClip());
    expect(still.style.zoom_usage).toBe(0);
    expect(zoom.style.zoom_usage).toBeGreaterThan(still.style.zoom_usage + 20);
  });

  it("gives a valid StyleJSON without audio: the audio style of silence, and lower confidence", async () => {
    const silent = await analyse(zoomClip());
    const withAudio = await analyse(loudnessClip("loud"));
    expect(silent.audio.present).toBe(false);
    expect(silent.style.audio_style).toEqual({ normalization_level: 0, compression_ratio: 1, bass_boost: 0, enhance_speech: false });
    expect(silent.style.tempo_bpm).toBeNull();
    expect(silent.style.detected_beats).toEqual([]);
    expect(silent.style.extraction_confidence).toBeLessThan(withAudio.style.extraction_confidence);
  });

  it("says use_subtitles only for a file with a subtitle stream", async () => {
    expect((await analyse(subtitledClip())).style.use_subtitles).toBe(true);
    expect((await analyse(staticClip())).style.use_subtitles).toBe(false);
  });

  it("gives the same StyleJSON for the same video twice, apart from created_at", async () => {
    const first = await analyse(fadesClip());
    const again = await analyzeStyle(fadesClip(), tools(), "2026-02-02T00:00:00.000Z");
    expect({ ...again.style, created_at: CREATED }).toEqual(first.style);
    expect(again.video).toEqual(first.video);
  });

  it("throws input_unreadable for a corrupt file", async () => {
    const dir = path.join(os.tmpdir(), "kiln-style-clips");
    mkdirSync(dir, { recursive: true });
    const corrupt = path.join(dir, "corrupt.mp4");
    writeFileSync(corrupt, Buffer.concat([Buffer.from("\0\0\0\x18ftypisom"), Buffer.alloc(4096, 0x5a)]));
    const error = await analyzeStyle(corrupt, tools(), CREATED).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as PipelineError).code).toBe("input_unreadable");
  });

  it("stops when the signal aborts, with the canceled code", async () => {
    const controller = new AbortController();
    const run = analyzeVideo(cutEvery2sClip(), { ...tools(), signal: controller.signal }, () => controller.abort());
    await expect(run).rejects.toMatchObject({ code: "canceled" });
  });
});
