import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { StyleConfig } from "../contract";
import { lossyAudioArgs } from "../ffmpeg/audio";
import type { FfmpegCommand } from "../ffmpeg/command";
import { videoQuality } from "../ffmpeg/quality";
import { runFfmpeg } from "../ffmpeg/runner";
import {
  LOUDNESS_FILE,
  type LoudnessPass,
  SAMPLE_FILE,
  type StyleRenderSpec,
  gradeTrialCommand,
  measureCommand,
  renderCommand,
} from "../ffmpeg/style-render";
import { type StageProgress, type StyleAnalysis, type StyleTools, type VideoAnalysis, analyzeStyle } from "./analysis";
import { TRUE_PEAK_DB, bassFor, compressorFor, loudnessTargetOf } from "./apply-audio";
import { planReframe } from "./apply-frame";
import { type GradeMap, type GradeTarget, firstGrade, gradeFilter, gradeTarget, refineGrade } from "./apply-grade";
import { planCuts } from "./apply-pacing";
import { type DimensionValues, compareStyles, dimensionValuesOf } from "./compare";
import { frameSeriesOf, meanFrameStats } from "./frame-series";
import { loudnessOf } from "./loudness";
import { parseMetadataPrint } from "./metadata-print";
import { type AspectRatio, type FrameStats, aspectRatios, zoomRateOf } from "./scales";
import type { StyleComparison, StyleJson } from "./style-json";

/**
 * Style application (style_application) and rendering: the source rendered in the
 * target's style, then measured as the analysis measures any video and compared.
 */

/** What rendering needs and reports. */
export interface RenderRequest {
  /** The source file, and what was measured of it. */
  source: { file: string; analysis: StyleAnalysis };
  /** The style to render in: the template's (and its measures), or the source's own without a template. */
  target: { style: StyleJson; analysis: StyleAnalysis };
  /** Whether target is a template's style (color, audio, pacing and zoom apply by default) or the source's own (only config's changes). */
  fromTemplate: boolean;
  config: StyleConfig;
  /** Where the H.264/AAC MP4 is written. */
  outFile: string;
  workDir: string;
  tools: StyleTools;
}

export interface Shortened {
  wanted_seconds: number;
  rendered_seconds: number;
}

export interface StylePlan {
  /** The ffmpeg run that renders. */
  command: FfmpegCommand;
  /** The values the output should reach: the target's measures with config's overrides (the comparison's "template"). */
  target: DimensionValues;
  /** The parts that apply. */
  parts: AppliedParts;
  /** The grade's maps, when color applies. */
  grade: GradeMap | null;
  /** Set when the source was too short for the template's rhythm: shots were not repeated, so the output is shorter. */
  shortened?: Shortened;
}

export interface RenderResult {
  comparison: StyleComparison[];
  output: StyleAnalysis;
  shortened?: Shortened;
}

export interface AppliedParts {
  color: boolean;
  audio: boolean;
  pacing: boolean;
  reframe: boolean;
  zoom: boolean;
}

/** A template's zoom_usage from which the output zooms: what reads as a zooming style, not a stray push-in. */
export const ZOOM_USAGE_HIGH = 50;
/** Trial runs of the grade on the sample after the first estimate. */
export const GRADE_REFINEMENTS = 2;

/** With a template every part applies unless config switches it off; without one only config's frame and rate do. */
export function appliedParts(fromTemplate: boolean, config: StyleConfig): AppliedParts {
  const on = (part: keyof AppliedParts) => fromTemplate && config.apply?.[part] !== false;
  return { color: on("color"), audio: on("audio"), pacing: on("pacing"), reframe: on("reframe"), zoom: on("zoom") };
}

/** The aspect ratio and frame rate rendered: config's when set, else the template's when reframing, else the source's own. */
export function targetFrame(request: Pick<RenderRequest, "config" | "target" | "source">, parts: AppliedParts): { ratio: AspectRatio | null; fps: number } {
  const { config, target, source } = request;
  const ratio = config.aspect_ratio ?? (parts.reframe ? (target.style.aspect_ratio as AspectRatio) : null);
  const fps = config.frame_rate ?? (parts.reframe ? target.style.frame_rate : source.analysis.video.fps);
  return { ratio, fps };
}

/** The comparison's template side: the target's measures, with the frame and rate config asked for. */
export function targetValues(request: Pick<RenderRequest, "config" | "target">): DimensionValues {
  const values = dimensionValuesOf(request.target.analysis);
  const { aspect_ratio, frame_rate } = request.config;
  return { ...values, aspect_ratio: aspect_ratio ? aspectRatios[aspect_ratio] : values.aspect_ratio, frame_rate: frame_rate ?? values.frame_rate };
}

/** A file as the runner names it: relative to the working directory it runs in, with `file:` so it never reads as an option. */
function fileArg(workDir: string, file: string): string {
  const relative = path.relative(workDir, path.resolve(workDir, file));
  return `file:${relative.startsWith("..") ? path.resolve(workDir, file) : relative}`;
}

/** The output's shots (null: the whole source as one), the frames each join overlaps, and whether the output came out short. */
interface Recut {
  pieces: StyleRenderSpec["pieces"];
  transitionFrames: number;
  shortened?: Shortened;
}

/** The source cut into shots at the target's rhythm (pacing): planCuts over the measured source. */
function recut(video: VideoAnalysis, target: StyleJson, fps: number, transitionSeconds: number): Recut {
  const cuts = planCuts({
    sourceSeconds: video.durationS,
    sourceCuts: video.cutTimesS,
    shotSeconds: 60 / target.cut_frequency,
    wantedSeconds: target.source_duration_seconds,
    transitionSeconds,
    frameRate: fps,
    marginSeconds: 2 / (video.fps || fps),
  });
  const cut = cuts.pieces.length > 0;
  const rendered = cut ? cuts.renderedSeconds : video.durationS;
  return {
    pieces: cut ? cuts.pieces : null,
    transitionFrames: cut ? cuts.transitionFrames : 0,
    ...(rendered < cuts.wantedSeconds - 1 / fps ? { shortened: { wanted_seconds: cuts.wantedSeconds, rendered_seconds: rendered } } : {}),
  };
}

/** Everything but the measured grade and loudness: frame, rate, cut list, zoom, audio shaping. */
function planSpec(request: RenderRequest, parts: AppliedParts): { spec: StyleRenderSpec; shortened?: Shortened } {
  const { video, audio, motion } = request.source.analysis;
  const target = request.target.style;
  const { ratio, fps } = targetFrame(request, parts);
  const frame = planReframe({ width: video.width, height: video.height }, ratio, request.config.position);
  const transition = target.primary_transition;
  const joins = transition.type === "fade" || transition.type === "dissolve";
  const { pieces, transitionFrames, shortened }: Recut =
    parts.pacing && target.cut_frequency > 0 ? recut(video, target, fps, joins ? transition.duration_ms / 1000 : 0) : { pieces: null, transitionFrames: 0 };
  const sourceStyle = request.source.analysis.style;
  const zoomRate = parts.zoom && target.zoom_usage >= ZOOM_USAGE_HIGH ? Math.max(0, zoomRateOf(target.zoom_usage) - motion.zoomRate) : 0;
  const shape = parts.audio && audio.integratedLufs !== null;
  const spec: StyleRenderSpec = {
    source: fileArg(request.workDir, request.source.file),
    sourceFps: video.fps,
    audio: video.hasAudio,
    pieces,
    join: joins && transitionFrames > 0 ? { kind: transition.type as "fade" | "dissolve", frames: transitionFrames } : { kind: "cut" },
    frameRate: fps,
    frame,
    zoomRate,
    grade: null,
    shaping: { compressor: shape ? compressorFor(audio, sourceStyle, target) : null, bass: shape ? bassFor(audio, sourceStyle, target) : null },
  };
  return { spec, shortened };
}

async function run(command: FfmpegCommand, request: RenderRequest, progress: StageProgress): Promise<void> {
  await runFfmpeg(command, { cwd: request.workDir, signal: request.tools.signal, ffmpeg: request.tools.ffmpeg, cores: request.tools.cores, onProgress: progress });
}

/** The sample's mean frame statistics, graded by `map` (or not). */
async function trialStats(request: RenderRequest, map: GradeMap | null, trial: number): Promise<FrameStats> {
  const statsFile = `style-grade-${trial}.txt`;
  try {
    await run(gradeTrialCommand(map ? gradeFilter(map) : null, statsFile), request, () => {});
    const stats = meanFrameStats(frameSeriesOf(parseMetadataPrint(await readFile(path.join(request.workDir, statsFile), "utf8"))));
    if (!stats) throw new Error("the grade's trial measured no frames");
    return stats;
  } finally {
    await rm(path.join(request.workDir, statsFile), { force: true });
  }
}

/** The grade: a first estimate from the ungraded sample, refined by trials on it. */
async function measureGrade(request: RenderRequest, target: GradeTarget): Promise<GradeMap> {
  let map = firstGrade(await trialStats(request, null, 0), target);
  for (let trial = 1; trial <= GRADE_REFINEMENTS; trial++) map = refineGrade(map, await trialStats(request, map, trial), target);
  return map;
}

/** loudnorm's second pass to `targetLufs`, from what the measuring run printed; null when it measured silence. */
async function loudnessPass(request: RenderRequest, targetLufs: number): Promise<LoudnessPass | null> {
  const measured = loudnessOf(parseMetadataPrint(await readFile(path.join(request.workDir, LOUDNESS_FILE), "utf8")));
  if (measured.integratedLufs === null) return null;
  return {
    targetLufs,
    truePeakDb: TRUE_PEAK_DB,
    measured: { lufs: measured.integratedLufs, rangeLu: measured.loudnessRangeLu ?? 0, truePeakDb: measured.truePeakDbtp ?? TRUE_PEAK_DB },
  };
}

/** style_application: decides every filter and the cut list; measures the re-cut source for the grade and the loudness. */
export async function planStyle(request: RenderRequest, progress: StageProgress): Promise<StylePlan> {
  const parts = appliedParts(request.fromTemplate, request.config);
  const { spec, shortened } = planSpec(request, parts);
  const targetLufs = parts.audio && spec.audio && request.source.analysis.audio.integratedLufs !== null ? loudnessTargetOf(request.target.analysis.audio) : null;
  let grade: GradeMap | null = null;
  let loudness: LoudnessPass | null = null;
  if (parts.color || targetLufs !== null) {
    try {
      await run(measureCommand(spec, request.source.analysis.video.durationS, targetLufs !== null), request, (f) => progress(0.8 * f));
      if (targetLufs !== null) loudness = await loudnessPass(request, targetLufs);
      if (parts.color) grade = await measureGrade(request, gradeTarget(request.target.style.color_grade));
    } finally {
      await Promise.all([SAMPLE_FILE, LOUDNESS_FILE].map((f) => rm(path.join(request.workDir, f), { force: true })));
    }
  }
  const quality = request.config.quality ?? "medium";
  const { crf, speed } = videoQuality.h264[quality];
  const command = renderCommand(
    { ...spec, grade: grade ? gradeFilter(grade) : null },
    loudness,
    { crf, preset: speed, audioArgs: lossyAudioArgs("aac", quality) },
    fileArg(request.workDir, request.outFile),
    request.source.analysis.video.durationS,
  );
  progress(1);
  return { command, target: targetValues(request), parts, grade, ...(shortened ? { shortened } : {}) };
}

/** rendering: runs the plan, then measures the output and compares it with the source and the target. */
export async function renderStyle(request: RenderRequest, plan: StylePlan, progress: StageProgress): Promise<RenderResult> {
  await run(plan.command, request, (f) => progress(0.7 * f));
  progress(0.7);
  const output = await analyzeStyle(path.resolve(request.workDir, request.outFile), request.tools, new Date().toISOString());
  progress(1);
  const comparison = compareStyles(dimensionValuesOf(request.source.analysis), plan.target, dimensionValuesOf(output));
  return { comparison, output, ...(plan.shortened ? { shortened: plan.shortened } : {}) };
}

