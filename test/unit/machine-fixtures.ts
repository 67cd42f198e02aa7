import type { EncoderEvent } from "../../encoder/contract";
import type { JobSpec } from "../../worker/jobs/job-spec";
import type { JobState } from "../../worker/jobs/job-state";
import { type MachineConfig, type MachineContext, type MachineEvent, createJob } from "../../worker/jobs/machine";
import type { JobStatus } from "../../worker/jobs/model";
import { planJob } from "../../worker/jobs/plan";

export const T0 = Date.parse("2026-01-01T00:00:00Z");
export const config: MachineConfig = { leaseTimeoutMs: 30_000, maxAttempts: 3, jobTimeoutMs: 3_600_000, queueGraceMs: 15_000 };
export const TOKEN = "lease-token-0123456789abcdef";

export function context(overrides: Partial<MachineContext> = {}): MachineContext {
  let n = 0;
  return { now: T0, config, newToken: () => `new-token-${++n}`, sending: false, ...overrides };
}

export function spec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    mode: "kind",
    kind: "video",
    options: { format: "mp4", codec: "h264" },
    input: "https://media.example.com/in.mp4",
    input_origin_id: null,
    input_path: null,
    tags: [],
    metadata: {},
    priority: "standard",
    webhook_url: "https://hooks.example.com/kiln",
    webhook_events: ["job.completed", "job.failed", "job.canceled", "job.partial"],
    delayed_start: false,
    output: null,
    output_origin_id: null,
    output_path_template: null,
    thumbnails: [],
    bundle: null,
    region: null,
    storage: { input: null, output: null },
    ...overrides,
  } as JobSpec;
}

/** The rows of the machine's table: each status, and pending both before and during its first send. */
export const rows = ["pending:wanted", "pending:sending", "probing", "awaiting_confirmation", "processing", "completed", "failed", "canceled", "partial"] as const;
export type Row = (typeof rows)[number];

const live = { attempt: 1, token: TOKEN, expires_at: T0 + 10_000, last_seq: 3 };

/** A job as it stands in each row, at T0, attempt 1. */
export function fixture(row: Row, withSpec: JobSpec = spec()): JobState {
  const iso = new Date(T0 - 60_000).toISOString();
  const { tasks, outputs } = planJob(withSpec, iso);
  const status = row.split(":")[0] as JobStatus;
  const job = createJob({ id: "job_aaaaaaaaaaaaaaaaaaaa", org_id: "org_1", spec: withSpec, request_hash: "h", idempotency_key: null, resubmitted_from: null, tasks, outputs }, T0 - 60_000, config).state;
  Object.assign(job, {
    status,
    progress: status === "processing" ? 40 : 0,
    dispatched_attempt: 1,
    dispatch: null,
    deadline_at: T0 + 1_000_000,
    started_at: status === "pending" ? null : iso,
  });
  if (row === "pending:wanted") Object.assign(job, { dispatched_attempt: null, dispatch: { attempt: 1, phase: "wanted", next_try_at: T0 + 5_000, tries: 0, failures: 0 } });
  if (row === "pending:sending") Object.assign(job, { lease: { ...live }, dispatch: { attempt: 1, phase: "sending", next_try_at: live.expires_at, tries: 1, failures: 0 } });
  if (status === "probing" || status === "processing") job.lease = { ...live };
  if (status === "awaiting_confirmation") Object.assign(job, { deadline_at: null, probed_at: iso });
  if (["completed", "failed", "canceled", "partial"].includes(status)) {
    Object.assign(job, { deadline_at: null, completed_at: iso });
    if (status === "completed" || status === "partial") Object.assign(job.outputs[0]!, { status: "completed", main_key: "jobs/x/out.mp4", main_object: null });
  }
  return job;
}

export const encoderEvent = (body: Record<string, unknown>, seq = 10): EncoderEvent =>
  ({ v: 1, job_id: "job_aaaaaaaaaaaaaaaaaaaa", attempt: 1, seq, at: new Date(T0).toISOString(), ...body }) as EncoderEvent;

/** The columns: every kind of event the machine takes, with the time it arrives at (T0 unless said). */
export const columns: Record<string, { event: MachineEvent; at?: number; sending?: boolean }> = {
  cancel: { event: { type: "action", action: "cancel" } },
  confirm: { event: { type: "action", action: "confirm" } },
  restart: { event: { type: "action", action: "restart" } },
  "message(current)": { event: { type: "dispatch_message", attempt: 1 } },
  "message(current, send in flight)": { event: { type: "dispatch_message", attempt: 1 }, sending: true },
  "message(old)": { event: { type: "dispatch_message", attempt: 0 } },
  "result:accepted": { event: { type: "dispatch_result", attempt: 1, outcome: "accepted" } },
  "result:busy": { event: { type: "dispatch_result", attempt: 1, outcome: "busy" } },
  "result:unreachable": { event: { type: "dispatch_result", attempt: 1, outcome: "unreachable" } },
  "result:rejected": { event: { type: "dispatch_result", attempt: 1, outcome: "rejected" } },
  "result:error": { event: { type: "dispatch_result", attempt: 1, outcome: "error", message: "D1 hiccup" } },
  "result:undispatchable": { event: { type: "dispatch_result", attempt: 1, outcome: "undispatchable", error: { code: "upload_not_found", message: "gone" } } },
  "event:import_started": { event: { type: "encoder_event", event: encoderEvent({ type: "task_started", stage: "import", task_id: null }), token: TOKEN } },
  "event:probe_completed": { event: { type: "encoder_event", event: encoderEvent({ type: "task_completed", stage: "probe", task_id: null, output: null }), token: TOKEN } },
  "event:job_completed": { event: { type: "encoder_event", event: encoderEvent({ type: "job_completed" }), token: TOKEN } },
  "event:failed": { event: { type: "encoder_event", event: encoderEvent({ type: "task_failed", stage: "encode", task_id: null, error: { code: "encode_failed", message: "x" } }), token: TOKEN } },
  "event:heartbeat": { event: { type: "encoder_event", event: encoderEvent({ type: "heartbeat", job_progress: 10 }), token: TOKEN } },
  "event:replayed": { event: { type: "encoder_event", event: encoderEvent({ type: "progress", stage: "encode", task_id: null, task_progress: 50, job_progress: 50 }, 2), token: TOKEN } },
  "event:task_log": { event: { type: "encoder_event", event: encoderEvent({ type: "task_log", task_id: "task_any", lines: [{ at: new Date(T0).toISOString(), text: "x" }] }), token: TOKEN } },
  "event:output_completed": {
    event: {
      type: "encoder_event",
      event: encoderEvent({
        type: "output_completed",
        task_id: "task_any",
        output: { output_id: "out_none", main: "a.mp4", files: [{ path: "a.mp4", content_type: "video/mp4", size_bytes: 1, sha256: "a".repeat(64) }], size_bytes: 1, duration_ms: 1, width: 1, height: 1, codec: "h264", sha256: "a".repeat(64) },
      }),
      token: TOKEN,
    },
  },
  "event:wrong_token": { event: { type: "encoder_event", event: encoderEvent({ type: "heartbeat", job_progress: 10 }), token: "someone-else" } },
  "alarm(nothing due)": { event: { type: "alarm" }, at: T0 + 1_000 },
  "alarm(dispatch due)": { event: { type: "alarm" }, at: T0 + 5_000 },
  "alarm(lease expired)": { event: { type: "alarm" }, at: T0 + 10_000 },
  "alarm(deadline)": { event: { type: "alarm" }, at: T0 + 1_000_000 },
  progress: { event: { type: "progress", progress: 55, stage: "encode" } },
  expire_outputs: { event: { type: "expire_outputs", cutoff: T0 } },
};
