import type { EncoderEvent } from "../../encoder/contract";
import type { Output, Task } from "../jobs/model";

/**
 * What the encoder spent on a job, measured by the JobDO as events arrive (its own
 * clock): each task's running time over every attempt, and the last attempt's probe
 * and encode spans. Kept apart from the tasks' timestamps, which span attempts (a
 * delayed-start job probes, waits for confirmation, then probes again).
 */
export interface ExecutionMarks {
  attempt: number;
  probe_started_ms: number | null;
  probe_duration_ms: number | null;
  encode_started_ms: number | null;
  encode_finished_ms: number | null;
  /** Task id → when its current run started. */
  running: Record<string, number>;
  /** Task id → milliseconds it has run, every attempt together. */
  compute_ms: Record<string, number>;
}

export function newExecutionMarks(): ExecutionMarks {
  return { attempt: 0, probe_started_ms: null, probe_duration_ms: null, encode_started_ms: null, encode_finished_ms: null, running: {}, compute_ms: {} };
}

/** Ends every open run (the job stopped, or its attempt was lost), charging the time so far. */
export function closeRuns(marks: ExecutionMarks, nowMs: number): void {
  for (const [taskId, started] of Object.entries(marks.running)) marks.compute_ms[taskId] = (marks.compute_ms[taskId] ?? 0) + Math.max(0, nowMs - started);
  marks.running = {};
}

/** Notes one encoder event of `attempt`; `taskId` is the planned task it concerns. */
export function recordExecution(marks: ExecutionMarks, event: EncoderEvent, taskId: string | undefined, nowMs: number): void {
  if (event.attempt !== marks.attempt) {
    closeRuns(marks, nowMs);
    Object.assign(marks, { attempt: event.attempt, probe_started_ms: null, encode_started_ms: null, encode_finished_ms: null });
  }
  if (event.type !== "task_started" && event.type !== "task_completed" && event.type !== "task_failed") return;
  if (event.type === "task_started") {
    if (taskId) marks.running[taskId] = nowMs;
    if (event.stage === "probe") marks.probe_started_ms = nowMs;
    if (event.stage === "encode") marks.encode_started_ms ??= nowMs;
    return;
  }
  if (taskId && marks.running[taskId] !== undefined) {
    marks.compute_ms[taskId] = (marks.compute_ms[taskId] ?? 0) + Math.max(0, nowMs - marks.running[taskId]!);
    delete marks.running[taskId];
  }
  if (event.stage === "probe" && event.type === "task_completed" && marks.probe_started_ms !== null) marks.probe_duration_ms = nowMs - marks.probe_started_ms;
  if (event.stage === "encode" && event.task_id !== null) marks.encode_finished_ms = nowMs;
}

/**
 * The job's `execution`: the last probe, the last attempt's encode (first encode
 * task started to last one finished) and the time from start to end less any wait
 * for confirmation.
 */
export function executionView(marks: ExecutionMarks, job: { started_at: string | null; probed_at: string | null; confirmed_at: string | null; completed_at: string | null }) {
  const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));
  const [started, probed, confirmed, completed] = [ms(job.started_at), ms(job.probed_at), ms(job.confirmed_at), ms(job.completed_at)];
  const waited = probed !== null && confirmed !== null ? Math.max(0, confirmed - probed) : 0;
  return {
    probe_duration_ms: marks.probe_duration_ms,
    encode_duration_ms: marks.encode_started_ms !== null && marks.encode_finished_ms !== null ? Math.max(0, marks.encode_finished_ms - marks.encode_started_ms) : null,
    total_duration_ms: started !== null && completed !== null ? Math.max(0, completed - started - waited) : null,
  };
}

/**
 * The bytes a task read: a transcode job's import the probed input, a tool pipeline's
 * fetch what the encoder reported writing (never both: the transcode engine reports no
 * bytes, the tools engine probes nothing).
 */
export function taskBytesIn(task: Task, input: { file_size_bytes: number } | null): number {
  if (task.kind === "import" && task.status === "completed" && input) return input.file_size_bytes;
  return task.bytes_in ?? 0;
}

const minutes = (ms: number) => Math.round((ms / 60_000) * 10_000) / 10_000;
const gigabytes = (bytes: number) => Math.round((bytes / 1e9) * 1e6) / 1e6;

/**
 * Usage per task and for the job (the sum of its tasks), in VTK's terms: compute units
 * (1 CU = one minute of an encoder slot running the task), video minutes in (the input,
 * counted once, on import; a clipped job's clip, which is all it decodes) and out (each output's measured duration, on the task that
 * completes it), and gigabytes in (the input, or what a tool pipeline's fetches wrote) and out (the outputs' files).
 */
export function usageView(marks: ExecutionMarks, tasks: readonly Task[], outputs: readonly Output[], input: { duration_ms: number; file_size_bytes: number } | null) {
  const perTask = tasks.map((task) => {
    const made = outputs.filter((o) => task.outputs.includes(o.id) && o.status === "completed");
    const imported = task.kind === "import" && task.status === "completed" && input;
    return {
      task_id: task.id,
      kind: task.kind,
      compute_units: minutes(marks.compute_ms[task.id] ?? 0),
      video_minutes_in: imported ? minutes(input.duration_ms) : 0,
      video_minutes_out: minutes(made.reduce((sum, o) => sum + (o.facts?.duration_ms ?? 0), 0)),
      gb_in: gigabytes(taskBytesIn(task, input)),
      gb_out: gigabytes(made.reduce((sum, o) => sum + (o.file_size_bytes ?? 0), 0)),
    };
  });
  const total = (field: "compute_units" | "video_minutes_in" | "video_minutes_out" | "gb_in" | "gb_out", round: (n: number) => number) =>
    round(perTask.reduce((sum, t) => sum + t[field], 0));
  const sum4 = (n: number) => Math.round(n * 10_000) / 10_000;
  const sum6 = (n: number) => Math.round(n * 1e6) / 1e6;
  return {
    compute_units: total("compute_units", sum4),
    video_minutes_in: total("video_minutes_in", sum4),
    video_minutes_out: total("video_minutes_out", sum4),
    gb_in: total("gb_in", sum6),
    gb_out: total("gb_out", sum6),
    tasks: perTask,
  };
}
