import { DurableObject } from "cloudflare:workers";
import type { EncoderEvent } from "../../encoder/contract";
import { randomHex } from "../bytes";
import { cancelOnEncoder, sendWorkOrder } from "../dispatch/encoder-client";
import { UndispatchableJob, buildWorkOrder } from "../dispatch/work-order";
import { type DrmKey, openDrmKey, sealDrmKey, takeDrmKeys } from "../drm/keys";
import type { Env } from "../env";
import { admitJobRun, jobLeftPool, jobNotStarted } from "../limits/admission";
import type { DispatchMessage } from "../queue/dispatch-message";
import type { ExportJob } from "../storage/export-uploads";
import { recordProbeFromJob } from "../uploads/probe";
import type { JobSpec } from "./job-spec";
import { type JobState, type JobView, waitingForEncoder } from "./job-state";
import { type DispatchDecision, type DispatchOutcome, type Effect, type MachineConfig, type MachineEvent, type Reply, createJob, step, wakeAt } from "./machine";
import { terminalStatuses } from "./model";
import { Outbox } from "./outbox";
import { planJob } from "./plan";
import { presentJob, signOutputs } from "./presenter";
import { type StoredJob, upgradeStoredJob } from "./stored-job";
import { type TaskLogView, TaskLogs } from "./task-log";
import type { JobAction } from "./transitions";
import { WatchHub } from "./watch-hub";
import { lapsedKeyIds } from "../auth/api-keys";

export type { DispatchDecision } from "./machine";
export type CreateOutcome =
  | { outcome: "created"; job: JobView }
  | { outcome: "existing"; job: JobView }
  | { outcome: "conflict" };
export type ActionOutcome = { ok: true; job: JobView } | { ok: false; invalidState: JobState["status"] } | null;
export type EventOutcome = { status: 200; directive: "continue" | "cancel" } | { status: 404 | 409; directive: "cancel" };

/** A job runs at most this long from when it became runnable (JOB_TIMEOUT_S overrides). */
const DEFAULT_JOB_TIMEOUT_S = 24 * 3600;
/** The alarm dispatches an attempt itself if its queue message has not done so by then. */
const QUEUE_GRACE_MS = 15_000;

/**
 * One Durable Object per job, because a job is the unit of consistency: its state
 * machine, tasks, outputs and attempts change together, and every change (create,
 * cancel, an encoder event, the alarm) goes through this single writer, so no two of
 * them can race. This class is the shell: it feeds events to the pure machine
 * (./machine.ts), stores the state it returns in the DO's SQLite storage (D1 holds an
 * index of it), and carries out the effects through the outbox, the watch hub, the
 * presenter and the encoder client — each a module of its own.
 */
/** How soon the alarm flushes duties a crash left unflushed (the flush that follows normally comes first). */
const OUTBOX_WAKE_MS = 5_000;

/** Whether the encoder pool holds the job: an attempt it accepted (or may hold), its lease running. */
function onPool(job: JobState): boolean {
  return job.lease !== null && job.dispatch === null;
}

export class JobDO extends DurableObject<Env> {
  private job: JobState | null = null;
  private readonly outbox: Outbox;
  private readonly watch: WatchHub;
  /** Each task's log lines, in tables of their own beside the job document. */
  private readonly logs: TaskLogs;
  /** A work order is on its way from this instance (memory only: a restart mid-send loses it, which the machine detects). */
  private sending = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS doc (name TEXT PRIMARY KEY, body TEXT NOT NULL)");
    for (const row of ctx.storage.sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = 'job'")) {
      this.job = upgradeStoredJob(JSON.parse(row.body) as StoredJob, Date.now());
    }
    this.logs = new TaskLogs(ctx.storage.sql);
    this.outbox = new Outbox(ctx.storage.sql, env);
    this.watch = new WatchHub(ctx, (job) => presentJob(env, job), this.job, (keyIds) => lapsedKeyIds(env.DB, keyIds));
  }

  async create(command: {
    jobId: string;
    orgId: string;
    spec: JobSpec;
    requestHash: string;
    idempotencyKey: string | null;
    resubmittedFrom: string | null;
  }): Promise<CreateOutcome> {
    // Content keys leave the spec before anything stores or shows it; they are sealed
    // (the one await) before the check below, so that check and save() stay together.
    const now = Date.now();
    const nowText = new Date(now).toISOString();
    const { spec, keys } = takeDrmKeys(command.spec);
    const { tasks, outputs } = planJob(spec, nowText);
    const drmKeys = await Promise.all(
      [...keys].map(([index, key]) => sealDrmKey(this.env, { orgId: command.orgId, jobId: command.jobId, outputId: outputs[index]!.id }, key)),
    );
    // Everything from here up to save() is synchronous, so of many concurrent creates
    // with one idempotency key exactly one finds no job here and creates it.
    if (this.job) {
      if (this.job.org_id !== command.orgId || this.job.request_hash !== command.requestHash) return { outcome: "conflict" };
      return { outcome: "existing", job: await presentJob(this.env, this.job) };
    }
    const { state: job, effects } = createJob(
      {
        id: command.jobId,
        org_id: command.orgId,
        spec,
        drm_keys: drmKeys,
        request_hash: command.requestHash,
        idempotency_key: command.idempotencyKey,
        resubmitted_from: command.resubmittedFrom,
        tasks,
        outputs,
      },
      now,
      this.config(),
    );
    this.job = job;
    this.outbox.record(effects, { withTags: true });
    this.save();
    await this.settle();
    return { outcome: "created", job: await presentJob(this.env, job) };
  }

  /**
   * Watch: a WebSocket (hibernatable) or an NDJSON stream of the job's events, opened
   * by the Worker route after it has checked the caller's organization.
   */
  override async fetch(request: Request): Promise<Response> {
    const orgId = request.headers.get("x-kiln-org-id") ?? "";
    if (new URL(request.url).pathname !== "/watch" || !this.owned(orgId)) return new Response(null, { status: 404 });
    const response = await this.watch.open(request, this.job!);
    await this.settle();
    return response;
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): void {
    if (message === "ping") socket.send(JSON.stringify({ event: "pong", server_time: new Date().toISOString() }));
    else this.watch.acknowledge(socket, message);
  }

  override webSocketClose(socket: WebSocket, code: number): void {
    this.watch.forget(socket);
    // Completes the closing handshake a watcher started.
    try {
      socket.close(code === 1005 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  async get(orgId: string): Promise<JobView | null> {
    return this.owned(orgId) ? presentJob(this.env, this.job!) : null;
  }

  /** A webhook's snapshot of this job at an earlier moment, its URLs signed now (webhooks/consumer.ts). */
  async webhookView(view: JobView): Promise<JobView> {
    return this.job && this.job.id === view.id ? signOutputs(this.env, view, this.job) : view;
  }

  /**
   * An encrypted output's content key, for the key route: `orgId` from the caller's API
   * key, or null when a signed key URL already proved the job and output.
   */
  async drmKey(orgId: string | null, outputId: string): Promise<DrmKey | null> {
    if (!this.job || (orgId !== null && !this.owned(orgId))) return null;
    const sealed = this.job.drm_keys?.find((k) => k.output_id === outputId);
    return sealed ? openDrmKey(this.env, { orgId: this.job.org_id, jobId: this.job.id }, sealed) : null;
  }

  /** A task's status and the last lines of its log; null for a job the org does not own or a task it does not have. */
  taskLog(orgId: string, taskId: string): TaskLogView | null {
    const task = this.owned(orgId) ? this.job!.tasks.find((t) => t.id === taskId) : undefined;
    return task ? { task_id: task.id, status: task.status, ...this.logs.read(task.id) } : null;
  }

  /** The spec a resubmission copies (without content keys: a resubmission gets new ones); null for a job the org does not own. */
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

  /** Applies one state-machine action directly; `null` means the job does not exist. */
  async transition(action: JobAction, error?: { code: string; message: string }): Promise<ActionOutcome> {
    if (!this.job) return null;
    return this.outcome(await this.run({ type: "transition", action, error }));
  }

  /**
   * Records progress. The job (and its watchers) see every update at once; the D1 index
   * gets at most one write per PROGRESS_MIRROR_INTERVAL_MS, the last value landing
   * through the alarm.
   */
  async setProgress(progress: number, stage: string | null): Promise<void> {
    await this.run({ type: "progress", progress, stage });
  }

  /**
   * A dispatch message from the Queue: a wake-up for one attempt. The current attempt,
   * if it still wants an encoder, is sent now; anything else is dropped.
   */
  async receiveDispatch(message: DispatchMessage): Promise<DispatchDecision> {
    if (this.job && this.job.id !== message.job_id) return "stale";
    const reply = await this.run({ type: "dispatch_message", attempt: message.attempt });
    return reply.kind === "dispatch" ? reply.decision : "stale";
  }

  /** Applies one event from the encoder and answers it with a directive. */
  async handleEncoderEvent(event: EncoderEvent, token: string): Promise<EventOutcome> {
    const reply = await this.run({ type: "encoder_event", event, token });
    return reply.kind === "encoder" ? ({ status: reply.status, directive: reply.directive } as EventOutcome) : { status: 404, directive: "cancel" };
  }

  /**
   * What the export signing route needs to place the files, when `token` authorises the
   * running attempt; null otherwise.
   */
  exportJob(token: string): ExportJob | null {
    const job = this.job;
    const lease = job?.lease;
    if (!job || lease == null || lease.token !== token || terminalStatuses.includes(job.status)) return null;
    return { id: job.id, org_id: job.org_id, created_at: job.created_at, spec: job.spec, outputs: job.outputs.map(({ id, type, spec }) => ({ id, type, spec })) };
  }

  /**
   * Retention: false when the job is not (or no longer) ended at or before `cutoff`,
   * e.g. restarted since the index was read; see the machine's expireOutputs.
   */
  async expireOutputs(cutoff: number): Promise<boolean> {
    const reply = await this.run({ type: "expire_outputs", cutoff });
    return reply.kind === "expired" && reply.expired;
  }

  override async alarm(): Promise<void> {
    if (this.job) await this.watch.heartbeat(this.job, Date.now());
    await this.run({ type: "alarm" });
    // The alarm was armed for the moment the throttled index write fell due.
    await this.settle({ indexDue: true });
  }

  private config(): MachineConfig {
    return {
      leaseTimeoutMs: Number(this.env.LEASE_TIMEOUT_MS) || 30_000,
      maxAttempts: Number(this.env.MAX_ATTEMPTS) || 3,
      jobTimeoutMs: (Number(this.env.JOB_TIMEOUT_S) || DEFAULT_JOB_TIMEOUT_S) * 1000,
      queueGraceMs: QUEUE_GRACE_MS,
    };
  }

  /**
   * One turn of the machine: the new state is saved and the alarm armed before any
   * effect is attempted, so a crash between them loses nothing; then the effects run.
   */
  private async run(event: MachineEvent): Promise<Reply> {
    const result = step(this.job, event, { now: Date.now(), config: this.config(), newToken: () => randomHex(24), sending: this.sending });
    if (!result.state) return result.reply;
    const leftPool = onPool(this.job!) && !onPool(result.state);
    // Queued behind a full pool or not is no status change, but lists filter on it (VTK's 5): indexed at once.
    const waitChanged = waitingForEncoder(this.job!) !== waitingForEncoder(result.state);
    this.job = result.state;
    this.outbox.record(waitChanged ? [...result.effects, { type: "index" }] : result.effects);
    this.save();
    // Armed before any call out, so a crash during one (a send cut short) still wakes the job;
    // and before the outbox flushes, so duties saved with the state (a terminal job's webhook)
    // are flushed by the alarm if the Worker dies first: nothing else would wake an ended job.
    const callsOut = result.effects.some((e) => e.type === "send_order" || e.type === "cancel_encoder" || e.type === "share_probe");
    if (callsOut || this.outbox.owing) await this.armAlarm(Math.min(this.wakeAt(Date.now()) ?? Infinity, this.outbox.owing ? Date.now() + OUTBOX_WAKE_MS : Infinity));
    let reply = result.reply;
    for (const effect of result.effects) {
      const outcome = await this.perform(effect);
      // A claimed dispatch answers with what became of its send.
      if (outcome) reply = outcome;
    }
    await this.settle({ indexDue: waitChanged });
    if (leftPool) await this.wakeWaiters();
    return reply;
  }

  /** This job left the encoder pool: the first jobs of its organization waiting for a slot ask now (best effort; their backoff stands behind). */
  private async wakeWaiters(): Promise<void> {
    const job = this.job!;
    try {
      const waiters = await jobLeftPool(this.env, job.org_id, job.id);
      // Not through job-stub.ts, which imports this file's type.
      await Promise.all(waiters.map((id) => (this.env.JOBS.get(this.env.JOBS.idFromName(id)) as DurableObjectStub<JobDO>).slotFreed()));
    } catch (err) {
      console.error(JSON.stringify({ level: "error", job_id: job.id, message: `could not wake the jobs waiting for a slot: ${String(err)}` }));
    }
  }

  /** A slot of this job's organization came free (another job's wakeWaiters). */
  async slotFreed(): Promise<void> {
    await this.run({ type: "slot_freed" });
  }

  /** The effects that are calls out, best effort or answered back into the machine; the outbox keeps the rest. */
  private async perform(effect: Effect): Promise<Reply | null> {
    const job = this.job!;
    switch (effect.type) {
      case "send_order":
        return this.sendOrder(effect.attempt);
      case "cancel_encoder":
        await cancelOnEncoder(this.env, job.id);
        return null;
      case "append_log":
        this.logs.append(effect.task_id, effect.lines);
        return null;
      case "clear_logs":
        this.logs.clear();
        return null;
      case "share_probe":
        // The input upload takes the facts this job's probe found, if it has none (best effort).
        await recordProbeFromJob(this.env.DB, job.org_id, effect.upload_id, effect.metadata).catch((err) =>
          console.error(JSON.stringify({ level: "error", job_id: job.id, message: `could not share the probe with ${effect.upload_id}: ${String(err)}` })),
        );
        return null;
      default:
        return null;
    }
  }

  private async sendOrder(attempt: number): Promise<Reply> {
    const job = this.job!;
    let result: DispatchOutcome;
    this.sending = true;
    try {
      const order = await buildWorkOrder(job, job.lease!, this.env.PUBLIC_URL, this.env);
      // Past its organization's cap of running jobs the job waits as it would for a full pool.
      const admitted = await admitJobRun(this.env, job.org_id, job.id, job.spec.priority);
      result = { outcome: admitted ? await sendWorkOrder(this.env, order) : "busy" };
      if (admitted && result.outcome !== "accepted") await jobNotStarted(this.env, job.org_id, job.id, job.spec.priority);
    } catch (err) {
      result = err instanceof UndispatchableJob ? { outcome: "undispatchable", error: { code: err.code, message: err.message } } : { outcome: "error", message: String(err) };
      if (result.outcome === "error") console.error(JSON.stringify({ level: "error", job_id: job.id, message: `dispatch failed, tried again later: ${result.message}` }));
    } finally {
      this.sending = false;
    }
    return this.run({ type: "dispatch_result", attempt, ...result });
  }

  /** Performs the outbox's duties that are due and arms the alarm for whatever is owed next. */
  private async settle(options: { indexDue?: boolean } = {}): Promise<void> {
    if (!this.job) return;
    const retryAt = await this.outbox.flush(this.job, Date.now(), options);
    await this.armAlarm(Math.min(retryAt ?? Infinity, this.wakeAt(Date.now()) ?? Infinity));
  }

  /** The earliest of the machine's wake-up, the next heartbeat owed to watchers. */
  private wakeAt(now: number): number | null {
    const at = Math.min(wakeAt(this.job!) ?? Infinity, this.watch.nextHeartbeatAt(this.job!, now) ?? Infinity);
    return Number.isFinite(at) ? at : null;
  }

  private async armAlarm(at: number | null): Promise<void> {
    if (at === null || !Number.isFinite(at)) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private owned(orgId: string): boolean {
    return this.job !== null && this.job.org_id === orgId;
  }

  private async act(orgId: string, action: "cancel" | "confirm" | "restart"): Promise<ActionOutcome> {
    if (!this.owned(orgId)) return null;
    return this.outcome(await this.run({ type: "action", action }));
  }

  private async outcome(reply: Reply): Promise<ActionOutcome> {
    if (reply.kind === "invalid_state") return { ok: false, invalidState: reply.status };
    return { ok: true, job: await presentJob(this.env, this.job!) };
  }

  private save(): void {
    this.watch.update(this.job!);
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO doc (name, body) VALUES ('job', ?)", JSON.stringify(this.job));
    this.outbox.save();
  }
}
