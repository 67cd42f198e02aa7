import { type PresetLookup, applyPreset } from "../presets/resolve";
import { type Kind, type KindOptions, defaultKindFormat, defaultVideoCodec, kindOptionSchemas } from "../api/schemas/kinds";
import type { CreateJobRequest, PriorityName } from "../api/schemas/create-job";
import type { OutputSpec } from "../api/schemas/outputs";
import type { ThumbnailSpec } from "../api/schemas/thumbnails";
import { jobClip } from "../api/schemas/clip";
import type { Clip, StyleConfig } from "../../encoder/contract";
import { type ToolName, type ToolTask, toolOf } from "../api/schemas/tools";
import type { WebhookEventType } from "../webhooks/message";
import type { Dialect } from "./dialects";
import type { JobStorage, StorageFields } from "../origins/buckets";

/**
 * The native job: what a request (in any dialect) becomes once validated. Exactly one
 * of the four forms carries the work; everything else is shared.
 */
export type JobWork =
  | {
      mode: "kind";
      kind: Kind;
      options: KindWork["options"];
      /** The options as the request wrote them, before defaults (absent in jobs stored before it); Ittybit echoes these. */
      requested_options?: Record<string, unknown>;
    }
  | { mode: "outputs"; outputs: RequestedOutput[] }
  | { mode: "tasks"; tasks: ToolTask[] }
  | { mode: "style"; template: string | null; config: StyleConfig };

export interface KindWork {
  kind: Kind;
  options: { format: string } & Record<string, unknown>;
}
/** An outputs[] entry as the job keeps it: presets merged, so its type is known. */
export type RequestedOutput = OutputSpec & { type: NonNullable<OutputSpec["type"]> };

/**
 * The request's work with the three transcoding forms present (at most one not empty), so the few readers
 * of the request as written (the planner, the bucket fields, content keys, the view's
 * `kind`) need not branch on the form; everything else reads the plan.
 */
export function requestedWork(spec: JobWork): { kind: KindWork | null; outputs: RequestedOutput[]; tasks: ToolTask[] } {
  switch (spec.mode) {
    case "kind":
      return { kind: { kind: spec.kind, options: spec.options }, outputs: [], tasks: [] };
    case "outputs":
      return { kind: null, outputs: spec.outputs, tasks: [] };
    case "tasks":
      return { kind: null, outputs: [], tasks: spec.tasks };
    case "style":
      return { kind: null, outputs: [], tasks: [] };
  }
}

/** A job as requested, before its buckets are resolved (see storageFields). */
export type RequestedJob = JobWork & {
  input: string | null;
  input_origin_id: string | null;
  input_path: string | null;
  tags: string[];
  metadata: Record<string, string | number | boolean>;
  priority: PriorityName;
  webhook_url: string | null;
  webhook_events: WebhookEventType[];
  delayed_start: boolean;
  output: string | null;
  output_origin_id: string | null;
  output_path_template: string | null;
  thumbnails: ThumbnailSpec[];
  /**
   * The part of the input an outputs job covers, every output and thumbnail alike
   * (jobClip: `{0, 0}` is none). Absent in jobs stored before it, null for none.
   */
  clip?: Clip | null;
  bundle: string | null;
  region: string | null;
  /**
   * The front-end that created the job, when it was a vendor dialect: its webhooks are
   * delivered in that vendor's shape and signature. Absent (older jobs) or null: native.
   */
  dialect?: Dialect | null;
};

export type JobSpec = RequestedJob & {
  /** The buckets behind input_origin_id, output_origin_id and bucket URIs, resolved at creation (names only, no credentials). */
  storage: JobStorage;
};

/** VTK counts 1 (highest) to 10 (lowest); the native API has three tiers. */
export function priorityFromRank(rank: number): PriorityName {
  if (rank <= 3) return "premium";
  if (rank <= 7) return "standard";
  return "economy";
}

function toWork(request: CreateJobRequest, presets: PresetLookup): JobWork {
  if (request.kind !== undefined) {
    const options: KindOptions = kindOptionSchemas[request.kind].parse(request.options ?? {});
    const format = options.format ?? defaultKindFormat[request.kind];
    const withDefaults =
      request.kind === "video"
        ? { ...options, format, codec: (options as { codec?: string }).codec ?? defaultVideoCodec[format as keyof typeof defaultVideoCodec] }
        : { ...options, format };
    return { mode: "kind", kind: request.kind, options: withDefaults, requested_options: request.options ?? {} };
  }
  if (request.outputs !== undefined) {
    return {
      mode: "outputs",
      outputs: request.outputs.map((output) => applyPreset(output, presets)),
    };
  }
  if (request.style !== undefined) return { mode: "style", template: request.style.template ?? null, config: request.style.config ?? {} };
  return { mode: "tasks", tasks: request.tasks! };
}

/**
 * The native job for a validated request, with `presets` (what resolvePresets found for
 * its outputs) merged in; its buckets are resolved from it afterwards (see storageFields).
 */
export function toJobSpec(request: CreateJobRequest, presets: PresetLookup = new Map()): RequestedJob {
  const tags: string[] = [];
  for (const tag of request.tags ?? []) if (!tags.some((t) => t.toLowerCase() === tag.toLowerCase())) tags.push(tag);
  const priority = typeof request.priority === "number" ? priorityFromRank(request.priority) : (request.priority ?? "standard");
  return {
    ...toWork(request, presets),
    input: request.input ?? null,
    input_origin_id: request.input_origin_id ?? null,
    input_path: request.input_path ?? null,
    tags,
    metadata: request.metadata ?? {},
    priority,
    webhook_url: request.webhook_url ?? null,
    webhook_events: request.webhook_events ?? ["job.completed", "job.failed", "job.canceled", "job.partial"],
    delayed_start: request.delayed_start ?? false,
    output: request.output ?? null,
    output_origin_id: request.output_origin_id ?? null,
    output_path_template: request.output_path_template ?? null,
    thumbnails: request.thumbnails ?? [],
    clip: jobClip(request.clip),
    bundle: request.bundle ?? null,
    region: request.region ?? null,
  };
}

/**
 * The bucket fields of a job for resolveJobStorage: subtitle sources from its outputs
 * (presets merged), and the locations its tool pipeline reads from and writes to.
 */
export function storageFields(spec: RequestedJob): StorageFields {
  const { outputs, tasks } = requestedWork(spec);
  const locations = (...tools: ToolName[]) =>
    tasks.filter((t) => (tools as string[]).includes(toolOf(t.tool).name)).map((t) => (t.parameters as { location: string }).location);
  return {
    ...spec,
    subtitle_sources: outputs.flatMap((o) => o.subtitle_tracks?.map((t) => t.source) ?? []),
    ...(tasks.length > 0 ? { tool_locations: { get: locations("storage:get", "storage:check"), put: locations("storage:put") } } : {}),
  };
}
