import type { JobSpec } from "./job-spec";
import type { JobError, JobStatus, Output, Task } from "./model";

export interface Lease {
  attempt: number;
  token: string;
  expires_at: number;
  /** Highest event sequence number applied, so redelivered events are applied once. */
  last_seq: number;
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
  /** Attempts the watchdog gave up on; MAX_ATTEMPTS of them fail the job with encoder_lost. */
  lost_attempts: number;
  tasks: Task[];
  outputs: Output[];
  input_metadata: Record<string, unknown> | null;
  error: JobError | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  probed_at: string | null;
  confirmed_at: string | null;
  completed_at: string | null;
}

/** The job object of the native API. */
export function jobView(job: JobState) {
  const { spec } = job;
  return {
    id: job.id,
    object: "job" as const,
    status: job.status,
    progress: job.progress,
    current_stage: job.current_stage,
    priority: spec.priority,
    kind: spec.mode === "kind" ? spec.kind : null,
    options: spec.mode === "kind" ? spec.options : null,
    input: spec.input,
    output: spec.output,
    output_origin_id: spec.output_origin_id,
    output_path_template: spec.output_path_template,
    tasks: job.tasks,
    outputs: job.outputs.map(({ main_key: _key, manifest_key: _manifest, ...output }) => ({ ...output, manifest_url: null as string | null })),
    thumbnails: spec.thumbnails,
    input_metadata: job.input_metadata,
    error: job.error,
    tags: spec.tags,
    metadata: spec.metadata,
    bundle: spec.bundle,
    region: spec.region,
    webhook_url: spec.webhook_url,
    webhook_events: spec.webhook_events,
    delayed_start: spec.delayed_start,
    idempotency_key: job.idempotency_key,
    resubmitted_from: job.resubmitted_from,
    attempt: job.attempt,
    created_at: job.created_at,
    updated_at: job.updated_at,
    started_at: job.started_at,
    probed_at: job.probed_at,
    confirmed_at: job.confirmed_at,
    completed_at: job.completed_at,
  };
}
export type JobView = ReturnType<typeof jobView>;
