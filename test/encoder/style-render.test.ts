import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StyleConfig } from "../../encoder/contract";
import { type StyleAnalysis, analyzeStyle } from "../../encoder/style/analysis";
import { type RenderResult, planStyle, renderStyle } from "../../encoder/style/render";
import type { StyleDimension } from "../../encoder/style/style-json";
import { audioStream, ffprobe, frameRate, videoStream } from "./ffprobe";
import { neutralSource, shortSource, silentSource, warmPortraitTemplate } from "./style-render-clips";

/**
 * Style application end to end with real ffmpeg: a neutral 16:9 source rendered in a
 * warm, 9:16, 30-cuts-a-minute, loud template's style, the output measured by the same
 * analysis and ffprobed.
 */

const tools = { ffmpeg: "ffmpeg", ffprobe: "ffprobe", signal: new AbortController().signal };
const created = "2024-01-01T00:00:00.000Z";
const work = mkdtempSync(path.join(os.tmpdir(), "kiln-style-render-"));
let source: StyleAnalysis;
let template: StyleAnalysis;
let renders = 0;

beforeAll(async () => {
  source = await analyzeStyle(neutralSource(), tools, created);
  template = await analyzeStyle(warmPortraitTemplate(), tools, created);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Rendered {
  result: RenderResult;
  file: string;
  closed: (d: StyleDimension) => number | null;
}

/** Plans and renders `sourceFile` in a working directory of its own, as the engine does. */
async function render(sourceFile: string, sourceAnalysis: StyleAnalysis, target: StyleAnalysis | null, config: StyleConfig): Promise<Rendered> {
  const workDir = mkdtempSync(path.join(work, `r${renders++}-`));
  copyFileSync(sourceFile, path.join(workDir, "source.mp4"));
  const request = {
    source: { file: "source.mp4", analysis: sourceAnalysis },
    target: { style: (target ?? sourceAnalysis).style, analysis: target ?? sourceAnalysis },
    fromTemplate: target !== null,
    config,
    outFile: "output.mp4",
    workDir,
    tools,
  };
  const plan = await planStyle(request, () => {});
  const result = await renderStyle(request, plan, () => {});
  return { result, file: path.join(workDir, "output.mp4"), closed: (d) => result.comparison.find((c) => c.dimension === d)!.closed_fraction };
}

describe("style application", () => {
  it("closes the gap to the template: grade and loudness by 60 %, frame and rate exactly, the cut rate within 20 %", async () => {
    const { result, file, closed } = await render(neutralSource(), source, template, {});
    expect(closed("saturation")).toBeGreaterThanOrEqual(0.6);
    expect(closed("temperature")).toBeGreaterThanOrEqual(0.6);
    expect(closed("integrated_loudness")).toBeGreaterThanOrEqual(0.6);

    const probed = ffprobe(file);
    const video = videoStream(probed)!;
    expect(video.codec_name).toBe("h264");
    expect(audioStream(probed)?.codec_name).toBe("aac");
    expect(video.width! / video.height!).toBe(9 / 16);
    expect(frameRate(video)).toBe(30);
    expect(template.style.aspect_ratio).toBe("9:16");
    expect(result.output.style.aspect_ratio).toBe("9:16");
    expect(result.output.style.frame_rate).toBe(30);
    expect(Math.abs(result.output.style.cut_frequency - template.style.cut_frequency)).toBeLessThanOrEqual(0.2 * template.style.cut_frequency);
    expect(result.shortened).toBeUndefined();
  }, 120_000);

  it("leaves the grade when color is switched off, and config's aspect ratio wins over the template's", async () => {
    const { result, file, closed } = await render(neutralSource(), source, template, { apply: { color: false }, aspect_ratio: "1:1" });
    const video = videoStream(ffprobe(file))!;
    expect(video.width).toBe(video.height);
    expect(closed("aspect_ratio")).toBe(1);
    expect(result.comparison.find((c) => c.dimension === "aspect_ratio")!.template).toBe(1);
    // Reframing and re-cutting change what is in the picture, not how it is graded: the warm look stays out.
    expect(Math.abs(closed("temperature")!)).toBeLessThan(0.2);
    expect(Math.abs(closed("saturation")!)).toBeLessThan(0.6);
    expect(closed("integrated_loudness")).toBeGreaterThanOrEqual(0.6);
  }, 120_000);

  it("renders a source without a template with config's changes only", async () => {
    const { result, file, closed } = await render(neutralSource(), source, null, { aspect_ratio: "9:16" });
    const probed = ffprobe(file);
    const video = videoStream(probed)!;
    expect(video.width! / video.height!).toBe(9 / 16);
    expect(frameRate(video)).toBe(25);
    expect(Number(probed.format.duration)).toBeCloseTo(source.video.durationS, 1);
    expect(closed("aspect_ratio")).toBe(1);
    expect(result.output.audio.integratedLufs!).toBeCloseTo(source.audio.integratedLufs!, 0);
    expect(result.output.style.cut_frequency).toBe(source.style.cut_frequency);
  }, 120_000);

  it("says so when the source is too short for the template's rhythm, and repeats nothing", async () => {
    const short = await analyzeStyle(shortSource(), tools, created);
    const { result, file } = await render(shortSource(), short, template, {});
    expect(result.shortened?.wanted_seconds).toBe(template.style.source_duration_seconds);
    expect(result.shortened!.rendered_seconds).toBeLessThanOrEqual(short.video.durationS);
    expect(Number(ffprobe(file).format.duration)).toBeCloseTo(result.shortened!.rendered_seconds, 1);
  }, 120_000);

  it("gives a video-only output for a video-only source", async () => {
    const silent = await analyzeStyle(silentSource(), tools, created);
    const { result, file, closed } = await render(silentSource(), silent, template, {});
    const probed = ffprobe(file);
    expect(audioStream(probed)).toBeUndefined();
    expect(videoStream(probed)!.width! / videoStream(probed)!.height!).toBe(9 / 16);
    expect(closed("integrated_loudness")).toBeNull();
    expect(closed("temperature")).toBeGreaterThanOrEqual(0.6);
    expect(result.output.audio.present).toBe(false);
  }, 120_000);
});
