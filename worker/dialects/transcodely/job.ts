import type { JobView } from "../../jobs/job-state";

/**
 * The native job view as Transcodely's Job: the seed's fields in the seed's order, then
 * those of the protos' Job that Kiln has data for. Every field is written, unset ones
 * as null, "", 0 or [] (protojson's EmitUnpopulated); enums as their simple names, with
 * `unspecified` where Kiln's value has no Transcodely name (so protobuf clients still
 * parse it). Pure: webhooks render their snapshots with it too.
 */

/** An origin as a job names it (OriginRef); what the caller could look up of the job's origins. */
export interface OriginFacts {
  name: string;
  provider: string;
  bucket: string;
}

export interface RenderOptions {
  /** Fresh signed URLs (`signed_url`): Get and Watch only, never List. */
  signedUrls: boolean;
  /** The job's origins by id (names and buckets are not in the view); an origin not given shows its id only. */
  origins?: ReadonlyMap<string, OriginFacts>;
}

type ViewOutput = JobView["outputs"][number];
type ViewTask = JobView["tasks"][number];

const OUTPUT_FORMATS = ["mp4", "webm", "mkv", "mov", "hls", "dash", "adaptive"];
const VIDEO_CODECS = ["h264", "h265", "vp9", "av1"];
const RESOLUTIONS = ["480p", "720p", "1080p", "1440p", "2160p", "4320p"];
const QUALITIES = ["economy", "standard", "premium"];
const PROVIDERS = ["gcs", "s3", "r2"];

const named = (names: readonly string[], value: unknown) => (typeof value === "string" && names.includes(value) ? value : "unspecified");

/**
 * Where a managed output lives, as a URI that stays the same on every read (its
 * `signed_url` is the fetchable, expiring one). A bucket output's is its bucket URI.
 */
export const managedOutputUri = (jobId: string, outputId: string) => `kiln://jobs/${jobId}/outputs/${outputId}`;

export function transcodelyJob(view: JobView, options: RenderOptions) {
  const isThumbnail = (o: ViewOutput) => o.type === "thumbnail";
  const taskOf = (outputId: string) => view.tasks.find((t) => t.output_id === outputId);
  const uploadInput = typeof view.input === "string" && view.input.startsWith("vid_");
  const execution = view.execution;
  return {
    id: view.id,
    input_url: view.input !== null && !uploadInput ? view.input : "",
    input_origin: view.input_origin_id === null ? null : originRef(view.input_origin_id, view.input_path ?? "", options),
    output_origin: view.output_origin_id === null ? null : originRef(view.output_origin_id, view.output_path_template ?? "", options),
    status: view.status,
    progress: jobProgress(view, taskOf),
    priority: view.priority,
    input_metadata: inputMetadata(view.input_metadata),
    outputs: view.outputs.filter((o) => !isThumbnail(o)).map((o) => jobOutput(view.id, o, taskOf(o.id), options)),
    thumbnails: view.thumbnails.map(thumbnailSpec),
    total_estimated_cost: view.total_estimated_cost,
    total_actual_cost: view.total_actual_cost,
    error_code: view.error?.code ?? "",
    error_message: view.error?.message ?? "",
    webhook_url: view.webhook_url ?? "",
    metadata: Object.fromEntries(Object.entries(view.metadata).map(([k, v]) => [k, String(v)])),
    delayed_start: view.delayed_start,
    currency: view.currency,
    execution:
      execution.probe_duration_ms === null && execution.encode_duration_ms === null && execution.total_duration_ms === null
        ? null
        : { probe_duration_ms: execution.probe_duration_ms, encode_duration_ms: execution.encode_duration_ms, total_duration_ms: execution.total_duration_ms },
    created_at: view.created_at,
    updated_at: view.updated_at,
    probed_at: view.probed_at,
    started_at: view.started_at,
    completed_at: view.completed_at,
    confirmed_at: view.confirmed_at,
    object: "job" as const,
    input_video_id: uploadInput ? view.input : "",
    output_path_template: view.output_path_template,
    thumbnail_results: view.outputs.filter(isThumbnail).map((o, index) => thumbnailResult(view.id, o, index, options)),
    clip: view.clip === null ? null : { start_seconds: view.clip.start_seconds, end_seconds: view.clip.end_seconds },
  };
}

/** An output's progress: its encode task's, all of it once the output is done. */
const outputProgress = (output: ViewOutput, task: ViewTask | undefined) => (output.status === "completed" || output.status === "expired" ? 100 : Math.round(task?.progress ?? 0));

/**
 * Transcodely's job progress is the average of its outputs' (Kiln's own also counts the
 * probe and the export), so a confirmed job starts at 0 and a finished one is at 100.
 */
function jobProgress(view: JobView, taskOf: (outputId: string) => ViewTask | undefined): number {
  if (view.status === "completed") return 100;
  const outputs = view.outputs.filter((o) => o.type !== "thumbnail");
  if (outputs.length === 0) return Math.round(view.progress);
  return Math.round(outputs.reduce((sum, o) => sum + outputProgress(o, taskOf(o.id)), 0) / outputs.length);
}

function originRef(id: string, path: string, options: RenderOptions) {
  const facts = options.origins?.get(id);
  return { id, name: facts?.name ?? "", provider: named(PROVIDERS, facts?.provider), path, bucket: facts?.bucket ?? "" };
}

function inputMetadata(metadata: Record<string, unknown> | null) {
  if (!metadata) return null;
  const pick = (key: string) => (metadata[key] ?? null) as number | string | null;
  return {
    duration_ms: pick("duration_ms"),
    width: pick("width"),
    height: pick("height"),
    codec: pick("codec") ?? "",
    bitrate_kbps: pick("bitrate_kbps"),
    framerate: pick("framerate"),
    file_size_bytes: pick("file_size_bytes"),
  };
}

/** The storage URI of a finished output: its bucket URI, or the managed one. */
function storageUri(jobId: string, output: ViewOutput): string {
  if (output.status !== "completed") return "";
  return output.location ?? managedOutputUri(jobId, output.id);
}

/** `expired` (retention deleted the files) has no Transcodely name: the output did complete. */
const outputStatus = (status: ViewOutput["status"]) => (status === "expired" ? "completed" : status);

function jobOutput(jobId: string, output: ViewOutput, task: ViewTask | undefined, options: RenderOptions) {
  const spec = output.spec as Record<string, unknown>;
  const variants = Array.isArray(spec.video) ? (spec.video as Record<string, unknown>[]) : [];
  // A kind job (Ittybit's, or /v1's) keeps its codec and size among its options.
  const first = variants[0] ?? { codec: spec.codec ?? output.facts?.codec };
  const signed = output.status === "completed" ? (output.output_url ?? "") : "";
  return {
    id: output.id,
    type: named(OUTPUT_FORMATS, output.type),
    status: outputStatus(output.status),
    video: { codec: named(VIDEO_CODECS, first.codec), resolution: named(RESOLUTIONS, first.resolution), quality: named(QUALITIES, first.quality) },
    output_url: storageUri(jobId, output),
    file_size_bytes: output.file_size_bytes ?? 0,
    ...(options.signedUrls && { signed_url: signed }),
    object: "job_output" as const,
    progress: outputProgress(output, task),
    output_size_bytes: output.file_size_bytes,
    duration_seconds: output.facts?.duration_ms == null ? null : Math.round(output.facts.duration_ms / 1000),
    width: output.facts?.width ?? null,
    height: output.facts?.height ?? null,
    error_code: output.error?.code ?? "",
    error_message: output.error?.message ?? "",
    started_at: task?.started_at ?? null,
    completed_at: output.status === "completed" ? (task?.finished_at ?? null) : null,
    preset_id: typeof spec.preset === "string" && spec.preset.startsWith("pst_") ? spec.preset : null,
    preset_slug: typeof spec.preset === "string" && !spec.preset.startsWith("pst_") ? spec.preset : null,
  };
}

/** A native thumbnail spec in ThumbnailSpec's terms (the inverse of request.ts's translation). */
function thumbnailSpec(spec: JobView["thumbnails"][number]) {
  const times = (spec.times ?? []).filter((t): t is number => typeof t === "number");
  const mode = spec.sprite ? "sprite" : spec.interval !== undefined ? "interval" : (spec.times?.length ?? 0) > 1 ? "timestamps" : "single";
  return {
    mode,
    format: spec.format,
    width: spec.width ?? null,
    height: spec.height ?? null,
    timestamp: mode === "single" && times.length === 1 ? times[0]! : null,
    interval_seconds: spec.interval ?? null,
    timestamps: mode === "timestamps" ? times : [],
    sprite_columns: spec.columns ?? null,
  };
}

function thumbnailResult(jobId: string, output: ViewOutput, index: number, options: RenderOptions) {
  const spec = output.spec as { format?: string; sprite?: boolean; interval?: number; times?: unknown[] };
  const url = storageUri(jobId, output);
  return {
    storage_key: url.startsWith("kiln://") || url === "" ? "" : url.replace(/^[a-z0-9]+:\/\/[^/]+\//, ""),
    url,
    mode: spec.sprite ? "sprite" : spec.interval !== undefined ? "interval" : (spec.times?.length ?? 0) > 1 ? "timestamps" : "single",
    format: spec.format ?? "jpeg",
    width: output.facts?.width ?? 0,
    height: output.facts?.height ?? 0,
    index,
    ...(options.signedUrls && { signed_url: output.status === "completed" ? (output.output_url ?? "") : "" }),
  };
}
