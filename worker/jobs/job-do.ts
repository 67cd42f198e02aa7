import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { nowIso } from "../ids";
import type { DispatchMessage } from "../queue/dispatch-message";
import { writeJobIndex } from "./job-index";
import type { JobSpec } from "./job-spec";
import { type JobState, type JobView, jobView } from "./job-state";
import { terminalStatuses } from "./model";
import { planJob } from "./plan";
import { type JobAction, nextStatus } from "./transitions";

export type CreateOutcome =
  | { outcome: "created"; job: JobView }
  | { outcome: "existing"; job: JobView }
  | { outcome: "conflict" };
export type ActionOutcome = { ok: true; job: JobView } | { ok: false; invalidState: JobState["status"] } | null;

/** Duties the DO owes the outside world, retried by its alarm until done. */
interface Pending {
  /** The D1 index is behind the DO; written no more often than the mirror interval for progress. */
  index: boolean;
  indexTags: boolean;
  lastIndexedAt: number;
  /** The status the index last saw: a change of status is written at once. */
  indexedStatus: string | null;
  /** An attempt whose dispatch message has not reached the Queue yet. */
  dispatchAttempt: number | null;
}

const RETRY_MS = 5_000;

/**
 * One Durable Object per job, because a job is the unit of consistency: its state
 * machine, tasks, outputs and attempts change together, and every change (create,
 * cancel, an encoder event, the watchdog) goes through this single writer, so no two
 * of them can race. The state lives in the DO's SQLite storage; D1 holds an index of it.
 */
export class JobDO extends DurableObject<Env> {
  private job: JobState | null = null;
  private pending: Pending = { index: false, indexTags: false, lastIndexedAt: 0, indexedStatus: null, dispatchAttempt: null };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS doc (name TEXT PRIMARY KEY, body TEXT NOT NULL)");
    for (const row of ctx.storage.sql.exec<{ name: string; body: string }>("SELECT name, body FROM doc")) {
      if (row.name === "job") this.job = JSON.parse(row.body);
      if (row.name === "pending") this.pending = JSON.parse(row.body);
    }
  }

  async create(command: {
    jobId: string;
    orgId: string;
    spec: JobSpec;
    requestHash: string;
    idempotencyKey: string | null;
    resubmittedFrom: string | null;
  }): Promise<CreateOutcome> {
    // Everything up to save() is synchronous, so of many concurrent creates with one
    // idempotency key exactly one finds no job here and creates it.
    if (this.job) {
      if (this.job.org_id !== command.orgId || this.job.request_hash !== command.requestHash) return { outcome: "conflict" };
      return { outcome: "existing", job: jobView(this.job) };
    }
    const now = nowIso();
    const { tasks, outputs } = planJob(command.spec, now);
    this.job = {
      id: command.jobId,
      org_id: command.orgId,
      spec: command.spec,
      request_hash: command.requestHash,
      idempotency_key: command.idempotencyKey,
      resubmitted_from: command.resubmittedFrom,
      status: "pending",
      progress: 0,
      current_stage: null,
      attempt: 1,
      dispatched_attempt: null,
      tasks,
      outputs,
      input_metadata: null,
      error: null,
      created_at: now,
      updated_at: now,
      started_at: null,
      probed_at: null,
      confirmed_at: null,
      completed_at: null,
    };
    this.pending = { index: true, indexTags: true, lastIndexedAt: 0, indexedStatus: null, dispatchAttempt: 1 };
    this.save();
    await this.flush();
    return { outcome: "created", job: jobView(this.job) };
  }

  get(orgId: string): JobView | null {
    return this.owned(orgId) ? jobView(this.job!) : null;
  }

  /** The spec a resubmission copies; null for a job the org does not own. */
  spec(orgId: string): JobSpec | null {
    return this.owned(orgId) ? this.job!.spec : null;
  }

  async cancel(orgId: string): Promise<ActionOutcome> {
    return this.act(orgId, "cancel");
  }

  async confirm(orgId: string): Promise<ActionOutcome> {
    return this.act(orgId, "confirm");
  }

  async restart(orgId: string): Promise<ActionOutcome> {
    return this.act(orgId, "restart");
  }

  /**
   * Applies one state-machine action. The API's actions and (later) encoder events
   * and the watchdog all arrive here; `null` status means the job does not exist.
   */
  async transition(action: JobAction, error?: { code: string; message: string }): Promise<ActionOutcome> {
    const job = this.job;
    if (!job) return null;
    const next = nextStatus(job.status, action);
    if (!next) return { ok: false, invalidState: job.status };
    const now = nowIso();
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
        break;
      case "confirm":
        job.confirmed_at = now;
        break;
      case "complete":
        job.progress = 100;
        break;
      case "fail":
        job.error = error ?? { code: "internal_error", message: "The job failed" };
        break;
      case "restart":
        this.reset(job, now);
        break;
      case "requeue":
        job.attempt += 1;
        this.pending.dispatchAttempt = job.attempt;
        break;
    }
    if (terminalStatuses.includes(next)) this.finish(job, now);
    this.pending.index = true;
    this.save();
    await this.flush();
    return { ok: true, job: jobView(job) };
  }

  /**
   * Records progress. The job (and its Watchers, later) see every update at once; the
   * D1 index gets at most one write per PROGRESS_MIRROR_INTERVAL_MS, the last value
   * landing through the alarm.
   */
  async setProgress(progress: number, stage: string | null): Promise<void> {
    const job = this.job;
    if (!job || terminalStatuses.includes(job.status)) return;
    job.progress = Math.max(job.progress, Math.min(100, Math.round(progress)));
    job.current_stage = stage;
    job.updated_at = nowIso();
    this.pending.index = true;
    this.save();
    await this.flush();
  }

  /**
   * Decides what a dispatch message from the Queue means for this job. Only the
   * current attempt of a job still waiting to run is accepted; duplicates and
   * messages for attempts the job has moved past are dropped.
   */
  receiveDispatch(message: DispatchMessage): "accepted" | "duplicate" | "stale" {
    const job = this.job;
    if (!job || job.id !== message.job_id || message.attempt !== job.attempt || job.status !== "pending") return "stale";
    if (job.dispatched_attempt === message.attempt) return "duplicate";
    job.dispatched_attempt = message.attempt;
    this.save();
    return "accepted";
  }

  override async alarm(): Promise<void> {
    // The alarm was armed for the moment the throttled index write fell due.
    await this.flush({ indexDue: true });
  }

  private owned(orgId: string): boolean {
    return this.job !== null && this.job.org_id === orgId;
  }

  private async act(orgId: string, action: JobAction): Promise<ActionOutcome> {
    if (!this.owned(orgId)) return null;
    return this.transition(action);
  }

  private finish(job: JobState, now: string): void {
    job.completed_at = now;
    job.current_stage = null;
    for (const task of job.tasks) {
      if (task.status === "waiting" || task.status === "running") {
        task.status = "canceled";
        task.finished_at = now;
        task.updated_at = now;
      }
    }
    // Completed outputs are kept; whatever had not finished stops with the job.
    for (const output of job.outputs) {
      if (output.status === "pending" || output.status === "processing") output.status = "canceled";
    }
  }

  private reset(job: JobState, now: string): void {
    job.attempt += 1;
    job.progress = 0;
    job.current_stage = null;
    job.error = null;
    job.input_metadata = null;
    job.started_at = job.probed_at = job.confirmed_at = job.completed_at = null;
    for (const task of job.tasks) {
      Object.assign(task, { status: "waiting", progress: 0, error: null, started_at: null, finished_at: null, updated_at: now });
    }
    for (const output of job.outputs) {
      Object.assign(output, { status: "pending", output_url: null, file_size_bytes: null, error: null });
    }
    this.pending.dispatchAttempt = job.attempt;
  }

  private save(): void {
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT OR REPLACE INTO doc (name, body) VALUES ('job', ?), ('pending', ?)", JSON.stringify(this.job), JSON.stringify(this.pending));
  }

  /**
   * Performs the pending duties that are due and arms the alarm for the rest, so a
   * failed D1 write or Queue send is retried rather than lost.
   */
  private async flush(options: { indexDue?: boolean } = {}): Promise<void> {
    const job = this.job;
    if (!job) return;
    const now = Date.now();
    let nextAt: number | null = null;

    // Each duty is claimed before its await, so a concurrent flush does not repeat it.
    const pending = this.pending;
    if (pending.index) {
      const interval = Number(this.env.PROGRESS_MIRROR_INTERVAL_MS) || 1000;
      const dueAt = options.indexDue || pending.indexedStatus !== job.status ? now : pending.lastIndexedAt + interval;
      if (dueAt <= now) {
        const claimed = { indexTags: pending.indexTags, lastIndexedAt: pending.lastIndexedAt, indexedStatus: pending.indexedStatus };
        Object.assign(pending, { index: false, indexTags: false, lastIndexedAt: now, indexedStatus: job.status });
        try {
          await writeJobIndex(this.env.DB, job, claimed.indexTags);
        } catch (err) {
          console.error(JSON.stringify({ level: "error", job_id: job.id, message: `index write failed: ${String(err)}` }));
          Object.assign(pending, { index: true, ...claimed });
          nextAt = now + RETRY_MS;
        }
      } else {
        nextAt = dueAt;
      }
    }

    const attempt = pending.dispatchAttempt;
    if (attempt !== null) {
      pending.dispatchAttempt = null;
      try {
        await this.env.DISPATCH.send(
          { v: 1, job_id: job.id, org_id: job.org_id, attempt, priority: job.spec.priority, enqueued_at: nowIso() },
          { contentType: "json" },
        );
      } catch (err) {
        console.error(JSON.stringify({ level: "error", job_id: job.id, message: `dispatch send failed: ${String(err)}` }));
        pending.dispatchAttempt ??= attempt;
        nextAt = Math.min(nextAt ?? Infinity, now + RETRY_MS);
      }
    }

    this.save();
    if (nextAt !== null) {
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > nextAt) await this.ctx.storage.setAlarm(nextAt);
    }
  }
}
