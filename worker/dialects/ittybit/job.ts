import type { JobView } from "../../jobs/job-state";
import type { JobStatus, TaskStatus } from "../../jobs/model";

/**
 * The native job as Ittybit's job object, field for field in Ittybit's order: its
 * statuses (`cancelled`, two Ls), Unix-millisecond timestamps, `{kind, message}` errors,
 * and files with the URLs the view signed afresh. Pure, so a webhook can render the
 * snapshot it carries.
 */

export type IttybitJobStatus = "queued" | "processing" | "succeeded" | "failed" | "cancelled";
export type IttybitTaskStatus = "waiting" | IttybitJobStatus;

/**
 * `queued`: nothing is running (not yet started, or a delayed start waiting for its
 * confirmation); `processing`: a task is running; `partial` (some outputs failed) is
 * Ittybit's `failed`.
 */
export const ittybitJobStatus: Record<JobStatus, IttybitJobStatus> = {
  pending: "queued",
  awaiting_confirmation: "queued",
  probing: "processing",
  processing: "processing",
  completed: "succeeded",
  failed: "failed",
  canceled: "cancelled",
  partial: "failed",
};

export const ittybitTaskStatus: Record<TaskStatus, IttybitTaskStatus> = {
  waiting: "waiting",
  running: "processing",
  completed: "succeeded",
  failed: "failed",
  canceled: "cancelled",
  // Only a tool pipeline skips tasks, and Ittybit makes none.
  skipped: "cancelled",
};

type Task = JobView["tasks"][number];
type Output = JobView["outputs"][number];

export interface IttybitFile {
  object: "file";
  kind: "video" | "audio" | "image";
  url: string | null;
  format: string | null;
  width: number | null;
  height: number | null;
  /** Seconds; null for a still image. */
  duration: number | null;
}

interface ExternalFile {
  object: "external_file";
  url: string | null;
}

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));
const ittybitError = (error: { code: string; message: string } | null) => (error === null ? null : { kind: error.code, message: error.message });

const imageFormats = new Set(["jpeg", "jpg", "png", "webp", "avif", "gif", "thumbnail"]);
const audioFormats = new Set(["mp3", "aac", "m4a", "ogg", "opus", "wav", "flac"]);

function fileKind(format: string | null, width: number | null | undefined): IttybitFile["kind"] {
  if (format !== null && imageFormats.has(format)) return "image";
  if ((format !== null && audioFormats.has(format)) || width === null) return "audio";
  return "video";
}

/** A finished output as a file: the signed URL (a bucket's presigned one, else its s3:// location). */
function outputFile(output: Output): IttybitFile {
  const format = typeof output.spec.format === "string" ? output.spec.format : output.type;
  const kind = fileKind(format, output.facts?.width);
  const duration = output.facts?.duration_ms;
  return {
    object: "file",
    kind,
    url: output.output_url ?? output.location,
    format,
    width: output.facts?.width ?? null,
    height: output.facts?.height ?? null,
    duration: kind === "image" || duration === null || duration === undefined ? null : duration / 1000,
  };
}

interface ProbedInput {
  duration_ms: number;
  width: number | null;
  height: number | null;
}

/** The input as probed; its format is what its name ends with, since a probe reports codecs, not containers. */
function inputFile(view: JobView): IttybitFile | null {
  const probed = view.input_metadata as ProbedInput | null;
  if (probed === null) return null;
  const name = (view.input ?? "").split(/[?#]/)[0]!.split("/").pop() ?? "";
  const extension = /\.([a-z0-9]{1,5})$/i.exec(name)?.[1]?.toLowerCase() ?? null;
  const kind = probed.width === null ? "audio" : probed.duration_ms === 0 ? "image" : "video";
  return {
    object: "file",
    kind,
    url: view.input,
    format: extension,
    width: probed.width,
    height: probed.height,
    duration: kind === "image" ? null : probed.duration_ms / 1000,
  };
}

/**
 * What a task reads and writes once it has started, from the task graph: probe and
 * import fetch the external input and make the input file (its probed facts); an encode
 * reads that file and makes its output; export reads and stores what the encodes made.
 */
function taskFiles(task: Task, view: JobView): { input: ExternalFile | IttybitFile | null; output: IttybitFile | null } {
  if (task.status === "waiting") return { input: null, output: null };
  const filesOf = (ids: readonly string[]) => view.outputs.filter((o) => ids.includes(o.id) && o.status === "completed").map(outputFile);
  const fetches = task.kind === "probe" || task.kind === "import";
  const external: ExternalFile = { object: "external_file", url: view.input };
  const source = inputFile(view);
  const read = filesOf(task.inputs)[0] ?? null;
  const input = task.inputs.includes("input") ? (fetches ? external : (source ?? external)) : read;
  const done = task.status === "completed";
  const output = filesOf(task.outputs)[0] ?? (done && fetches ? source : done && task.kind === "export" ? read : null);
  return { input, output };
}

function ittybitTask(task: Task, view: JobView) {
  const { input, output } = taskFiles(task, view);
  return {
    id: task.id,
    object: "task" as const,
    kind: task.kind,
    input,
    // A kind job's options are the job's; its tasks carry none of their own (as Ittybit shows them).
    options: task.kind === view.kind ? {} : task.options,
    output,
    status: ittybitTaskStatus[task.status],
    progress: task.status === "running" ? task.progress : null,
    error: ittybitError(task.error),
    created_at: ms(task.created_at)!,
    started_at: ms(task.started_at),
    finished_at: ms(task.finished_at),
    updated_at: ms(task.updated_at)!,
  };
}

/**
 * The job's `output`: the result's URL once it succeeded (managed storage's signed URL,
 * a bucket's s3:// location); before that, the destination it was given, if any.
 */
function jobOutput(view: JobView): string | null {
  const result = view.outputs.find((o) => o.status === "completed");
  if (view.status === "completed" && result) return result.location ?? result.output_url;
  return view.output;
}

export function ittybitJob(view: JobView) {
  return {
    id: view.id,
    object: "job" as const,
    kind: view.kind,
    input: view.input,
    output: jobOutput(view),
    options: view.requested_options ?? {},
    metadata: view.metadata,
    status: ittybitJobStatus[view.status],
    error: ittybitError(view.error),
    tasks: view.tasks.map((task) => ittybitTask(task, view)),
    created_at: ms(view.created_at)!,
    started_at: ms(view.started_at),
    finished_at: ms(view.completed_at),
    updated_at: ms(view.updated_at)!,
  };
}
export type IttybitJob = ReturnType<typeof ittybitJob>;
