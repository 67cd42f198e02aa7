import { DurableObject } from "cloudflare:workers";
import type { EncoderEvent } from "../../encoder/contract";
import { cancelOnEncoder, sendWorkOrder } from "../dispatch/encoder-client";
import { UndispatchableJob, buildWorkOrder } from "../dispatch/work-order";
import type { Env } from "../env";
import { nowIso } from "../ids";
import type { DispatchMessage } from "../queue/dispatch-message";
import { closeRuns, newExecutionMarks, recordExecution } from "../billing/usage";
import { applyEncoderEvent, taskFor } from "./encoder-events";
import { writeJobIndex } from "./job-index";
import type { JobSpec } from "./job-spec";
import { type JobState, type JobView, jobView } from "./job-state";
import { terminalStatuses } from "./model";
import { planJob } from "./plan";
import { type StoredJob, upgradeStoredJob } from "./stored-job";
import { type TaskLogView, TaskLogs } from "./task-log";
import { Watchers, watchEvent } from "./watchers";
import { signStorageUrl } from "../storage/signed-urls";
import type { ExportJob } from "../storage/export-uploads";
import { bucketOpener, bucketReadUrl } from "../origins/buckets";
import { placeOutputFile } from "./output-placement";
import type { WebhookEventType } from "../webhooks/message";
import { isUploadRef } from "../uploads/store";
import { recordProbeFromJob } from "../uploads/probe";
import { scheduleWebhook } from "../webhooks/schedule";
import { type JobAction, nextStatus } from "./transitions";
import { type DrmKey, openDrmKey, sealDrmKey, takeDrmKeys } from "../drm/keys";
import { signKeyUrl } from "../drm/key-url";
import { randomHex } from "../bytes";

export type CreateOutcome =
  | { outcome: "created"; job: JobView }
  | { outcome: "existing"; job: JobView }
  | { outcome: "conflict" };
export type ActionOutcome = { ok: true; job: JobView } | { ok: false; invalidState: JobState["status"] } | null;
export type DispatchDecision = "accepted" | "duplicate" | "stale" | "busy" | "unreachable" | "failed";
export type EventOutcome = { status: 200; directive: "continue" | "cancel" } | { status: 404 | 409; directive: "cancel" };


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
  /** Webhook events not yet handed to the webhook Queue, with the job as it was then. */
  webhooks?: { event: WebhookEventType; job: JobView }[];
}

const RETRY_MS = 5_000;
const PROGRESS_DEBOUNCE_MS = 200;
const HEARTBEAT_MS = 30_000;
/** Output URLs are minted afresh on every read, so they can be short-lived. */
const OUTPUT_URL_TTL_S = 6 * 3600;

/**
 * One Durable Object per job, because a job is the unit of consistency: its state
 * machine, tasks, outputs and attempts change together, and every change (create,
 * cancel, an encoder event, the watchdog) goes through this single writer, so no two
 * of them can race. The state lives in the DO's SQLite storage; D1 holds an index of it.
 */
export class JobDO extends DurableObject<Env> {
  private job: JobState | null = null;
  private readonly watchers: Watchers;
  private notified: { status: string | null; progress: number; at: number; timer?: ReturnType<typeof setTimeout> } = { status: null, progress: -1, at: 0 };
  private lastHeartbeatAt = 0;
  private broadcasting: Promise<void> = Promise.resolve();
  private pending: Pending = { index: false, indexTags: false, lastIndexedAt: 0, indexedStatus: null, dispatchAttempt: null };
  private readonly logs: TaskLogs;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.watchers = new Watchers(ctx);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS doc (name TEXT PRIMARY KEY, body TEXT NOT NULL)");
    this.logs = new TaskLogs(ctx.storage.sql);
    for (const row of ctx.storage.sql.exec<{ name: string; body: string }>("SELECT name, body FROM doc")) {
      if (row.name === "job") this.job = upgradeStoredJob(JSON.parse(row.body) as StoredJob);
      if (row.name === "pending") this.pending = JSON.parse(row.body);
    }
    // Watchers (hibernated sockets) have seen the state as it was when this instance
    // woke: only changes from here on are news to them.
    this.notified.status = this.job?.status ?? null;
    this.notified.progress = this.job?.progress ?? -1;
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
    const now = nowIso();
    const { spec, keys } = takeDrmKeys(command.spec);
    const { tasks, outputs } = planJob(spec, now);
    const drmKeys = await Promise.all(
      [...keys].map(([index, key]) => sealDrmKey(this.env, { orgId: command.orgId, jobId: command.jobId, outputId: outputs[index]!.id }, key)),
    );
    // Everything from here up to save() is synchronous, so of many concurrent creates
    // with one idempotency key exactly one finds no job here and creates it.
    if (this.job) {
      if (this.job.org_id !== command.orgId || this.job.request_hash !== command.requestHash) return { outcome: "conflict" };
      return { outcome: "existing", job: jobView(this.job) };
    }
    this.job = {
      id: command.jobId,
      org_id: command.orgId,
      spec,
      ...(drmKeys.length > 0 ? { drm_keys: drmKeys } : {}),
      request_hash: command.requestHash,
      idempotency_key: command.idempotencyKey,
      resubmitted_from: command.resubmittedFrom,
      status: "pending",
      progress: 0,
      current_stage: null,
      attempt: 1,
      dispatched_attempt: null,
      lease: null,
      lost_attempts: 0,
      tasks,
      outputs,
      input_metadata: null,
      execution: newExecutionMarks(),
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
    return { outcome: "created", job: await this.present(this.job) };
  }

  /**
   * Watch: a WebSocket (hibernatable) or an NDJSON stream of the job's events, opened
   * by the Worker route after it has checked the caller's organization.
   */
  override async fetch(request: Request): Promise<Response> {
    const orgId = request.headers.get("x-kiln-org-id") ?? "";
    if (new URL(request.url).pathname !== "/watch" || !this.owned(orgId)) return new Response(null, { status: 404 });
    const job = this.job!;
    const view = await this.present(job);
    const done = terminalStatuses.includes(job.status);
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      const response = this.watchers.acceptSocket(watchEvent("snapshot", view));
      if (done) this.watchers.broadcast(watchEvent("completed", view), true);
      else await this.armAlarm(Date.now() + HEARTBEAT_MS);
      return response;
    }
    if (done) return this.watchers.openStream(`${watchEvent("snapshot", view)}\n${watchEvent("completed", view)}`, true);
    await this.armAlarm(Date.now() + HEARTBEAT_MS);
    return this.watchers.openStream(watchEvent("snapshot", view), false);
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): void {
    if (message === "ping") socket.send(JSON.stringify({ event: "pong", server_time: new Date().toISOString() }));
  }

  override webSocketClose(socket: WebSocket, code: number): void {
    // Completes the closing handshake a watcher started; nothing else to forget.
    try {
      socket.close(code === 1005 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  /**
   * Tells watchers what changed: a new status at once (and `completed`, closing the
   * watch, on a terminal one), progress at most every PROGRESS_DEBOUNCE_MS.
   */
  private notifyWatchers(): void {
    const job = this.job;
    if (!job) return;
    if (this.watchers.count === 0) {
      // Nobody to tell; a watcher that connects later starts from a snapshot.
      this.notified.status = job.status;
      this.notified.progress = job.progress;
      return;
    }
    if (job.status !== this.notified.status) {
      this.notified.status = job.status;
      this.notified.progress = job.progress;
      this.notified.at = Date.now();
      const done = terminalStatuses.includes(job.status);
      // Sent in order: each broadcast waits for the one before it.
      this.broadcasting = this.broadcasting.then(async () => {
        const view = await this.present(job);
        this.watchers.broadcast(watchEvent("status_change", view), false);
        if (done) this.watchers.broadcast(watchEvent("completed", view), true);
      }).catch((err) => console.error(JSON.stringify({ level: "error", job_id: job.id, message: `watch broadcast failed: ${String(err)}` })));
      return;
    }
    if (job.progress === this.notified.progress || this.notified.timer) return;
    const wait = Math.max(0, this.notified.at + PROGRESS_DEBOUNCE_MS - Date.now());
    this.notified.timer = setTimeout(() => {
      this.notified.timer = undefined;
      const current = this.job;
      if (!current || terminalStatuses.includes(current.status) || current.progress === this.notified.progress) return;
      this.notified.progress = current.progress;
      this.notified.at = Date.now();
      this.broadcasting = this.broadcasting
        .then(async () => this.watchers.broadcast(watchEvent("progress", await this.present(current)), false))
        .catch((err) => console.error(JSON.stringify({ level: "error", job_id: current.id, message: `watch broadcast failed: ${String(err)}` })));
    }, wait);
  }

  async get(orgId: string): Promise<JobView | null> {
    return this.owned(orgId) ? this.present(this.job!) : null;
  }

  /**
   * The API's view of the job, with a freshly signed URL for every completed output.
   * A playlist's URL is signed for its whole directory, so a player can fetch the
   * variant playlists and segments it names relative to it.
   */
  private present(job: JobState): Promise<JobView> {
    return this.signOutputs(jobView(job), job);
  }

  private async signOutputs(view: JobView, job: JobState): Promise<JobView> {
    const open = bucketOpener(this.env, job.org_id);
    await Promise.all(
      view.outputs.map(async (output) => {
        const stored = job.outputs.find((o) => o.id === output.id);
        const drm = job.drm_keys?.find((k) => k.output_id === output.id);
        if (drm) {
          const key_url = await signKeyUrl(this.env, this.env.PUBLIC_URL, job.id, output.id, OUTPUT_URL_TTL_S);
          output.drm = { scheme: drm.scheme, key_id: drm.key_id, key_url };
        }
        if (output.status !== "completed" || !stored) return;
        if (stored.main_object) {
          output.output_url = await bucketReadUrl(open, stored.main_object, OUTPUT_URL_TTL_S);
          return;
        }
        if (!stored.main_key) return;
        // Playlists and storyboards name their segments and sprite sheets relative to
        // themselves; a thumbnail set's other stills sit beside its first.
        const sign = (key: string) => {
          const directory = /\.(m3u8|mpd|vtt)$/.test(key) || output.type === "thumbnail";
          return signStorageUrl(this.env, { method: "GET", key, expiresInSeconds: OUTPUT_URL_TTL_S, scope: directory ? "prefix" : "object" }, this.env.PUBLIC_URL);
        };
        output.output_url = await sign(stored.main_key);
        if (stored.manifest_key) output.manifest_url = await sign(stored.manifest_key);
      }),
    );
    return view;
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

  /** Cancel is push and pull: the encoder is told now, and every later event it posts is answered `cancel`. */
  async cancel(orgId: string): Promise<ActionOutcome> {
    const wasRunning = this.job?.lease != null;
    const outcome = await this.act(orgId, "cancel");
    if (outcome?.ok && wasRunning) await cancelOnEncoder(this.env, this.job!.id);
    return outcome;
  }

  /** Confirming a delayed start dispatches a fresh attempt, which encodes this time. */
  async confirm(orgId: string): Promise<ActionOutcome> {
    if (!this.owned(orgId)) return null;
    const job = this.job!;
    if (job.status === "awaiting_confirmation") {
      job.attempt += 1;
      job.lease = null;
      this.pending.dispatchAttempt = job.attempt;
    }
    return this.transition("confirm");
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
    if (!nextStatus(job.status, action)) return { ok: false, invalidState: job.status };
    this.applyTransition(job, action, nowIso(), error);
    this.pending.index = true;
    this.save();
    await this.flush();
    return { ok: true, job: await this.present(job) };
  }

  private applyTransition(job: JobState, action: JobAction, now: string, error?: { code: string; message: string }): void {
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
        job.lease = null;
        this.pending.dispatchAttempt = job.attempt;
        for (const task of job.tasks) {
          if (task.status === "running") Object.assign(task, { status: "waiting", progress: 0, updated_at: now });
        }
        break;
    }
    if (terminalStatuses.includes(next)) {
      job.lease = null;
      this.finish(job, now);
    }
    this.queueWebhooks(job, terminalStatuses.includes(next) ? (`job.${next}` as WebhookEventType) : null);
  }

  /** Webhooks the job asked for on this transition, delivered by flush() (and retried by the alarm). */
  private queueWebhooks(job: JobState, terminalEvent: WebhookEventType | null): void {
    if (!job.spec.webhook_url) return;
    const wanted = job.spec.webhook_events;
    const events = [
      ...(wanted.includes("job.status_changed") ? (["job.status_changed"] as const) : []),
      ...(terminalEvent && wanted.includes(terminalEvent) ? [terminalEvent] : []),
    ];
    if (events.length === 0) return;
    const snapshot = jobView(job);
    this.pending.webhooks = [...(this.pending.webhooks ?? []), ...events.map((event) => ({ event, job: snapshot }))];
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
   * Decides what a dispatch message from the Queue means for this job and, for the
   * current attempt, hands the work order to the encoder. Duplicates and messages for
   * attempts the job has moved past are dropped, so no two attempts ever run at once;
   * `busy` asks the consumer to retry the message later.
   */
  async receiveDispatch(message: DispatchMessage): Promise<DispatchDecision> {
    const job = this.job;
    if (!job || job.id !== message.job_id || message.attempt !== job.attempt) return "stale";
    if (terminalStatuses.includes(job.status) || job.status === "awaiting_confirmation") return "stale";
    if (job.dispatched_attempt === message.attempt) return "duplicate";
    // Claimed before the await, so a concurrent redelivery sees a duplicate.
    job.dispatched_attempt = message.attempt;
    job.lease = { attempt: job.attempt, token: leaseToken(), expires_at: Date.now() + this.leaseTimeoutMs(), last_seq: -1 };
    this.save();
    let outcome: Awaited<ReturnType<typeof sendWorkOrder>>;
    try {
      outcome = await sendWorkOrder(this.env, await buildWorkOrder(job, job.lease, this.env.PUBLIC_URL, this.env));
    } catch (err) {
      if (!(err instanceof UndispatchableJob)) throw err;
      job.lease = null;
      await this.transition("fail", { code: err.code, message: err.message });
      return "failed";
    }
    if (outcome === "accepted" || outcome === "unreachable") {
      // An unreachable encoder is handled as one that died holding the order: the lease
      // runs out and the watchdog dispatches the next attempt, or gives up.
      await this.armAlarm(job.lease?.expires_at ?? Date.now());
      return outcome;
    }
    if (outcome === "busy") {
      if (job.lease?.attempt === message.attempt) job.lease = null;
      if (job.dispatched_attempt === message.attempt) job.dispatched_attempt = null;
      this.save();
      return "busy";
    }
    job.lease = null;
    await this.transition("fail", { code: "internal_error", message: "The encoder refused the work order" });
    return "failed";
  }

  /**
   * Applies one event from the encoder running the current attempt and answers with a
   * directive. Events from any other attempt (or with a wrong token) are refused, which
   * tells a stale encoder to stop.
   */
  async handleEncoderEvent(event: EncoderEvent, token: string): Promise<EventOutcome> {
    const job = this.job;
    if (!job) return { status: 404, directive: "cancel" };
    const lease = job.lease;
    if (!lease || lease.token !== token || lease.attempt !== event.attempt) return { status: 409, directive: "cancel" };
    if (terminalStatuses.includes(job.status) || job.status === "awaiting_confirmation") return { status: 200, directive: "cancel" };
    lease.expires_at = Date.now() + this.leaseTimeoutMs();
    if (event.seq <= lease.last_seq) return { status: 200, directive: "continue" };
    lease.last_seq = event.seq;
    if (event.type === "heartbeat" || event.type === "task_log") {
      // Log lines go to their own table; otherwise only the lease moves: nothing for the index, the watchers or updated_at.
      if (event.type === "task_log" && job.tasks.some((t) => t.id === event.task_id)) this.logs.append(event.task_id, event.lines);
      this.save();
      return { status: 200, directive: "continue" };
    }

    const now = nowIso();
    const taskId = "stage" in event ? (event.task_id ?? taskFor(job, event.stage, null)?.id) : undefined;
    recordExecution(job.execution, event, taskId, Date.parse(now));
    let directive: "continue" | "cancel" = "continue";
    for (const effect of applyEncoderEvent(job, event, (outputId, path) => placeOutputFile(job, outputId, path), now)) {
      if ("pause" in effect) {
        job.lease = null;
        directive = "cancel";
      } else if ("progress" in effect) {
        if (!terminalStatuses.includes(job.status)) {
          job.progress = Math.max(job.progress, Math.min(100, Math.round(effect.progress)));
          job.current_stage = effect.stage;
        }
      } else if (nextStatus(job.status, effect.action)) {
        this.applyTransition(job, effect.action, now, effect.error);
      }
    }
    if (terminalStatuses.includes(job.status)) {
      // Whatever the encoder still holds for this job is of no use now.
      job.lease = null;
      directive = "cancel";
    }
    job.updated_at = now;
    this.pending.index = true;
    this.save();
    await this.flush();
    if (event.type === "metadata" && isUploadRef(job.spec.input)) await this.shareProbe(job.spec.input, event.input_metadata);
    return { status: 200, directive };
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

  /** The input upload takes the facts this job's probe found, if it has none (best effort). */
  private async shareProbe(uploadId: string, metadata: Extract<EncoderEvent, { type: "metadata" }>["input_metadata"]): Promise<void> {
    try {
      await recordProbeFromJob(this.env.DB, this.job!.org_id, uploadId, metadata);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", job_id: this.job!.id, message: `could not share the probe with ${uploadId}: ${String(err)}` }));
    }
  }

  /**
   * Retention: a job that ended at or before `cutoff` (ms) loses its outputs in managed
   * storage (those in the user's buckets are the user's). Completed outputs become
   * `expired` with no URL before the caller deletes their files, so no URL is signed for
   * an object that is going away. False when the job is not (or no longer) ended that
   * long ago, e.g. restarted since the index was read.
   */
  async expireOutputs(cutoff: number): Promise<boolean> {
    const job = this.job;
    if (!job || !terminalStatuses.includes(job.status) || job.completed_at === null || Date.parse(job.completed_at) > cutoff) return false;
    const live = job.outputs.filter((o) => o.status === "completed" && o.main_object === null);
    if (live.length === 0) return true;
    for (const output of live) Object.assign(output, { status: "expired", output_url: null, main_key: null, manifest_key: null });
    job.updated_at = nowIso();
    this.pending.index = true;
    this.save();
    await this.flush();
    return true;
  }

  override async alarm(): Promise<void> {
    if (this.job && this.watchers.count > 0 && Date.now() - this.lastHeartbeatAt >= HEARTBEAT_MS - 1_000) {
      this.lastHeartbeatAt = Date.now();
      this.watchers.broadcast(watchEvent("heartbeat", await this.present(this.job)), false);
    }
    await this.watchLease();
    // The alarm was armed for the moment the throttled index write fell due.
    await this.flush({ indexDue: true });
  }

  /**
   * The watchdog: an attempt whose encoder has gone silent for LEASE_TIMEOUT_MS is
   * lost. The job is dispatched again as the next attempt, until MAX_ATTEMPTS have
   * been lost, when it fails with encoder_lost.
   */
  private async watchLease(): Promise<void> {
    const job = this.job;
    const lease = job?.lease;
    if (!job || !lease || lease.expires_at > Date.now()) return;
    job.lease = null;
    job.lost_attempts += 1;
    // The lost encoder's tasks are charged up to now, not until the next attempt reports.
    closeRuns(job.execution, Date.now());
    const maxAttempts = Number(this.env.MAX_ATTEMPTS) || 3;
    if (job.lost_attempts >= maxAttempts) {
      await this.transition("fail", { code: "encoder_lost", message: `The encoder stopped reporting ${job.lost_attempts} times; giving up` });
      return;
    }
    if (job.status === "pending") {
      // Dispatched but never started: the same state, a new attempt.
      job.attempt += 1;
      this.pending.dispatchAttempt = job.attempt;
      this.save();
      await this.flush();
      return;
    }
    await this.transition("requeue");
  }

  private leaseTimeoutMs(): number {
    return Number(this.env.LEASE_TIMEOUT_MS) || 30_000;
  }

  private async armAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
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
    closeRuns(job.execution, Date.parse(now));
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
    job.lease = null;
    job.lost_attempts = 0;
    job.progress = 0;
    job.current_stage = null;
    job.error = null;
    job.input_metadata = null;
    job.execution = newExecutionMarks();
    this.logs.clear();
    job.started_at = job.probed_at = job.confirmed_at = job.completed_at = null;
    for (const task of job.tasks) {
      Object.assign(task, { status: "waiting", progress: 0, error: null, started_at: null, finished_at: null, updated_at: now });
    }
    for (const output of job.outputs) {
      Object.assign(output, { status: "pending", output_url: null, file_size_bytes: null, facts: null, error: null, main_key: null, main_object: null, manifest_key: null, content_aware: null });
    }
    this.pending.dispatchAttempt = job.attempt;
  }

  private save(): void {
    this.notifyWatchers();
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT OR REPLACE INTO doc (name, body) VALUES ('job', ?), ('pending', ?)", JSON.stringify(this.job), JSON.stringify(this.pending));
  }

  /** flush() changes only the duties: the job itself was saved by whoever changed it. */
  private savePending(): void {
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO doc (name, body) VALUES ('pending', ?)", JSON.stringify(this.pending));
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

    const webhooks = pending.webhooks ?? [];
    pending.webhooks = [];
    for (const [i, webhook] of webhooks.entries()) {
      try {
        await scheduleWebhook(this.env, await this.signOutputs(webhook.job, job), webhook.event, job.org_id);
      } catch (err) {
        console.error(JSON.stringify({ level: "error", job_id: job.id, message: `webhook scheduling failed: ${String(err)}` }));
        pending.webhooks = [...webhooks.slice(i), ...(pending.webhooks ?? [])];
        nextAt = Math.min(nextAt ?? Infinity, now + RETRY_MS);
        break;
      }
    }

    if (job.lease) nextAt = Math.min(nextAt ?? Infinity, job.lease.expires_at);
    if (this.watchers.count > 0 && !terminalStatuses.includes(job.status)) nextAt = Math.min(nextAt ?? Infinity, Math.max(now, this.lastHeartbeatAt) + HEARTBEAT_MS);
    this.savePending();
    if (nextAt !== null) await this.armAlarm(nextAt);
  }
}

function leaseToken(): string {
  return randomHex(24);
}
