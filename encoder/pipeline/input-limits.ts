import type { InputMetadata, WorkOrder } from "../contract";
import { PipelineError } from "../errors";
import { FRAME_BUDGET_FPS } from "../ffmpeg/limits";

type Limits = Pick<WorkOrder["limits"], "max_duration_s">;

/**
 * The limits every engine holds a probed input to, before any decoding: each answers the
 * error to fail with, or null. `what` names the file ("The input", a template's name).
 */

/** Longer than the order allows. */
export function overDuration(metadata: Pick<InputMetadata, "duration_ms">, limits: Limits, what = "The input"): PipelineError | null {
  const seconds = metadata.duration_ms / 1000;
  if (seconds <= limits.max_duration_s) return null;
  return new PipelineError("input_too_large", `${what} lasts ${Math.round(seconds)} s; the limit is ${limits.max_duration_s} s`);
}

/**
 * More frames than the order's frame budget: a few bytes can declare millions of frames
 * (a decompression bomb), so the count is bounded by the duration limit at FRAME_BUDGET_FPS.
 */
export function overFrameBudget(metadata: Pick<InputMetadata, "duration_ms" | "framerate">, limits: Limits, what = "The input"): PipelineError | null {
  const seconds = metadata.duration_ms / 1000;
  const frames = seconds * (metadata.framerate ?? 0);
  const budget = limits.max_duration_s * FRAME_BUDGET_FPS;
  if (frames <= budget) return null;
  return new PipelineError("input_too_large", `${what} declares ${Math.round(frames)} frames (${Math.round(seconds)} s at ${metadata.framerate} fps); the limit is ${budget}`);
}
