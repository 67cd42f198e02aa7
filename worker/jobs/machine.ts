import type { EncoderEvent, InputMetadata } from "../../encoder/contract";
import { closeRuns, newExecutionMarks, recordExecution } from "../billing/usage";
import { MAX_DISPATCH_FAILURES, busyRetryDelaySeconds, failedDispatchDelaySeconds } from "../dispatch/retry-policy";
import { isUploadRef } from "../uploads/store";
import type { WebhookEventType } from "../webhooks/message";
import { applyEncoderEvent, taskFor } from "./encoder-events";
import { type JobState, type JobView, jobView } from "./job-state";
import { type JobError, type JobStatus, terminalStatuses } from "./model";
import { placeOutputFile } from "./output-placement";
import type { TaskLogLine } from "./task-log";
import { type JobAction, nextStatus } from "./transitions";

/**
 * The job's state machine as a pure function: (state, event) → (state, effects, reply).
 * It owns every rule about a job's life — transitions, attempts, the lease, who
 * dispatches when, the deadline — and does no I/O: the JobDO shell feeds it events
 * (API actions, queue wake-ups, dispatch outcomes, encoder events, its alarm) with the
 * time and a token source, stores the new state, and carries out the effects. So every
 * (state, event) cell is tested in plain Node (test/unit/machine.test.ts).
 *
 * The one invariant that keeps jobs from being lost: every job that has not ended has
 * a live lease or a wake-up time (`wakeAt`), and the shell always arms its alarm for
 * it. A queue message is only a wake-up; the alarm owns re-dispatch.
 */

export interface MachineConfig {
  /** No encoder event for this long means the attempt is lost. */
  leaseTimeoutMs: number;
  /** Attempts lost to the watchdog before the job fails with encoder_lost. */
  maxAttempts: number;
  /** How long a job may run, from when it became runnable, before it fails with job_timeout. */
  jobTimeoutMs: number;
  /**
   * How long the alarm leaves a new attempt to its queue message before dispatching it
   * itself: the Queue normally delivers within a second (and orders a batch by tier).
   */
  queueGraceMs: number;
}

export interface MachineContext {
  now: number;
  config: MachineConfig;
  /** A fresh lease token (randomness is an input, so the machine stays pure). */
  newToken: () => string;
  /** Whether this DO instance has a work order in flight right now (memory, not state: a restart loses it). */
  sending: boolean;
}

export type ApiAction = "cancel" | "confirm" | "restart";

export type DispatchOutcome =
  | { outcome: "accepted" | "busy" | "unreachable" | "rejected" }
  | { outcome: "undispatchable"; error: JobError }
  /** Something failed that is no fault of the job (a D1 hiccup, a decrypt failure): tried again later. */
  | { outcome: "error"; message: string };

export type MachineEvent =
  | { type: "action"; action: ApiAction }
  /** A state-machine action applied directly (tests, and the API actions' common path). */
  | { type: "transition"; action: JobAction; error?: JobError }
  | { type: "progress"; progress: number; stage: string | null }
  /** A dispatch message from the Queue: a wake-up naming the attempt it was sent for. */
  | { type: "dispatch_message"; attempt: number }
  | ({ type: "dispatch_result"; attempt: number } & DispatchOutcome)
  | { type: "encoder_event"; event: EncoderEvent; token: string }
  | { type: "alarm" }
  /** An encoder slot of the job's organization came free: a job waiting out a full pool asks now. */
  | { type: "slot_freed" }
  | { type: "expire_outputs"; cutoff: number };

export type Effect =
  /** Mirror the job into the D1 index (status changes at once, progress throttled by the outbox). */
  | { type: "index" }
  /** Put a dispatch message for this attempt on the Queue (a wake-up; the alarm stands behind it). */
  | { type: "enqueue"; attempt: number }
  /** Build the attempt's work order under its lease and hand it to the encoder; the outcome comes back as dispatch_result. */
  | { type: "send_order"; attempt: number }
  /** Tell the encoder holding the job to stop. */
  | { type: "cancel_encoder" }
  | { type: "webhook"; event: WebhookEventType; job: JobView }
  /** The input upload takes the facts this job's probe found. */
  | { type: "share_probe"; upload_id: string; metadata: InputMetadata }
  /** Lines a task's process wrote, for its log (kept apart from the job document, which is rewritten on every event). */
  | { type: "append_log"; task_id: string; lines: TaskLogLine[] }
  /** A restart starts every task's log afresh. */
  | { type: "clear_logs" };

export type DispatchDecision = "accepted" | "duplicate" | "stale" | "busy" | "unreachable" | "failed" | "retry";
export type Directive = "continue" | "cancel";
export type Reply =
  | { kind: "none" }
  | { kind: "invalid_state"; status: JobStatus }
  | { kind: "dispatch"; decision: DispatchDecision }
  | { kind: "encoder"; status: 200 | 404 | 409; directive: Directive }
  | { kind: "expired"; expired: boolean };

export interface Step {
  state: JobState | null;
  effects: Effect[];
  reply: Reply;
}

const isTerminal = (status: JobStatus) => terminalStatuses.includes(status);
const iso = (ms: number) => new Date(ms).toISOString();

/** Applies one event. The state passed in is never changed: the step works on a copy. */
export function step(current: JobState | null, event: MachineEvent, ctx: MachineContext): Step {
  if (!current) {
    if (event.type === "encoder_event") return { state: null, effects: [], reply: { kind: "encoder", status: 404, directive: "cancel" } };
    if (event.type === "dispatch_message") return { state: null, effects: [], reply: { kind: "dispatch", decision: "stale" } };
    return { state: null, effects: [], reply: { kind: "none" } };
  }
  const run = new Run(structuredClone(current), ctx);
  const reply = run.apply(event);
  return { state: run.job, effects: run.effects, reply };
}

/** What a new job is made of; the rest of its document is the machine's. */
export type NewJob = Pick<JobState, "id" | "org_id" | "spec" | "drm_keys" | "request_hash" | "idempotency_key" | "resubmitted_from" | "tasks" | "outputs">;

/**
 * A new job's first state: pending, attempt 1 to be dispatched now (its queue message
 * first, the alarm a grace period behind it), its deadline running.
 */
export function createJob(init: NewJob, now: number, config: MachineConfig): { state: JobState; effects: Effect[] } {
  const at = iso(now);
  const { drm_keys, ...rest } = init;
  const state: JobState = {
    ...rest,
    ...(drm_keys && drm_keys.length > 0 ? { drm_keys } : {}),
    status: "pending",
    progress: 0,
    current_stage: null,
    attempt: 1,
    dispatched_attempt: null,
    lease: null,
    dispatch: { attempt: 1, phase: "wanted", next_try_at: now + config.queueGraceMs, tries: 0, failures: 0 },
    deadline_at: now + config.jobTimeoutMs,
    lost_attempts: 0,
    input_metadata: null,
    execution: newExecutionMarks(),
    error: null,
    created_at: at,
    updated_at: at,
    started_at: null,
    probed_at: null,
    confirmed_at: null,
    completed_at: null,
  };
  return { state, effects: [{ type: "index" }, { type: "enqueue", attempt: 1 }] };
}

/**
 * When the shell must next look at the job on its own, or null when nothing is owed:
 * the lease's expiry, the next dispatch try, the deadline. Null only for ended jobs and
 * jobs waiting for a person (awaiting confirmation).
 */
export function wakeAt(job: JobState): number | null {
  if (isTerminal(job.status)) return null;
  const times = [job.lease?.expires_at, job.dispatch?.next_try_at, job.deadline_at].filter((t): t is number => typeof t === "number");
  return times.length > 0 ? Math.min(...times) : null;
}

function wantDispatch(job: JobState, at: number): void {
  job.lease = null;
  job.dispatch = { attempt: job.attempt, phase: "wanted", next_try_at: at, tries: 0, failures: 0 };
}

class Run {
  readonly effects: Effect[] = [];

  constructor(
    readonly job: JobState,
    private readonly ctx: MachineContext,
  ) {}

  private get now(): number {
    return this.ctx.now;
  }

  apply(event: MachineEvent): Reply {
    switch (event.type) {
      case "action":
        return this.action(event.action);
      case "transition":
        return this.transitionReply(event.action, event.error);
      case "progress":
        return this.progress(event.progress, event.stage);
      case "dispatch_message":
        return this.dispatchMessage(event.attempt);
      case "dispatch_result":
        return this.dispatchResult(event);
      case "encoder_event":
        return this.encoderEvent(event.event, event.token);
      case "alarm":
        this.alarm();
        return { kind: "none" };
      case "slot_freed":
        this.slotFreed();
        return { kind: "none" };
      case "expire_outputs":
        return this.expireOutputs(event.cutoff);
    }
  }

  private action(action: ApiAction): Reply {
    const job = this.job;
    const hadLease = job.lease !== null;
    const reply = this.transitionReply(action);
    // Cancel is push and pull: the encoder is told now, and every later event it posts is answered `cancel`.
    if (reply.kind === "none" && action === "cancel" && hadLease) this.effects.push({ type: "cancel_encoder" });
    return reply;
  }

  private transitionReply(action: JobAction, error?: JobError): Reply {
    if (!nextStatus(this.job.status, action)) return { kind: "invalid_state", status: this.job.status };
    this.transition(action, error);
    return { kind: "none" };
  }

  /** Moves the job along one edge of the table; the caller checked it exists. */
  private transition(action: JobAction, error?: JobError): void {
    const job = this.job;
    const now = iso(this.now);
    const next = nextStatus(job.status, action)!;
    job.status = next;
    job.updated_at = now;
    switch (action) {
      case "start_probe":
        job.started_at ??= now;
        job.current_stage = "probe";
        break;
      case "start_processing":
        job.probed_at ??= now;
        job.current_stage = null;
        break;
      case "await_confirmation":
        job.probed_at ??= now;
        job.current_stage = null;
        // Waiting for a person is not running: the deadline starts again at confirmation.
        job.lease = null;
        job.dispatch = null;
        job.deadline_at = null;
        break;
      case "confirm":
        // Confirming a delayed start dispatches a fresh attempt, which encodes this time.
        job.confirmed_at = now;
        this.redispatch();
        job.deadline_at = this.now + this.ctx.config.jobTimeoutMs;
        break;
      case "complete":
        job.progress = 100;
        break;
      case "fail":
        job.error = error ?? { code: "internal_error", message: "The job failed" };
        break;
      case "restart":
        this.reset(now);
        break;
      case "requeue":
        this.redispatch();
        for (const task of job.tasks) {
          if (task.status === "running") Object.assign(task, { status: "waiting", progress: 0, updated_at: now });
        }
        break;
    }
    if (isTerminal(next)) this.finish(now);
    this.index();
    this.queueWebhooks(isTerminal(next) ? (`job.${next}` as WebhookEventType) : null);
  }

  /** Webhooks the job asked for on this transition, with the job as it is at this edge. */
  private queueWebhooks(terminalEvent: WebhookEventType | null): void {
    const job = this.job;
    if (!job.spec.webhook_url) return;
    const wanted = job.spec.webhook_events;
    const events = [
      ...(wanted.includes("job.status_changed") ? (["job.status_changed"] as const) : []),
      ...(terminalEvent && wanted.includes(terminalEvent) ? [terminalEvent] : []),
    ];
    if (events.length === 0) return;
    const snapshot = jobView(job);
    for (const event of events) this.effects.push({ type: "webhook", event, job: snapshot });
  }

  private progress(progress: number, stage: string | null): Reply {
    const job = this.job;
    if (isTerminal(job.status)) return { kind: "none" };
    job.progress = Math.max(job.progress, Math.min(100, Math.round(progress)));
    job.current_stage = stage;
    job.updated_at = iso(this.now);
    this.index();
    return { kind: "none" };
  }

  /**
   * A dispatch message names an attempt. Only the current attempt of a live job that
   * still wants dispatching is sent; anything else is dropped, so no two attempts ever
   * run at once, whatever the Queue does.
   */
  private dispatchMessage(attempt: number): Reply {
    const job = this.job;
    if (attempt !== job.attempt || isTerminal(job.status) || job.status === "awaiting_confirmation") return { kind: "dispatch", decision: "stale" };
    const dispatch = job.dispatch;
    if (!dispatch || dispatch.attempt !== attempt) return { kind: "dispatch", decision: "duplicate" };
    // A send this instance is making now: the message is a redelivery. A send in the
    // stored state that no instance is making was cut short (the DO restarted between
    // claim and send): it is made again, under the same lease.
    if (dispatch.phase === "sending" && this.ctx.sending) return { kind: "dispatch", decision: "duplicate" };
    this.claim();
    return { kind: "dispatch", decision: "accepted" };
  }

  /** Takes a lease for the current attempt and asks the shell to send its work order. */
  private claim(): void {
    const job = this.job;
    const dispatch = job.dispatch!;
    const expires_at = this.now + this.ctx.config.leaseTimeoutMs;
    // A send cut short keeps its token: the encoder may hold that order already, and
    // treats a second delivery of one attempt as a no-op.
    job.lease = dispatch.phase === "sending" && job.lease?.attempt === dispatch.attempt ? { ...job.lease, expires_at } : { attempt: dispatch.attempt, token: this.ctx.newToken(), expires_at, last_seq: -1 };
    dispatch.phase = "sending";
    dispatch.tries += 1;
    // If the send never comes back, the alarm looks again when the lease runs out.
    dispatch.next_try_at = expires_at;
    job.dispatched_attempt = dispatch.attempt;
    this.effects.push({ type: "send_order", attempt: dispatch.attempt });
  }

  private dispatchResult(result: Extract<MachineEvent, { type: "dispatch_result" }>): Reply {
    const job = this.job;
    const dispatch = job.dispatch;
    if (!dispatch || dispatch.attempt !== result.attempt || dispatch.phase !== "sending" || isTerminal(job.status)) return { kind: "dispatch", decision: "stale" };
    switch (result.outcome) {
      case "accepted":
      case "unreachable":
        // An unreachable encoder is handled as one that died holding the order: the
        // lease runs out and the watchdog dispatches the next attempt, or gives up.
        job.dispatch = null;
        return { kind: "dispatch", decision: result.outcome };
      case "busy":
        // A full pool is back-pressure, not failure: the job asks again later, by tier.
        this.release(this.now + busyRetryDelaySeconds(job.spec.priority, dispatch.tries) * 1000);
        return { kind: "dispatch", decision: "busy" };
      case "error": {
        dispatch.failures += 1;
        if (dispatch.failures >= MAX_DISPATCH_FAILURES) {
          job.lease = null;
          this.transition("fail", { code: "dispatch_failed", message: `The work order could not be sent ${dispatch.failures} times: ${result.message}` });
          return { kind: "dispatch", decision: "failed" };
        }
        this.release(this.now + failedDispatchDelaySeconds(dispatch.failures) * 1000);
        return { kind: "dispatch", decision: "retry" };
      }
      case "undispatchable":
        job.lease = null;
        this.transition("fail", result.error);
        return { kind: "dispatch", decision: "failed" };
      case "rejected":
        job.lease = null;
        this.transition("fail", { code: "internal_error", message: "The encoder refused the work order" });
        return { kind: "dispatch", decision: "failed" };
    }
  }

  /** The attempt goes back to wanting a dispatch at `at`; the alarm, not the Queue, brings it back. */
  private release(at: number): void {
    const job = this.job;
    job.lease = null;
    job.dispatched_attempt = null;
    job.dispatch = { ...job.dispatch!, phase: "wanted", next_try_at: at };
  }

  /**
   * One event from the encoder running the current attempt, answered with a
   * directive. Events from any other attempt (or with a wrong token) are refused,
   * which tells a stale encoder to stop.
   */
  private encoderEvent(event: EncoderEvent, token: string): Reply {
    const job = this.job;
    const lease = job.lease;
    if (!lease || lease.token !== token || lease.attempt !== event.attempt) return { kind: "encoder", status: 409, directive: "cancel" };
    if (isTerminal(job.status) || job.status === "awaiting_confirmation") return { kind: "encoder", status: 200, directive: "cancel" };
    lease.expires_at = this.now + this.ctx.config.leaseTimeoutMs;
    // An event proves the encoder holds the order, whatever became of the send's answer.
    if (job.dispatch?.attempt === event.attempt) job.dispatch = null;
    if (event.seq <= lease.last_seq) return { kind: "encoder", status: 200, directive: "continue" };
    lease.last_seq = event.seq;
    // A heartbeat moves only the lease: nothing for the index, the watchers or updated_at.
    if (event.type === "heartbeat") return { kind: "encoder", status: 200, directive: "continue" };
    // Log lines go to the task's log; the job itself does not change.
    if (event.type === "task_log") {
      if (job.tasks.some((t) => t.id === event.task_id)) this.effects.push({ type: "append_log", task_id: event.task_id, lines: event.lines });
      return { kind: "encoder", status: 200, directive: "continue" };
    }

    const now = iso(this.now);
    const taskId = "stage" in event ? (event.task_id ?? taskFor(job, event.stage, null)?.id) : undefined;
    recordExecution(job.execution, event, taskId, this.now);
    let directive: Directive = "continue";
    for (const effect of applyEncoderEvent(job, event, (outputId, path) => placeOutputFile(job, outputId, path), now)) {
      if ("pause" in effect) {
        job.lease = null;
        directive = "cancel";
      } else if ("progress" in effect) {
        if (!isTerminal(job.status)) {
          job.progress = Math.max(job.progress, Math.min(100, Math.round(effect.progress)));
          job.current_stage = effect.stage;
        }
      } else if (nextStatus(job.status, effect.action)) {
        this.transition(effect.action, effect.error);
      }
    }
    // Whatever the encoder still holds for a job that ended is of no use now.
    if (isTerminal(job.status)) directive = "cancel";
    job.updated_at = now;
    this.index();
    if (event.type === "metadata" && isUploadRef(job.spec.input)) this.effects.push({ type: "share_probe", upload_id: job.spec.input, metadata: event.input_metadata });
    return { kind: "encoder", status: 200, directive };
  }

  /**
   * The alarm: the deadline, the lease watchdog, and dispatches that are due. An
   * attempt whose encoder has gone silent for the lease's time is lost: the job is
   * dispatched again as the next attempt, until maxAttempts are lost (encoder_lost).
   */
  private alarm(): void {
    const job = this.job;
    if (isTerminal(job.status)) return;
    if (job.deadline_at !== null && job.deadline_at <= this.now) {
      const hadLease = job.lease !== null;
      const minutes = Math.round(this.ctx.config.jobTimeoutMs / 60_000);
      this.transition("fail", { code: "job_timeout", message: `The job did not finish within its deadline of ${minutes} min (JOB_TIMEOUT_S)` });
      if (hadLease) this.effects.push({ type: "cancel_encoder" });
      return;
    }
    const lease = job.lease;
    const dispatch = job.dispatch;
    if (dispatch && dispatch.next_try_at <= this.now) {
      // A send cut short by a restart, or a wanted attempt whose wake-up never came.
      if (dispatch.phase === "wanted" || !this.ctx.sending) this.claim();
      return;
    }
    if (lease && lease.expires_at <= this.now && !dispatch) this.loseAttempt();
  }

  /** A wanted dispatch backing off from a full pool is brought forward to now; the alarm then claims it. */
  private slotFreed(): void {
    const dispatch = this.job.dispatch;
    if (isTerminal(this.job.status) || !dispatch || dispatch.phase !== "wanted" || dispatch.next_try_at <= this.now) return;
    dispatch.next_try_at = this.now;
  }

  private loseAttempt(): void {
    const job = this.job;
    job.lease = null;
    job.lost_attempts += 1;
    // The lost encoder's tasks are charged up to now, not until the next attempt reports.
    closeRuns(job.execution, this.now);
    if (job.lost_attempts >= this.ctx.config.maxAttempts) {
      this.transition("fail", { code: "encoder_lost", message: `The encoder stopped reporting ${job.lost_attempts} times; giving up` });
      return;
    }
    if (job.status === "pending") {
      // Dispatched but never started: the same state, a new attempt.
      this.redispatch();
      return;
    }
    this.transition("requeue");
  }

  /**
   * Retention: a job that ended at or before `cutoff` loses its outputs in managed
   * storage (those in the user's buckets are the user's). Completed outputs become
   * `expired` with no URL before the caller deletes their files.
   */
  private expireOutputs(cutoff: number): Reply {
    const job = this.job;
    if (!isTerminal(job.status) || job.completed_at === null || Date.parse(job.completed_at) > cutoff) return { kind: "expired", expired: false };
    const live = job.outputs.filter((o) => o.status === "completed" && o.main_object === null);
    if (live.length === 0) return { kind: "expired", expired: true };
    for (const output of live) Object.assign(output, { status: "expired", output_url: null, main_key: null, manifest_key: null });
    job.updated_at = iso(this.now);
    this.index();
    return { kind: "expired", expired: true };
  }

  private finish(now: string): void {
    const job = this.job;
    job.completed_at = now;
    job.current_stage = null;
    job.lease = null;
    job.dispatch = null;
    job.deadline_at = null;
    closeRuns(job.execution, Date.parse(now));
    for (const task of job.tasks) {
      if (task.status === "waiting" || task.status === "running") Object.assign(task, { status: "canceled", finished_at: now, updated_at: now });
    }
    // Completed outputs are kept; whatever had not finished stops with the job.
    for (const output of job.outputs) {
      if (output.status === "pending" || output.status === "processing") output.status = "canceled";
    }
  }

  private reset(now: string): void {
    const job = this.job;
    job.lost_attempts = 0;
    job.progress = 0;
    job.current_stage = null;
    job.error = null;
    job.input_metadata = null;
    job.execution = newExecutionMarks();
    job.started_at = job.probed_at = job.confirmed_at = job.completed_at = null;
    // The files a put's patterns matched are found again when it runs again.
    const discovered = new Set(job.outputs.filter((o) => o.spec.discovered === true).map((o) => o.id));
    job.outputs = job.outputs.filter((o) => !discovered.has(o.id));
    for (const task of job.tasks) {
      Object.assign(task, { status: "waiting", progress: 0, error: null, started_at: null, finished_at: null, updated_at: now });
      delete task.bytes_in;
      if (discovered.size > 0) task.outputs = task.outputs.filter((id) => !discovered.has(id));
    }
    for (const output of job.outputs) {
      Object.assign(output, {
        status: "pending",
        output_url: null,
        file_size_bytes: null,
        facts: null,
        error: null,
        main_key: null,
        main_object: null,
        manifest_key: null,
        content_aware: null,
        playable_at: null,
      });
    }
    this.redispatch();
    job.deadline_at = this.now + this.ctx.config.jobTimeoutMs;
    this.effects.push({ type: "clear_logs" });
  }

  /** The index mirrors the job after this step (once, however many changes the step made). */
  private index(): void {
    if (!this.effects.some((e) => e.type === "index")) this.effects.push({ type: "index" });
  }

  /** The next attempt wants an encoder: a queue message wakes the job, the alarm stands behind it. */
  private redispatch(): void {
    const job = this.job;
    job.attempt += 1;
    wantDispatch(job, this.now + this.ctx.config.queueGraceMs);
    this.effects.push({ type: "enqueue", attempt: job.attempt });
  }
}
