import { CONTRACT_VERSION, type EncoderEvent, type WorkOrder, directiveSchema } from "../contract";

type EventBody = EncoderEvent extends infer E ? (E extends EncoderEvent ? Omit<E, "v" | "job_id" | "attempt" | "seq" | "at"> : never) : never;

const PROGRESS_INTERVAL_MS = 500;
const FINAL_ATTEMPTS = 5;

/**
 * Posts a job's events to the Worker in order and obeys the directive each answer
 * carries: `cancel` aborts the job even if the Worker's direct cancel call was lost.
 * Progress is coalesced (the newest value wins) so a slow callback never queues up
 * stale updates; other events are retried until delivered or given up on.
 */
export class Reporter {
  private seq = 0;
  private chain: Promise<void> = Promise.resolve();
  private pendingProgress: EventBody | null = null;
  private lastProgressAt = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  jobProgress = 0;

  constructor(
    private readonly order: WorkOrder,
    private readonly onCancel: () => void,
    private readonly heartbeatMs: number,
  ) {}

  startHeartbeat(): void {
    this.heartbeat = setInterval(() => void this.send({ type: "heartbeat", job_progress: this.jobProgress }), this.heartbeatMs);
    this.heartbeat.unref();
  }

  stop(): Promise<void> {
    clearInterval(this.heartbeat);
    return this.chain;
  }

  /** Raises job progress (never lowers it) and reports it, at most every PROGRESS_INTERVAL_MS. */
  progress(stage: "probe" | "import" | "encode" | "export", taskId: string | null, taskProgress: number, jobProgress: number): void {
    this.jobProgress = Math.max(this.jobProgress, Math.min(100, Math.round(jobProgress * 10) / 10));
    this.pendingProgress = { type: "progress", stage, task_id: taskId, task_progress: Math.min(100, Math.round(taskProgress * 10) / 10), job_progress: this.jobProgress };
    const now = Date.now();
    if (now - this.lastProgressAt < PROGRESS_INTERVAL_MS && taskProgress < 100) return;
    this.lastProgressAt = now;
    this.chain = this.chain.then(() => {
      const event = this.pendingProgress;
      this.pendingProgress = null;
      return event ? this.post(event, 1) : undefined;
    });
  }

  /** Queues an event behind the ones before it; resolves when it has been delivered or given up. */
  send(event: EventBody): Promise<void> {
    this.chain = this.chain.then(() => this.post(event, event.type === "heartbeat" ? 1 : FINAL_ATTEMPTS));
    return this.chain;
  }

  private async post(body: EventBody, attempts: number): Promise<void> {
    const event = { v: CONTRACT_VERSION, job_id: this.order.job_id, attempt: this.order.attempt, seq: this.seq++, at: new Date().toISOString(), ...body };
    for (let i = 0; i < attempts; i++) {
      try {
        const res = await fetch(this.order.callback.url, {
          method: "POST",
          headers: { authorization: `Bearer ${this.order.callback.token}`, "content-type": "application/json" },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(10_000),
        });
        if (res.ok) {
          const directive = directiveSchema.safeParse(await res.json().catch(() => null));
          if (directive.success && directive.data.directive === "cancel") this.onCancel();
          return;
        }
        // The Worker no longer knows this attempt: nothing it will ever accept, stop.
        if (res.status === 404 || res.status === 409 || res.status === 410) {
          this.onCancel();
          return;
        }
      } catch {
        // network trouble: retry below
      }
      if (i + 1 < attempts) await new Promise((r) => setTimeout(r, 250 * 2 ** i));
    }
  }
}
