import type { EncoderEvent } from "../../encoder/contract";
import type { JobState } from "./job-state";
import type { PlacementResult } from "./output-placement";
import type { JobError, Task } from "./model";
import type { JobAction } from "./transitions";

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
 * Applies one encoder event to the job's tasks and outputs and returns what it means
 * for the job: state-machine actions, progress, or a pause for confirmation. The
 * caller applies the actions through the transition table, so an event can never
 * move a job along an illegal edge.
 */
export function applyEncoderEvent(job: JobState, event: EncoderEvent, place: (outputId: string, path: string) => PlacementResult, now: string): JobEffect[] {
  switch (event.type) {
    case "heartbeat":
      return [];
    case "metadata":
      job.input_metadata = event.input_metadata;
      return [];
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
      const output = event.task_id ? job.outputs.find((o) => o.id === task?.output_id) : undefined;
      if (output?.status === "pending") output.status = "processing";
      const effects: JobEffect[] = [{ progress: job.progress, stage: event.stage }];
      if (job.status === "pending") effects.unshift({ action: "start_probe" });
      if (event.stage === "encode" && job.status === "probing") effects.unshift({ action: "start_processing" });
      return effects;
    }
    case "task_completed": {
      mark(taskFor(job, event.stage, event.task_id), "completed", now);
      if (event.output) {
        const output = job.outputs.find((o) => o.id === event.output!.output_id);
        // Export signing placed the files the same way and refused what it could not
        // place, so this fails only for a main file the export could not have written.
        const placed = output ? place(output.id, event.output.main) : null;
        if (output && placed && !placed.ok) {
          output.status = "failed";
          output.error = { code: "export_failed", message: placed.problem };
        } else if (output && placed?.ok) {
          const { placement } = placed;
          output.status = "completed";
          output.file_size_bytes = event.output.size_bytes;
          output.main_key = placement.store === "managed" ? placement.key : null;
          output.main_object = placement.store === "bucket" ? { bucket: placement.bucket, key: placement.key } : null;
          // The DASH manifest of an adaptive package, shown beside its master playlist (managed storage only).
          const manifest = event.output.manifest && placement.store === "managed" ? place(output.id, event.output.manifest) : null;
          output.manifest_key = manifest?.ok && manifest.placement.store === "managed" ? manifest.placement.key : null;
          output.facts = {
            duration_ms: event.output.duration_ms,
            width: event.output.width,
            height: event.output.height,
            codec: event.output.codec,
            sha256: event.output.sha256,
            files: event.output.files.length,
          };
          output.content_aware = event.output.content_aware ?? null;
          output.error = null;
        }
      }
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
        const output = job.outputs.find((o) => o.id === task?.output_id);
        if (output) {
          output.status = "failed";
          output.error = error;
        }
        return [];
      }
      return event.error.code === "canceled" ? [] : [{ action: "fail", error }];
    }
    case "task_log":
    case "output_completed":
      // Tool pipelines' events: the Worker does not run tool pipelines yet.
      return [];
    case "job_completed": {
      const done = job.outputs.filter((o) => o.status === "completed").length;
      if (done === job.outputs.length) return [{ action: "complete" }];
      if (done > 0) return [{ action: "complete_partially" }];
      const firstError = job.outputs.find((o) => o.error)?.error;
      return [{ action: "fail", error: firstError ?? { code: "encode_failed", message: "No output was produced" } }];
    }
  }
}
