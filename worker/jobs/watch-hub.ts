import { publishedProgressively } from "../../encoder/contract";
import type { JobState, JobView } from "./job-state";
import { KeyStanding, type LapsedKeys } from "./key-standing";
import { terminalStatuses } from "./model";

export type WatchEventName = "snapshot" | "progress" | "status_change" | "playable" | "completed" | "heartbeat";

/**
 * Whether every output published as it is made (publishedProgressively) plays: the
 * Watch's `playable`. Outputs that failed or were canceled are not waited for; false
 * when the job has no such output.
 */
export function everyPackagePlayable(job: JobState): boolean {
  const packages = job.outputs.filter(
    (o) => publishedProgressively(o.type, job.drm_keys?.find((k) => k.output_id === o.id)?.scheme) && o.status !== "failed" && o.status !== "canceled",
  );
  return packages.length > 0 && packages.every((o) => o.playable_at);
}

/** An event as it goes out, presented once for every watcher, and its `server_time`, which a socket acknowledges it by. */
export interface WatchMessage {
  line: string;
  at: string;
}

export function watchEvent(event: WatchEventName, job: JobView): WatchMessage {
  const at = new Date().toISOString();
  return { line: JSON.stringify({ event, job, server_time: at }), at };
}

const encoder = new TextEncoder();

/** The credential a watcher opened its Watch with: the API key it stands on, and when it ends (unix s). */
export interface WatchCredential {
  keyId?: string;
  expires?: number;
}

/** The close codes (private range) a Watch ends with when its credential does, or when it falls behind. */
export const WATCH_CLOSE = {
  expired: { code: 4001, reason: "watch token expired" },
  revoked: { code: 4003, reason: "api key revoked" },
  tooSlow: { code: 4008, reason: "too slow" },
} as const;

/**
 * How many events a watcher may have outstanding before it is dropped: an NDJSON stream's
 * events not yet read off it, an acknowledging socket's events not yet acknowledged. At
 * most one progress event per PROGRESS_DEBOUNCE_MS, so this is seconds behind a busy job;
 * a watcher dropped reconnects to a snapshot, which is all it had to catch up to.
 */
export const WATCH_BACKLOG = 32;


/** The credential the job service passed along with the watch request. */
export function watchCredential(request: Request): WatchCredential {
  const keyId = request.headers.get("x-kiln-key-id") ?? undefined;
  const expiresText = request.headers.get("x-kiln-expires");
  const expires = expiresText && /^\d{1,12}$/.test(expiresText) ? Number(expiresText) : undefined;
  return { ...(keyId ? { keyId } : {}), ...(expires !== undefined ? { expires } : {}) };
}

/**
 * The job's watchers: WebSockets accepted through the hibernation API (they survive
 * the DO being evicted between events; each keeps its credential as its attachment)
 * and NDJSON streams (held in memory; a stream keeps its DO alive while it is open).
 * Both get the same events, and both end when their credential does.
 */
class Watchers {
  private readonly streams = new Map<WritableStreamDefaultWriter<Uint8Array>, WatchCredential>();
  /** The `server_time`s of the events each acknowledging socket has not acknowledged yet (memory only: see acknowledge). */
  private readonly unacked = new Map<WebSocket, string[]>();

  constructor(private readonly ctx: DurableObjectState) {}

  get count(): number {
    return this.ctx.getWebSockets().length + this.streams.size;
  }

  /**
   * A socket has handled every event up to `serverTime`. workerd gives a socket no
   * `bufferedAmount` (cloudflare/workerd#988), so the DO cannot see what a socket has not
   * read: acknowledgements are the closest it gets. A socket that has acknowledged once is
   * held to WATCH_BACKLOG from then on; one that never does is not judged. After the DO
   * hibernates (nothing outstanding then) a socket is judged again from its next one.
   */
  acknowledge(socket: WebSocket, serverTime: string): void {
    this.unacked.set(socket, (this.unacked.get(socket) ?? []).filter((at) => at > serverTime));
  }

  forget(socket: WebSocket): void {
    this.unacked.delete(socket);
  }

  acceptSocket(first: string, credential: WatchCredential): Response {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].serializeAttachment(credential);
    pair[1].send(first);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  openStream(first: string, closeAfter: boolean, credential: WatchCredential): Response {
    // The writable side queues what the reader has not taken yet: its desiredSize counts
    // down from WATCH_BACKLOG as events wait there.
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(undefined, new CountQueuingStrategy({ highWaterMark: WATCH_BACKLOG }));
    const writer = writable.getWriter();
    void writer.write(encoder.encode(`${first}\n`));
    if (closeAfter) void writer.close();
    else this.streams.set(writer, credential);
    return new Response(readable, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" } });
  }

  private credentials(): { credential: WatchCredential; close: (how: { code: number; reason: string }) => void }[] {
    // A socket already closing is done with: counting it would re-arm the alarm for a past expiry.
    const sockets = this.ctx.getWebSockets().filter((socket) => socket.readyState === WebSocket.OPEN).map((socket) => ({
      credential: (socket.deserializeAttachment() ?? {}) as WatchCredential,
      close: (how: { code: number; reason: string }) => {
        try {
          socket.close(how.code, how.reason);
        } catch {
          // already closing
        }
      },
    }));
    const streams = [...this.streams].map(([writer, credential]) => ({
      credential,
      close: () => {
        this.streams.delete(writer);
        writer.close().catch(() => undefined);
      },
    }));
    return [...sockets, ...streams];
  }

  /** The earliest moment (ms) a watcher's credential ends, or null. */
  earliestExpiry(): number | null {
    const ends = this.credentials().flatMap(({ credential }) => (credential.expires === undefined ? [] : [credential.expires * 1000]));
    return ends.length ? Math.min(...ends) : null;
  }

  /** Closes every watcher whose token has expired or whose key no longer stands. */
  async closeLapsed(now: number, lapsedKeys: (keyIds: string[], now: number) => Promise<Set<string>>): Promise<void> {
    const open = [];
    for (const watcher of this.credentials()) {
      if (watcher.credential.expires !== undefined && watcher.credential.expires * 1000 <= now) watcher.close(WATCH_CLOSE.expired);
      else open.push(watcher);
    }
    const keyIds = [...new Set(open.flatMap(({ credential }) => (credential.keyId ? [credential.keyId] : [])))];
    if (keyIds.length === 0) return;
    const lapsed = await lapsedKeys(keyIds, now);
    for (const watcher of open) if (watcher.credential.keyId && lapsed.has(watcher.credential.keyId)) watcher.close(WATCH_CLOSE.revoked);
  }

  /** Sends one event to every watcher, dropping those WATCH_BACKLOG events behind; `close` ends every watch after it. */
  broadcast({ line, at }: WatchMessage, close: boolean): void {
    for (const socket of this.ctx.getWebSockets()) {
      const unacked = this.unacked.get(socket);
      try {
        if (unacked && unacked.length >= WATCH_BACKLOG) {
          this.unacked.delete(socket);
          socket.close(WATCH_CLOSE.tooSlow.code, WATCH_CLOSE.tooSlow.reason);
          continue;
        }
        socket.send(line);
        unacked?.push(at);
        if (close) socket.close(1000, "job finished");
      } catch {
        // a socket that is already closing
      }
    }
    // Encoded once for every stream.
    const bytes = encoder.encode(`${line}\n`);
    for (const writer of this.streams.keys()) {
      if (!close && (writer.desiredSize ?? 0) <= 0) {
        // Its reader is WATCH_BACKLOG events behind: the stream ends after what it holds, as on revocation.
        this.streams.delete(writer);
        writer.close().catch(() => undefined);
        continue;
      }
      writer.write(bytes).catch(() => this.streams.delete(writer));
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
 * out at once (and `completed`, closing the watch, on a terminal one), `playable` at
 * once when every package published as it is made can be played (everyPackagePlayable),
 * progress at most every PROGRESS_DEBOUNCE_MS, a heartbeat every HEARTBEAT_MS. It reads
 * the job only through `present`, so it never changes it.
 *
 * A watcher's credential is checked before every broadcast and heartbeat (its keys'
 * standing, `lapsedKeys`: a D1 read at every heartbeat, at most STANDING_TTL_MS old for
 * a broadcast, see KeyStanding), and the shell's alarm is armed for the earliest token
 * expiry: an expired token's watcher is closed at its expiry (4001), a revoked key's at
 * the next event or heartbeat (4003, within HEARTBEAT_MS when the job is quiet); neither
 * is sent anything after, nor anything STANDING_TTL_MS after the revocation is in D1.
 */
export class WatchHub {
  private readonly watchers: Watchers;
  private notified: { status: string | null; progress: number; playable: boolean; at: number; timer?: ReturnType<typeof setTimeout> } = {
    status: null,
    progress: -1,
    playable: false,
    at: 0,
  };
  private lastHeartbeatAt = 0;
  private broadcasting: Promise<void> = Promise.resolve();
  /** Watches opened but not yet in place: changes meanwhile are news to them too. */
  private opening = 0;
  /** The newest state the shell has told this hub of; a debounced progress event shows it. */
  private latest: JobState | null = null;
  /** Key standing for broadcasts; heartbeats read D1 afresh. */
  private readonly standing: KeyStanding;

  constructor(
    ctx: DurableObjectState,
    private readonly present: (job: JobState) => Promise<JobView>,
    job: JobState | null,
    private readonly lapsedKeys: LapsedKeys,
  ) {
    this.watchers = new Watchers(ctx);
    this.standing = new KeyStanding(lapsedKeys);
    // Watchers (hibernated sockets) have seen the state as it was when this instance
    // woke: only changes from here on are news to them.
    this.notified.status = job?.status ?? null;
    this.notified.progress = job?.progress ?? -1;
    this.notified.playable = job ? everyPackagePlayable(job) : false;
  }

  /**
   * Opens a watch: a WebSocket on upgrade, otherwise an NDJSON stream; both start with a
   * snapshot of `job`. It takes its place in the broadcast order now: the broadcasts queued
   * before (of states up to `job`) go out without it, those queued after (of later states)
   * reach it, so nothing it is sent after its snapshot is older or skips a status.
   */
  async open(request: Request, job: JobState): Promise<Response> {
    const credential = watchCredential(request);
    const socket = request.headers.get("upgrade")?.toLowerCase() === "websocket";
    this.opening += 1;
    const opened = this.broadcasting.then(async () => {
      try {
        const view = await this.present(job);
        const done = terminalStatuses.includes(job.status);
        if (socket) {
          const response = this.watchers.acceptSocket(watchEvent("snapshot", view).line, credential);
          if (done) this.watchers.broadcast(watchEvent("completed", view), true);
          return response;
        }
        if (done) return this.watchers.openStream(`${watchEvent("snapshot", view).line}\n${watchEvent("completed", view).line}`, true, credential);
        return this.watchers.openStream(watchEvent("snapshot", view).line, false, credential);
      } finally {
        this.opening -= 1;
      }
    });
    this.broadcasting = opened.then(
      () => undefined,
      () => undefined,
    );
    return opened;
  }

  /** A socket's message `{"ack": "<server_time>"}`: it has handled every event up to that one. */
  acknowledge(socket: WebSocket, message: string | ArrayBuffer): void {
    if (typeof message !== "string") return;
    let ack: unknown;
    try {
      ack = (JSON.parse(message) as { ack?: unknown } | null)?.ack;
    } catch {
      return;
    }
    if (typeof ack === "string") this.watchers.acknowledge(socket, ack);
  }

  forget(socket: WebSocket): void {
    this.watchers.forget(socket);
  }

  /** When the next heartbeat or token expiry is owed, or null when nobody watches a live job. */
  nextHeartbeatAt(job: JobState, now: number): number | null {
    if (this.watchers.count === 0 || terminalStatuses.includes(job.status)) return null;
    return Math.min(Math.max(now, this.lastHeartbeatAt) + HEARTBEAT_MS, this.watchers.earliestExpiry() ?? Infinity);
  }

  /** Closes the watchers whose credential has ended, then sends a heartbeat if one is (nearly) due. */
  async heartbeat(job: JobState, now: number): Promise<void> {
    await this.watchers.closeLapsed(now, this.lapsedKeys);
    if (this.watchers.count === 0 || now - this.lastHeartbeatAt < HEARTBEAT_MS - 1_000) return;
    this.lastHeartbeatAt = now;
    // In the broadcast order, behind the events of earlier states.
    const sent = this.broadcasting.then(async () => this.send(watchEvent("heartbeat", await this.present(job)), false));
    this.broadcasting = sent.catch((err) => logFailure(job.id, err));
    await sent;
  }

  /** Broadcasts to the watchers whose credential still stands (key standing at most STANDING_TTL_MS old). */
  private async send(message: WatchMessage, close: boolean): Promise<void> {
    await this.watchers.closeLapsed(Date.now(), this.standing.lapsed);
    this.watchers.broadcast(message, close);
  }

  /** Tells watchers what changed since they were last told; `before` is the state they may not have seen. */
  private tell(job: JobState, before: JobState | null): void {
    const playable = everyPackagePlayable(job);
    const becamePlayable = playable && !this.notified.playable;
    this.notified.playable = playable;
    if (this.watchers.count + this.opening === 0) {
      // Nobody to tell; a watcher that connects later starts from a snapshot.
      this.notified.status = job.status;
      this.notified.progress = job.progress;
      return;
    }
    if (job.status !== this.notified.status) {
      // Progress still waiting out its debounce is news from the status before this
      // one: it goes out first, so a job that ends inside the debounce still shows
      // the progress it made.
      const owed = this.notified.timer && before && before.status === this.notified.status && before.progress !== this.notified.progress ? before : null;
      clearTimeout(this.notified.timer);
      this.notified.timer = undefined;
      this.notified.status = job.status;
      this.notified.progress = job.progress;
      this.notified.at = Date.now();
      const done = terminalStatuses.includes(job.status);
      // Sent in order: each broadcast waits for the one before it.
      this.broadcasting = this.broadcasting
        .then(async () => {
          if (owed) await this.send(watchEvent("progress", await this.present(owed)), false);
          const view = await this.present(job);
          // A package that became playable as the job ended (too quick to publish early) says so before the end.
          if (becamePlayable) await this.send(watchEvent("playable", view), false);
          await this.send(watchEvent("status_change", view), false);
          if (done) this.watchers.broadcast(watchEvent("completed", view), true);
        })
        .catch((err) => logFailure(job.id, err));
      return;
    }
    if (becamePlayable) {
      this.broadcasting = this.broadcasting.then(async () => this.send(watchEvent("playable", await this.present(job)), false)).catch((err) => logFailure(job.id, err));
    }
    if (job.progress === this.notified.progress || this.notified.timer) return;
    const wait = Math.max(0, this.notified.at + PROGRESS_DEBOUNCE_MS - Date.now());
    // Past the debounce already: out now, without waiting a timer's turn behind the rest of the event's handling.
    if (wait === 0) return this.tellProgress();
    this.notified.timer = setTimeout(() => {
      this.notified.timer = undefined;
      this.tellProgress();
    }, wait);
  }

  /** Sends the newest progress, if it is news. */
  private tellProgress(): void {
    const current = this.latest;
    if (!current || terminalStatuses.includes(current.status) || current.progress === this.notified.progress) return;
    this.notified.progress = current.progress;
    this.notified.at = Date.now();
    this.broadcasting = this.broadcasting
      .then(async () => this.send(watchEvent("progress", await this.present(current)), false))
      .catch((err) => logFailure(current.id, err));
  }

  /** Records the newest state (the shell replaces its state on every step) and tells watchers. */
  update(job: JobState): void {
    const before = this.latest;
    this.latest = job;
    this.tell(job, before);
  }
}

function logFailure(jobId: string, err: unknown): void {
  console.error(JSON.stringify({ level: "error", job_id: jobId, message: `watch broadcast failed: ${String(err)}` }));
}
