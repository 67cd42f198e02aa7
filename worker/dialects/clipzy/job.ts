import { type StyleStage, styleStages } from "../../../encoder/contract";
import type { JobView } from "../../jobs/job-state";
import type { JobStatus } from "../../jobs/model";

/**
 * A native style job as Clipzy's JobResponse and JobDetailResponse (seed 001; CZ-CODE
 * app/schemas/job.py). Pure, so a webhook can render the snapshot it carries.
 */

export type ClipzyJobStatus = "queued" | "processing" | "completed" | "failed" | "cancelled";

/** Nothing running yet is `queued`; a style job has a single output, so a `partial` one made nothing and `failed`. */
export const clipzyJobStatus: Record<JobStatus, ClipzyJobStatus> = {
  pending: "queued",
  probing: "queued",
  awaiting_confirmation: "queued",
  processing: "processing",
  completed: "completed",
  failed: "failed",
  canceled: "cancelled",
  partial: "failed",
};

/** Clipzy's documented progress bands, one per stage (docs: 1–20, 21–35, 36–55, 56–65, 66–85, 86–99; 100 when completed). */
const bands: Record<StyleStage, readonly [number, number]> = {
  video_analysis: [1, 20],
  audio_analysis: [21, 35],
  motion_analysis: [36, 55],
  style_extraction: [56, 65],
  style_application: [66, 85],
  rendering: [86, 99],
};

type Task = JobView["tasks"][number];
const isStage = (kind: string): kind is StyleStage => (styleStages as readonly string[]).includes(kind);
const stageTasks = (view: JobView): (Task & { kind: StyleStage })[] => view.tasks.filter((t): t is Task & { kind: StyleStage } => isStage(t.kind));

/**
 * How far the job got, in Clipzy's bands: a finished stage counts its band's top, a
 * started one its band's floor plus its own progress across the band. Stages run one
 * after another and a task's progress only grows, so the figure never goes back.
 */
export function progressPercent(view: JobView): number {
  if (view.status === "completed") return 100;
  let reached = 0;
  for (const task of stageTasks(view)) {
    const [low, high] = bands[task.kind];
    if (task.status === "completed") reached = Math.max(reached, high);
    else if (task.started_at !== null) reached = Math.max(reached, low + Math.floor(((high - low) * task.progress) / 100));
  }
  return reached;
}

/**
 * The stage a processing job is in: the running stage task, or between two tasks the
 * last one that finished (its band is where the progress stands); null in any other status.
 */
export function currentStage(view: JobView): StyleStage | null {
  if (view.status !== "processing") return null;
  const tasks = stageTasks(view);
  const running = tasks.find((t) => t.status === "running");
  if (running) return running.kind;
  return tasks.filter((t) => t.status === "completed").at(-1)?.kind ?? null;
}

/** JobResponse: the job's state and times. */
export function clipzyJob(view: JobView) {
  return {
    job_id: view.id,
    video_id: view.input,
    status: clipzyJobStatus[view.status],
    progress_percent: progressPercent(view),
    current_stage: currentStage(view),
    created_at: view.created_at,
    updated_at: view.updated_at,
    started_at: view.started_at,
    completed_at: view.completed_at,
    template_video_id: view.style?.template ?? null,
  };
}
export type ClipzyJob = ReturnType<typeof clipzyJob>;

/** Failure codes in Clipzy's upper-case style (`job_timeout` is its `JOB_TIMEOUT`); `stage` is the stage task that failed. */
function jobError(view: JobView) {
  if (view.error === null) return null;
  const failed = stageTasks(view).find((t) => t.status === "failed");
  return { code: view.error.code.toUpperCase(), message: view.error.message, stage: failed?.kind ?? null };
}

function processingTime(view: JobView): number | null {
  if (view.started_at === null || view.completed_at === null) return null;
  return (Date.parse(view.completed_at) - Date.parse(view.started_at)) / 1000;
}

/** The rendered video's signed URL once the job completed with it; null otherwise (and for a job that only extracted). */
function outputVideoUrl(view: JobView): string | null {
  if (view.status !== "completed") return null;
  return view.outputs.find((o) => o.status === "completed")?.output_url ?? null;
}

/**
 * JobDetailResponse: JobResponse with the result. Kiln adds `style_comparison` (how far
 * rendering moved each style dimension, measured on the output) and `output_shortened`
 * (set when the source was too short for the template's cut rhythm).
 */
export function clipzyJobDetail(view: JobView) {
  return {
    ...clipzyJob(view),
    style_json: view.style?.style_json ?? null,
    output_video_url: outputVideoUrl(view),
    error: jobError(view),
    processing_time_seconds: processingTime(view),
    style_comparison: view.style?.comparison ?? null,
    output_shortened: view.style?.shortened ?? null,
  };
}
export type ClipzyJobDetail = ReturnType<typeof clipzyJobDetail>;
