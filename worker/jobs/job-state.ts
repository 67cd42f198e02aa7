import { bucketObjectUri } from "../origins/buckets";
import { actualCost, costLines, estimatedCost } from "../billing/cost";
import { CURRENCY } from "../billing/prices";
import { type ExecutionMarks, executionView, usageView } from "../billing/usage";
import { clippedInput } from "./clip";
import { type JobSpec, requestedWork } from "./job-spec";
import { type JobError, type JobStatus, type Output, type Task, terminalStatuses } from "./model";
import type { DrmScheme, SealedDrmKey } from "../drm/keys";
import type { StyleComparison, StyleJson } from "../../encoder/style/style-json";

export interface Lease {
  attempt: number;
  token: string;
  expires_at: number;
  /** Highest event sequence number applied, so redelivered events are applied once. */
  last_seq: number;
}

/**
 * The current attempt on its way to an encoder. `wanted`: the next try is due at
 * `next_try_at` (the alarm makes it if no queue message does first); `sending`: a work
 * order is on its way under the lease, and the alarm looks again at `next_try_at` (the
 * lease's expiry) in case the send was cut short.
 */
export interface Dispatch {
  attempt: number;
  phase: "wanted" | "sending";
  next_try_at: number;
  /** Sends made for this attempt (a busy pool's backoff grows with them). */
  tries: number;
  /** Sends that failed for no fault of the job, in a row. */
  failures: number;
}

/** Everything the JobDO knows about its job; the API view is derived from it. */
export interface JobState {
  id: string;
  org_id: string;
  spec: JobSpec;
  request_hash: string;
  idempotency_key: string | null;
  resubmitted_from: string | null;
  status: JobStatus;
  progress: number;
  current_stage: string | null;
  attempt: number;
  /** The attempt a dispatch message was last accepted for; a redelivery of it is a duplicate. */
  dispatched_attempt: number | null;
  /** The running attempt's lease: its token authorises encoder events until it expires. */
  lease: Lease | null;
  /** An attempt that wants an encoder and has none yet (see jobs/machine.ts); null once one holds it. */
  dispatch: Dispatch | null;
  /** When the job fails with job_timeout if it has not ended (ms; JOB_TIMEOUT_S after it became runnable); null while it waits for confirmation. */
  deadline_at: number | null;
  /** Attempts the watchdog gave up on; MAX_ATTEMPTS of them fail the job with encoder_lost. */
  lost_attempts: number;
  tasks: Task[];
  outputs: Output[];
  /** Content keys of encrypted outputs, sealed (worker/drm/keys.ts); never in any view. */
  drm_keys?: SealedDrmKey[];
  input_metadata: Record<string, unknown> | null;
  /** What a style job measured (absent in other jobs and before its extraction). */
  style?: StyleResult;
  /** Run times measured as events arrive, for `execution` and `usage` (filled in on load for jobs stored before it existed). */
  execution: ExecutionMarks;
  error: JobError | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  probed_at: string | null;
  confirmed_at: string | null;
  completed_at: string | null;
}

/**
 * A style job's measures: the style it reports (the template's, or the source's own),
 * the source's and the rendered output's, how far rendering moved each dimension, and
 * whether the output came out shorter than the template's rhythm wanted.
 */
export interface StyleResult {
  style_json: StyleJson | null;
  source_style_json: StyleJson | null;
  output_style_json: StyleJson | null;
  comparison: StyleComparison[] | null;
  shortened: { wanted_seconds: number; rendered_seconds: number } | null;
}
export const emptyStyleResult: StyleResult = { style_json: null, source_style_json: null, output_style_json: null, comparison: null, shortened: null };

type ProbedInput = { duration_ms: number; width: number | null; height: number | null; file_size_bytes: number };

/** The probed input as the job's outputs cover it: a clipped job's is the clip's duration. */
function coveredInput(job: JobState): ProbedInput | null {
  const input = job.input_metadata as ProbedInput | null;
  return input && clippedInput(input, job.spec.clip);
}

/**
 * The attempt is queued behind a full encoder pool: a send was answered busy (or failed)
 * and the next try is pending. VTK calls this "waiting for resources".
 */
export function waitingForEncoder(job: Pick<JobState, "dispatch">): boolean {
  return job.dispatch !== null && job.dispatch.phase === "wanted" && job.dispatch.tries > 0;
}

/** What the job has used: per task and summed (billing/usage.ts). */
export function jobUsage(job: JobState) {
  return usageView(job.execution, job.tasks, job.outputs, coveredInput(job));
}

/**
 * Costs in EUR from the price table (worker/billing/prices.ts): the estimate once the
 * probe has measured the input (a clipped job's at the clip's length), the actual cost
 * once the job has ended, from the outputs it completed.
 */
function costs(job: JobState) {
  const input = coveredInput(job);
  const lines = input ? costLines(job, input) : null;
  return {
    currency: CURRENCY,
    total_estimated_cost: lines ? estimatedCost(lines) : null,
    total_actual_cost: lines && terminalStatuses.includes(job.status) ? actualCost(lines, job.outputs) : null,
  };
}

/** The job object of the native API. */
export function jobView(job: JobState) {
  const { spec } = job;
  const marks = job.execution;
  const { kind } = requestedWork(spec);
  return {
    id: job.id,
    object: "job" as const,
    status: job.status,
    progress: job.progress,
    current_stage: job.current_stage,
    priority: spec.priority,
    kind: kind?.kind ?? null,
    options: kind?.options ?? null,
    requested_options: spec.mode === "kind" ? (spec.requested_options ?? spec.options) : null,
    input: spec.input,
    input_origin_id: spec.input_origin_id,
    input_path: spec.input_path,
    output: spec.output,
    output_origin_id: spec.output_origin_id,
    output_path_template: spec.output_path_template,
    tasks: job.tasks.map(({ bytes_in: _counted, ...task }) => task),
    outputs: job.outputs.map(({ main_key: _key, main_object: object, manifest_key: _manifest, ...output }) => ({
      ...output,
      content_aware: output.content_aware ?? null,
      playable_at: output.playable_at ?? null,
      location: object ? bucketObjectUri(object) : null,
      manifest_url: null as string | null,
      drm: null as { scheme: DrmScheme; key_id: string; key_url: string } | null,
    })),
    thumbnails: spec.thumbnails,
    clip: spec.clip ?? null,
    style: spec.mode === "style" ? { template: spec.template, config: spec.config, ...(job.style ?? emptyStyleResult) } : null,
    input_metadata: job.input_metadata,
    ...costs(job),
    execution: executionView(marks, job),
    usage: jobUsage(job),
    error: job.error,
    tags: spec.tags,
    metadata: spec.metadata,
    bundle: spec.bundle,
    region: spec.region,
    webhook_url: spec.webhook_url,
    webhook_events: spec.webhook_events,
    dialect: spec.dialect ?? null,
    delayed_start: spec.delayed_start,
    idempotency_key: job.idempotency_key,
    resubmitted_from: job.resubmitted_from,
    attempt: job.attempt,
    waiting_for_encoder: waitingForEncoder(job),
    created_at: job.created_at,
    updated_at: job.updated_at,
    started_at: job.started_at,
    probed_at: job.probed_at,
    confirmed_at: job.confirmed_at,
    completed_at: job.completed_at,
  };
}
export type JobView = ReturnType<typeof jobView>;
