import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { FfmpegCommand } from "../ffmpeg/command";
import type { Cores } from "../ffmpeg/cores";
import { runProbe } from "../ffmpeg/ffprobe-run";
import { type ProbeResult, probeFile, probeStreams, requireStreams } from "../ffmpeg/probe";
import { runFfmpeg } from "../ffmpeg/runner";
import {
  AUDIO_STATS_FILE,
  MOTION_FILE,
  MOTION_FPS,
  MOTION_WIDTH,
  PCM_FILE,
  PCM_RATE,
  VIDEO_STATS_FILE,
  audioAnalysisCommand,
  motionCommand,
  subtitleStreamsArgv,
  videoStatsCommand,
} from "../ffmpeg/style-analysis";
import { PipelineError } from "../errors";
import { cameraMotionOf } from "./camera-motion";
import { extractionConfidence } from "./confidence";
import { frameSeriesOf, meanFrameStats, seriesFps } from "./frame-series";
import { loudnessOf } from "./loudness";
import { parseMetadataPrint } from "./metadata-print";
import { detectOnsets } from "./onsets";
import { cutFrequencyOf, transitionsOf } from "./pacing";
import {
  type FrameStats,
  bassBoostOf,
  compressionRatioOf,
  enhanceSpeechOf,
  gradeOf,
  motionIntensityOf,
  nearestAspectRatio,
  nearestFrameRate,
  normalizationLevelOf,
  zoomUsageOf,
} from "./scales";
import { spectralFeatures } from "./spectral-features";
import type { Beat, StyleJson } from "./style-json";
import { estimateTempo } from "./tempo";
import { type DetectedTransition, detectTransitions } from "./transitions";
import { parseVidstab } from "./vidstab";

/** What the style analyses run with. */
export interface StyleTools {
  ffmpeg: string;
  ffprobe: string;
  signal: AbortSignal;
  /** The encoder's cores: each analysis and render run waits for one. */
  cores?: Cores;
}

/** A stage's share done, 0–1. */
export type StageProgress = (fraction: number) => void;

/** The measures of the video_analysis stage: geometry from ffprobe, the rest from one decode of every frame. */
export interface VideoAnalysis {
  /** Seconds, from ffprobe. */
  durationS: number;
  /** Display size: after rotation and the sample aspect ratio. */
  width: number;
  height: number;
  /** width ÷ height as displayed. */
  displayAspect: number;
  /** The stream's average frame rate (ffprobe), or the decoded frames' when it declares none. */
  fps: number;
  /** Display-matrix rotation, degrees (0, 90, 180, 270). */
  rotation: number;
  hasAudio: boolean;
  /** How many subtitle streams the file carries. */
  subtitleStreams: number;
  /** Frames measured (every decoded frame, scaled to STATS_WIDTH). */
  frames: number;
  /** signalstats means over those frames, on the 8-bit limited-range scale (scales.ts). */
  frameStats: FrameStats;
  /** Every detected change of scene, seconds, whatever its transition (DetectedTransition.atS). */
  cutTimesS: number[];
  transitions: DetectedTransition[];
  /**
   * Motion in the picture: the median mean luma difference between consecutive frames,
   * outside transitions, scaled to a 30 fps frame step.
   */
  frameActivity: number;
}

/** The measures of the audio_analysis stage. Without an audio stream, every measure is null or empty. */
export interface AudioAnalysis {
  /** Whether the file has an audio stream (it may still be silent: integratedLufs null). */
  present: boolean;
  /** EBU R128 integrated loudness, LUFS; null without audio or when silent. */
  integratedLufs: number | null;
  /** EBU R128 loudness range, LU. */
  loudnessRangeLu: number | null;
  /** Highest true peak, dBTP. */
  truePeakDbtp: number | null;
  /** Whole-file sample peak over RMS, dB: what compression_ratio reads. */
  crestFactorDb: number | null;
  /** Share of the energy above 20 Hz that lies below 150 Hz (bass_boost), and within 300–3400 Hz (enhance_speech). */
  lowBandShare: number | null;
  speechBandShare: number | null;
  /** Tempo by autocorrelation of the onset envelope; null when it has no clear period. */
  tempoBpm: number | null;
  /** The normalised autocorrelation at that period, 0–1. */
  tempoStrength: number | null;
  /** Onsets of the decoded PCM, with strength and band. */
  beats: Beat[];
}

/** The measures of the motion_analysis stage: global motion from vidstabdetect's local motion fields. */
export interface MotionAnalysis {
  /** The picture and rate motion was measured at. */
  width: number;
  height: number;
  fps: number;
  /** Mean camera shift per second, in frame diagonals. */
  cameraSpeed: number;
  /** Mean |ln scale| change per second: 0 without zoom. */
  zoomRate: number;
  /** Steps between sampled frames whose motion could be fitted, of all steps. */
  fittedSteps: number;
  steps: number;
}

/** Everything measured of one video, and the StyleJSON composed from it. */
export interface StyleAnalysis {
  video: VideoAnalysis;
  audio: AudioAnalysis;
  motion: MotionAnalysis;
  style: StyleJson;
}

/**
 * Probes the input; a file ffprobe cannot read or without a video stream throws here
 * (input_unreadable, input_no_video). The damage checks (first frame, tail) run once, in
 * video_analysis.
 */
async function describe(file: string, tools: StyleTools, integrityChecks: boolean): Promise<ProbeResult> {
  const options = { ffprobe: tools.ffprobe, signal: tools.signal };
  const result = integrityChecks
    ? await probeFile(path.basename(file), path.dirname(file), options)
    : (await probeStreams(path.basename(file), path.dirname(file), options)).result;
  requireStreams(result, "video");
  return result;
}

/** Runs one analysis command in a working directory of its own, reads what it wrote, and removes it all. */
async function inScratch<T>(command: FfmpegCommand, tools: StyleTools, progress: StageProgress, read: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "kiln-style-"));
  try {
    await runFfmpeg(command, { cwd: dir, signal: tools.signal, ffmpeg: tools.ffmpeg, cores: tools.cores, onProgress: (f) => progress(0.05 + 0.9 * f) });
    return await read(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!;
}

/** video_analysis: geometry, rotation, frame rate and subtitle streams; frame statistics; scene changes and their transitions. */
export async function analyzeVideo(file: string, tools: StyleTools, progress: StageProgress): Promise<VideoAnalysis> {
  const input = path.resolve(file);
  const probe = await describe(input, tools, true);
  const subtitles = await runProbe(subtitleStreamsArgv(input), path.dirname(input), { ffprobe: tools.ffprobe, signal: tools.signal });
  const subtitleStreams = subtitles.code === 0 ? subtitles.stdout.split("\n").filter((l) => l.trim() !== "").length : 0;
  progress(0.05);
  const { durationS } = probe.source;
  const series = await inScratch(videoStatsCommand(input, durationS), tools, progress, async (dir) =>
    frameSeriesOf(parseMetadataPrint(await readFile(path.join(dir, VIDEO_STATS_FILE), "utf8"))),
  );
  const frameStats = meanFrameStats(series);
  if (!frameStats) throw new PipelineError("input_unreadable", "The input's video stream decoded to no frames");
  const fps = probe.source.fps ?? seriesFps(series) ?? 0;
  const transitions = detectTransitions(series, seriesFps(series) ?? fps);
  const inTransition = (t: number) => transitions.some((c) => t >= c.startS && t <= c.endS);
  const steady = series.ydif.filter((_, i) => i > 0 && !inTransition(series.time[i]!));
  const width = probe.source.width!;
  const height = probe.source.height!;
  progress(1);
  return {
    durationS: round3(durationS),
    width,
    height,
    displayAspect: round3(width / height),
    fps: round3(fps),
    rotation: probe.metadata.rotation,
    hasAudio: probe.source.hasAudio,
    subtitleStreams,
    frames: series.time.length,
    frameStats,
    cutTimesS: transitions.map((t) => round3(t.atS)),
    transitions,
    frameActivity: round3((median(steady) * fps) / 30),
  };
}

const noAudio = (present: boolean): AudioAnalysis => ({
  present,
  integratedLufs: null,
  loudnessRangeLu: null,
  truePeakDbtp: null,
  crestFactorDb: null,
  lowBandShare: null,
  speechBandShare: null,
  tempoBpm: null,
  tempoStrength: null,
  beats: [],
});

/** audio_analysis: loudness, true peak and crest factor (ebur128, astats); band shares, onsets and tempo from the decoded PCM. */
export async function analyzeAudio(file: string, tools: StyleTools, progress: StageProgress): Promise<AudioAnalysis> {
  const input = path.resolve(file);
  const probe = await describe(input, tools, false);
  if (!probe.source.hasAudio) {
    progress(1);
    return noAudio(false);
  }
  const { loudness, pcm } = await inScratch(audioAnalysisCommand(input, probe.source.durationS), tools, progress, async (dir) => {
    const bytes = await readFile(path.join(dir, PCM_FILE));
    // A copy: the buffer may sit at an offset a Float32Array cannot start at.
    const pcm = new Float32Array(new Uint8Array(bytes).buffer, 0, Math.floor(bytes.length / 4));
    return { loudness: loudnessOf(parseMetadataPrint(await readFile(path.join(dir, AUDIO_STATS_FILE), "utf8"))), pcm };
  });
  if (loudness.integratedLufs === null) {
    progress(1);
    return noAudio(true);
  }
  const features = spectralFeatures(pcm, PCM_RATE);
  const tempo = estimateTempo(features.flux, features.frameStepS);
  const { total, low, speech } = features.energy;
  progress(1);
  return {
    present: true,
    ...loudness,
    lowBandShare: total > 0 ? round3(low / total) : null,
    speechBandShare: total > 0 ? round3(speech / total) : null,
    tempoBpm: tempo?.bpm ?? null,
    tempoStrength: tempo?.strength ?? null,
    beats: detectOnsets(features),
  };
}

/** motion_analysis: camera shift and zoom from vidstabdetect's local motions, sampled MOTION_FPS times a second. */
export async function analyzeMotion(file: string, tools: StyleTools, progress: StageProgress): Promise<MotionAnalysis> {
  const input = path.resolve(file);
  const probe = await describe(input, tools, false);
  const width = MOTION_WIDTH;
  // scale=-2 keeps the picture's shape in even heights.
  const height = Math.max(2, 2 * Math.round((MOTION_WIDTH * probe.source.height!) / probe.source.width! / 2));
  const fields = await inScratch(motionCommand(input, probe.source.durationS), tools, progress, async (dir) =>
    parseVidstab(await readFile(path.join(dir, MOTION_FILE), "utf8")),
  );
  progress(1);
  return { width, height, fps: MOTION_FPS, ...cameraMotionOf(fields, width, height, MOTION_FPS) };
}

/**
 * The StyleJSON of the measures. Pure. Without audio (or with silence) the audio style
 * holds the values of a silent track, not guesses: normalization_level 0 (no loudness),
 * compression_ratio 1 (no compression measured), bass_boost 0, enhance_speech false, no
 * tempo or beats; extraction_confidence is lowered and AudioAnalysis.integratedLufs is
 * null, which is what application must read to leave the audio alone.
 */
export function composeStyle(video: VideoAnalysis, audio: AudioAnalysis, motion: MotionAnalysis, createdAt: string): StyleJson {
  const audible = audio.integratedLufs !== null;
  const { primary, secondary } = transitionsOf(video.transitions);
  return {
    version: "1.0",
    color_grade: gradeOf(video.frameStats),
    aspect_ratio: nearestAspectRatio(video.displayAspect),
    frame_rate: nearestFrameRate(video.fps),
    audio_style: {
      normalization_level: audible ? normalizationLevelOf(audio.integratedLufs!) : 0,
      compression_ratio: audio.crestFactorDb !== null ? compressionRatioOf(audio.crestFactorDb) : 1,
      bass_boost: audio.lowBandShare !== null ? bassBoostOf(audio.lowBandShare) : 0,
      enhance_speech: audio.speechBandShare !== null && enhanceSpeechOf(audio.speechBandShare),
    },
    cut_frequency: cutFrequencyOf(video.cutTimesS, video.durationS),
    motion_intensity: motionIntensityOf(motion.cameraSpeed, video.frameActivity),
    zoom_usage: zoomUsageOf(motion.zoomRate),
    primary_transition: primary,
    secondary_transition: secondary,
    text_overlays: [],
    use_subtitles: video.subtitleStreams > 0,
    detected_beats: audio.beats,
    tempo_bpm: audio.tempoBpm,
    music_genre: null,
    created_at: createdAt,
    source_duration_seconds: video.durationS,
    extraction_confidence: extractionConfidence({
      durationS: video.durationS,
      hasAudio: audio.present,
      audible,
      changes: video.cutTimesS.length,
      tempoFound: audio.tempoBpm !== null,
      motionFitted: motion.steps > 0 ? motion.fittedSteps / motion.steps : 0,
    }),
  };
}

/** All stages of one video, one after another: what rendering measures its output with. */
export async function analyzeStyle(file: string, tools: StyleTools, createdAt: string): Promise<StyleAnalysis> {
  const video = await analyzeVideo(file, tools, () => {});
  const audio = await analyzeAudio(file, tools, () => {});
  const motion = await analyzeMotion(file, tools, () => {});
  return { video, audio, motion, style: composeStyle(video, audio, motion, createdAt) };
}
