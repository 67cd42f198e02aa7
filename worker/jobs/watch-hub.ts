import type { JobState, JobView } from "./job-state";
import { terminalStatuses } from "./model";

export type WatchEventName = "snapshot" | "progress" | "status_change" | "completed" | "heartbeat";

export function watchEvent(event: WatchEventName, job: JobView): string {
  return JSON.stringify({ event, job, server_time: new Date().toISOString() });
}

const encoder = new TextEncoder();

/**
 * The job's watchers: WebSockets accepted through the hibernation API (they survive
 * the DO being evicted between events) and NDJSON streams (held in memory; a stream
 * keeps its DO alive while it is open). Both get the same events.
 */
class Watchers {
  private readonly streams = new Set<WritableStreamDefaultWriter<Uint8Array>>();

  constructor(private readonly ctx: DurableObjectState) {}

  get count(): number {
    return this.ctx.getWebSockets().length + this.streams.size;
  }

  acceptSocket(first: string): Response {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].send(first);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  openStream(first: string, closeAfter: boolean): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    void writer.write(encoder.encode(`${first}\n`));
    if (closeAfter) void writer.close();
    else this.streams.add(writer);
    return new Response(readable, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" } });
  }

  broadcast(line: string, close: boolean): void {
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.send(line);
        if (close) socket.close(1000, "job finished");
      } catch {
        // a socket that is already closing
      }
    }
    for (const writer of this.streams) {
      writer.write(encoder.encode(`${line}\n`)).catch(() => this.streams.delete(writer));
      if (close) {
        writer.close().catch(() => undefined);
        this.streams.delete(writer);
      }
    }
  }
}

const PROGRESS_DEBOUNCE_MS = 200;
export const HEARTBEAT_MS = 30_000;

/**
 * The job's Watch: who is watching, and what they have been told. A new status goes
 * out at once (and `completed`, closing the watch, on a terminal one), progress at most
 * every PROGRESS_DEBOUNCE_MS, a heartbeat every HEARTBEAT_MS. It reads the job only
 * through `present`, so it never changes it.
 */
export class WatchHub {
  private readonly watchers: Watchers;
  private notified: { status: string | null; progress: number; at: number; timer?: ReturnType<typeof setTimeout> } = { status: null, progress: -1, at: 0 };
  private lastHeartbeatAt = 0;
  private broadcasting: Promise<void> = Promise.resolve();
  /** The newest state the shell has told this hub of; a debounced progress event shows it. */
  private latest: JobState | null = null;

  constructor(
    ctx: DurableObjectState,
    private readonly present: (job: JobState) => Promise<JobView>,
    job: JobState | null,
  ) {
    this.watchers = new Watchers(ctx);
    // Watchers (hibernated sockets) have seen the state as it was when this instance
    // woke: only changes from here on are news to them.
    this.notified.status = job?.status ?? null;
    this.notified.progress = job?.progress ?? -1;
  }

  /** Opens a watch: a WebSocket on upgrade, otherwise an NDJSON stream; both start with a snapshot. */
  async open(request: Request, job: JobState): Promise<Response> {
    const view = await this.present(job);
    const done = terminalStatuses.includes(job.status);
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      const response = this.watchers.acceptSocket(watchEvent("snapshot", view));
      if (done) this.watchers.broadcast(watchEvent("completed", view), true);
      return response;
    }
    if (done) return this.watchers.openStream(`${watchEvent("snapshot", view)}\n${watchEvent("completed", view)}`, true);
    return this.watchers.openStream(watchEvent("snapshot", view), false);
  }

  /** When the next heartbeat is owed, or null when nobody watches a live job. */
  nextHeartbeatAt(job: JobState, now: number): number | null {
    if (this.watchers.count === 0 || terminalStatuses.includes(job.status)) return null;
    return Math.max(now, this.lastHeartbeatAt) + HEARTBEAT_MS;
  }

  /** Sends a heartbeat if one is (nearly) due. */
  async heartbeat(job: JobState, now: number): Promise<void> {
    if (this.watchers.count === 0 || now - this.lastHeartbeatAt < HEARTBEAT_MS - 1_000) return;
    this.lastHeartbeatAt = now;
    this.watchers.broadcast(watchEvent("heartbeat", await this.present(job)), false);
  }

  /** Tells watchers what changed since they were last told. */
  private tell(job: JobState): void {
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
      this.broadcasting = this.broadcasting
        .then(async () => {
          const view = await this.present(job);
          this.watchers.broadcast(watchEvent("status_change", view), false);
          if (done) this.watchers.broadcast(watchEvent("completed", view), true);
        })
        .catch((err) => logFailure(job.id, err));
      return;
    }
    if (job.progress === this.notified.progress || this.notified.timer) return;
    const wait = Math.max(0, this.notified.at + PROGRESS_DEBOUNCE_MS - Date.now());
    this.notified.timer = setTimeout(() => {
      this.notified.timer = undefined;
      const current = this.latest;
      if (!current || terminalStatuses.includes(current.status) || current.progress === this.notified.progress) return;
      this.notified.progress = current.progress;
      this.notified.at = Date.now();
      this.broadcasting = this.broadcasting
        .then(async () => this.watchers.broadcast(watchEvent("progress", await this.present(current)), false))
        .catch((err) => logFailure(current.id, err));
    }, wait);
  }

  /** Records the newest state (the shell replaces its state on every step) and tells watchers. */
  update(job: JobState): void {
    this.latest = job;
    this.tell(job);
  }
}

function logFailure(jobId: string, err: unknown): void {
  console.error(JSON.stringify({ level: "error", job_id: jobId, message: `watch broadcast failed: ${String(err)}` }));
}
