import { type EncoderEvent, type OutputFacts, clipOutOfRange, matchesToolPattern } from "../../encoder/contract";
import { toolFileOutput } from "./plan";
import { type JobState, emptyStyleResult } from "./job-state";
import type { Placement, PlacementResult } from "./output-placement";
import type { JobError, Output, Task } from "./model";
import type { JobAction } from "./transitions";

type Place = (outputId: string, path: string) => PlacementResult;

/** What an event asks of the job as a whole, beyond its tasks and outputs. */
export type JobEffect =
  | { action: JobAction; error?: JobError }
  | { progress: number; stage: string | null }
  | { pause: true };

/** The planned task an event is about: encode events name theirs; stage events mean the stage's task. */
export function taskFor(job: JobState, stage: string, taskId: string | null): Task | undefined {
  if (taskId) return job.tasks.find((t) => t.id === taskId);
  return job.tasks.find((t) => t.kind === stage);
}

/** The outputs a task completes (an encode task its one, a tool pipeline's put one per file). */
function outputsOf(job: JobState, task: Task | undefined): Output[] {
  return task ? job.outputs.filter((o) => task.outputs.includes(o.id)) : [];
}

/**
 * Completes an output with what the encoder verified, where export signing placed its
 * main file (it placed the files the same way and refused what it could not place, so
 * this fails only for a main file the export could not have written).
 */
function completeOutput(job: JobState, facts: OutputFacts, place: Place, now: string): void {
  const output = job.outputs.find((o) => o.id === facts.output_id);
  if (!output) return;
  const placed = place(output.id, facts.main);
  if (!placed.ok) {
    output.status = "failed";
    output.error = { code: "export_failed", message: placed.problem };
    return;
  }
  output.status = "completed";
  output.file_size_bytes = facts.size_bytes;
  placeMain(output, placed.placement);
  output.playable_at ??= now;
  // The DASH manifest of an adaptive package, shown beside its master playlist (managed storage only).
  const manifest = facts.manifest && placed.placement.store === "managed" ? place(output.id, facts.manifest) : null;
  output.manifest_key = manifest?.ok && manifest.placement.store === "managed" ? manifest.placement.key : null;
  output.facts = { duration_ms: facts.duration_ms, width: facts.width, height: facts.height, codec: facts.codec, sha256: facts.sha256, files: facts.files.length };
  output.content_aware = facts.content_aware ?? null;
  output.error = null;
}

/** Where the output's main file is, for its URL: a managed key, or an object in a bucket. */
function placeMain(output: Output, placement: Placement): void {
  output.main_key = placement.store === "managed" ? placement.key : null;
  output.main_object = placement.store === "bucket" ? { bucket: placement.bucket, key: placement.key } : null;
}

/**
 * A package published as it is made can be played while its task runs: its master
 * playlist gets its URL now (once; the task's completion places it again). A master the
 * export could not place is left for the export to fail.
 */
function outputPlayable(job: JobState, event: Extract<EncoderEvent, { type: "output_playable" }>, place: Place, now: string): void {
  const task = job.tasks.find((t) => t.id === event.task_id);
  const output = job.outputs.find((o) => o.id === event.output_id);
  if (!task || !output || !task.outputs.includes(output.id) || output.status !== "processing" || output.playable_at) return;
  const placed = place(output.id, event.main);
  if (!placed.ok) return;
  placeMain(output, placed.placement);
  output.playable_at = now;
}

function mark(task: Task | undefined, status: Task["status"], now: string, error: JobError | null = null): void {
  if (!task) return;
  task.status = status;
  task.updated_at = now;
  if (status === "running") task.started_at ??= now;
  if (status === "completed" || status === "failed" || status === "canceled") task.finished_at = now;
  if (status === "completed") task.progress = 100;
  task.error = error;
}

/**
 * The files a put's patterns matched, announced before they are exported: each becomes
 * an output of the task, as a planned file is. Only names one of the task's own patterns
 * matches are taken, under ids no other output holds; an output announced again (a later
 * attempt, a restart) is the same output and starts over.
 */
function discoverOutputs(job: JobState, event: Extract<EncoderEvent, { type: "outputs_discovered" }>): void {
  const task = job.tasks.find((t) => t.id === event.task_id);
  if (!task || task.kind !== "storage:put" || task.status !== "running") return;
  const patterns = ((task.options.files as string[] | undefined) ?? []).filter((f) => /[*?]/.test(f));
  for (const { output_id, file } of event.outputs) {
    if (!patterns.some((p) => matchesToolPattern(p, file))) continue;
    const known = job.outputs.find((o) => o.id === output_id);
    if (known) {
      if (task.outputs.includes(known.id) && known.spec.file === file) Object.assign(known, { status: "processing", error: null });
      continue;
    }
    if (job.outputs.some((o) => task.outputs.includes(o.id) && o.spec.file === file)) continue;
    job.outputs.push({ ...toolFileOutput(file, task.options, true, output_id), status: "processing" });
    task.outputs.push(output_id);
  }
}

/**
 * Applies one encoder event to the job's tasks and outputs and returns what it means
 * for the job: state-machine actions, progress, or a pause for confirmation. The
 * caller applies the actions through the transition table, so an event can never
 * move a job along an illegal edge.
 */
export function applyEncoderEvent(job: JobState, event: EncoderEvent, place: Place, now: string): JobEffect[] {
  switch (event.type) {
    case "heartbeat":
    case "task_log":
      // A task's log lines are the JobDO's to store (task-log.ts), apart from the job.
      return [];
    case "metadata": {
      job.input_metadata = event.input_metadata;
      const clip = job.spec.clip;
      if (!clip || !clipOutOfRange(clip, event.input_metadata.duration_ms)) return [];
      // An end past the input's is clamped (clippedInput, the encoder); a start there leaves nothing to make.
      const error = { code: "input_clip_out_of_range", message: `The clip starts at ${clip.start_seconds} s, at or past the end of the input (${event.input_metadata.duration_ms / 1000} s)` };
      mark(taskFor(job, "probe", null), "failed", now, error);
      return [{ action: "fail", error }];
    }
    case "progress": {
      // One ffmpeg run makes every output of an outputs job: its progress names no task and is theirs alike.
      const shared = event.stage === "encode" && event.task_id === null;
      const tasks = shared ? job.tasks.filter((t) => t.kind === "encode") : [taskFor(job, event.stage, event.task_id)];
      for (const task of tasks) {
        if (task && task.status === "running") task.progress = Math.max(task.progress, Math.round(event.task_progress));
      }
      return [{ progress: event.job_progress, stage: event.stage }];
    }
    case "task_started": {
      const task = taskFor(job, event.stage, event.task_id);
      mark(task, "running", now);
      if (event.task_id) for (const output of outputsOf(job, task)) if (output.status === "pending") output.status = "processing";
      const effects: JobEffect[] = [{ progress: job.progress, stage: event.stage }];
      // A tool pipeline or a style job has no probe to wait for: its first step starts the processing.
      const processing = task !== undefined && task.engine !== "transcode" ? job.status === "pending" || job.status === "probing" : event.stage === "encode" && job.status === "probing";
      if (processing) effects.unshift({ action: "start_processing" });
      if (job.status === "pending") effects.unshift({ action: "start_probe" });
      return effects;
    }
    case "task_completed": {
      const task = taskFor(job, event.stage, event.task_id);
      mark(task, "completed", now);
      // A run again (a lost attempt) fetches again: its bytes replace the earlier run's.
      if (task && event.bytes_in !== undefined) task.bytes_in = event.bytes_in;
      if (event.output) completeOutput(job, event.output, place, now);
      if (event.stage !== "probe") return [];
      // Delayed start: nothing is encoded before the job is confirmed.
      if (job.spec.delayed_start && job.confirmed_at === null) return [{ action: "await_confirmation" }, { pause: true }];
      return job.status === "probing" ? [{ action: "start_processing" }] : [];
    }
    case "task_failed": {
      const error = { code: event.error.code, message: event.error.message };
      const task = taskFor(job, event.stage, event.task_id);
      mark(task, event.error.code === "canceled" ? "canceled" : "failed", now, error);
      if (event.task_id) {
        for (const output of outputsOf(job, task)) {
          if (output.status === "completed") continue;
          output.status = "failed";
          output.error = error;
        }
        // An encode task fails its outputs alone (job_completed decides between partial
        // and failed); a tool pipeline or a style job stops at a failed step, and the job with it.
        if (task?.engine === "transcode") return [];
      }
      return event.error.code === "canceled" ? [] : [{ action: "fail", error }];
    }
    case "output_completed":
      // One file of a put step, stored and verified; the step itself goes on.
      completeOutput(job, event.output, place, now);
      return [];
    case "output_playable":
      outputPlayable(job, event, place, now);
      return [];
    case "outputs_discovered":
      discoverOutputs(job, event);
      return [];
    case "style_measured": {
      const { style_json, source_style_json, output_style_json, comparison, shortened } = event;
      job.style = {
        ...(job.style ?? emptyStyleResult),
        ...(style_json ? { style_json } : {}),
        ...(source_style_json ? { source_style_json } : {}),
        ...(output_style_json ? { output_style_json } : {}),
        ...(comparison ? { comparison } : {}),
        ...(shortened ? { shortened } : {}),
      };
      return [];
    }
    case "task_skipped": {
      const task = job.tasks.find((t) => t.id === event.task_id);
      if (!task || task.status !== "waiting") return [];
      mark(task, "skipped", now);
      for (const output of outputsOf(job, task)) {
        if (output.status === "pending") Object.assign(output, { status: "canceled", error: { code: "task_skipped", message: "The task that makes this output was skipped" } });
      }
      return [];
    }
    case "job_completed": {
      // The outputs of skipped tasks were never to be made: the job is judged by the rest.
      const skipped = new Set(job.tasks.filter((t) => t.status === "skipped").flatMap((t) => t.outputs));
      const expected = job.outputs.filter((o) => !skipped.has(o.id));
      const done = expected.filter((o) => o.status === "completed").length;
      if (done === expected.length) return [{ action: "complete" }];
      if (done > 0) return [{ action: "complete_partially" }];
      const firstError = job.outputs.find((o) => o.error)?.error;
      return [{ action: "fail", error: firstError ?? { code: "encode_failed", message: "No output was produced" } }];
    }
  }
}
