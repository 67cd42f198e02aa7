import { PipelineError } from "../errors";
import type { StyleJson } from "./style-json";

/** What the style analyses run with. */
export interface StyleTools {
  ffmpeg: string;
  ffprobe: string;
  signal: AbortSignal;
}

/** A stage's share done, 0–1. */
export type StageProgress = (fraction: number) => void;

/** PLACEHOLDER until the extraction lands: the measures of the video_analysis stage. */
export type VideoAnalysis = Record<string, unknown>;
export type AudioAnalysis = Record<string, unknown>;
export type MotionAnalysis = Record<string, unknown>;

/** Everything measured of one video, and the StyleJSON composed from it. */
export interface StyleAnalysis {
  video: VideoAnalysis;
  audio: AudioAnalysis;
  motion: MotionAnalysis;
  style: StyleJson;
}

const notYet = () => new PipelineError("encode_failed", "style analysis is not built yet");

export async function analyzeVideo(_file: string, _tools: StyleTools, _progress: StageProgress): Promise<VideoAnalysis> {
  throw notYet();
}
export async function analyzeAudio(_file: string, _tools: StyleTools, _progress: StageProgress): Promise<AudioAnalysis> {
  throw notYet();
}
export async function analyzeMotion(_file: string, _tools: StyleTools, _progress: StageProgress): Promise<MotionAnalysis> {
  throw notYet();
}
export function composeStyle(_video: VideoAnalysis, _audio: AudioAnalysis, _motion: MotionAnalysis, _createdAt: string): StyleJson {
  throw notYet();
}
/** All stages of one video, one after another: what rendering measures its output with. */
export async function analyzeStyle(file: string, tools: StyleTools, createdAt: string): Promise<StyleAnalysis> {
  const [video, audio, motion] = [await analyzeVideo(file, tools, () => {}), await analyzeAudio(file, tools, () => {}), await analyzeMotion(file, tools, () => {})];
  return { video, audio, motion, style: composeStyle(video, audio, motion, createdAt) };
}
