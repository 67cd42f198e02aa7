import type { StyleConfig } from "../contract";
import { PipelineError } from "../errors";
import type { StageProgress, StyleAnalysis, StyleTools } from "./analysis";
import type { StyleComparison, StyleJson } from "./style-json";

/** PLACEHOLDER until application lands: what rendering needs and reports. */
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

export interface StylePlan {
  /** The ffmpeg argv that renders. */
  argv: string[];
}

export interface RenderResult {
  comparison: StyleComparison[];
  output: StyleAnalysis;
  shortened?: { wanted_seconds: number; rendered_seconds: number };
}

/** style_application: decides every filter and the cut list (may run short measuring passes). */
export async function planStyle(_request: RenderRequest, _progress: StageProgress): Promise<StylePlan> {
  throw new PipelineError("encode_failed", "style application is not built yet");
}

/** rendering: runs the plan, then measures the output and compares it with the source and the target. */
export async function renderStyle(_request: RenderRequest, _plan: StylePlan, _progress: StageProgress): Promise<RenderResult> {
  throw new PipelineError("encode_failed", "style application is not built yet");
}
