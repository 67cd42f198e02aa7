import { KilnError } from "./errors";
import { ndjsonLines } from "./ndjson";
import { retryDelayMs, sleep } from "./retry";
import { type Transport, send } from "./transport";
import type { WatchEvent, WatchToken } from "./types";
import { type SocketClose, socketMessages } from "./watch-socket";

export interface WatchOptions {
  signal?: AbortSignal;
  /** Times in a row a Watch that dropped before the job ended is opened again (default 5). */
  reconnects?: number;
}

/** The close codes a Watch socket ends with when its credential does, or when it falls behind (worker/jobs/watch-hub.ts). */
const TOKEN_EXPIRED = 4001;
const KEY_REVOKED = 4003;
const TOO_SLOW = 4008;

/**
 * What tells the server an event was handled: a consumer that falls behind is then dropped
 * (4008) and starts again from a snapshot, instead of the server holding events for it.
 */
const acknowledge = (message: string) => JSON.stringify({ ack: (JSON.parse(message) as WatchEvent).server_time });

/** How one connection of a Watch ended without the job's `completed` event. */
interface Ending {
  reconnect: "now" | "later";
  reason: string;
}

/**
 * A job's events, `snapshot` first and `completed` last (then it ends), with `progress`,
 * `status_change`, `playable` (its HLS packages play before it completes) and `heartbeat` between: over a WebSocket authorised by a watch token
 * when the client has a WebSocket implementation, else over the NDJSON stream. A dropped
 * connection is opened again; its `snapshot` carries the job as it is then.
 */
export async function* watchJob(transport: Transport, id: string, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
  const reconnects = options.reconnects ?? 5;
  let failures = 0;
  for (;;) {
    const ending: Ending = { reconnect: "later", reason: "" };
    const connection = transport.WebSocket ? socketEvents(transport, id, ending, options.signal) : streamEvents(transport, id, ending, options.signal);
    for await (const event of connection) {
      failures = 0;
      yield event;
      if (event.event === "completed") return;
    }
    if (ending.reconnect === "now") continue;
    failures += 1;
    if (failures > reconnects) throw new Error(`Watch of ${id} dropped ${failures} times in a row: ${ending.reason}`);
    await sleep(retryDelayMs(transport.retry, failures - 1, null), options.signal);
  }
}

/** A token for one job's Watch, valid 5 minutes, and the WebSocket URL that carries it. */
export function mintWatchToken(transport: Transport, id: string, signal?: AbortSignal): Promise<WatchToken> {
  return send(transport, () => transport.client.POST("/jobs/{id}/watch-token", { params: { path: { id } }, signal }), { retry: true, signal });
}

async function* socketEvents(transport: Transport, id: string, ending: Ending, signal?: AbortSignal): AsyncGenerator<WatchEvent, void, undefined> {
  // The key never goes in a URL: a short-lived token for this one job does.
  const minted = await mintWatchToken(transport, id, signal);
  const closed: SocketClose = { code: 1006, reason: "" };
  for await (const message of socketMessages(transport.WebSocket!, minted.watch_url, closed, signal, acknowledge)) yield JSON.parse(message) as WatchEvent;
  if (closed.code === KEY_REVOKED) throw new KilnError(401, "token_invalid", `Watch closed: ${closed.reason || "api key revoked"}`, null, null);
  // An expired token is routine on a long job, and a consumer that fell behind wants the
  // job as it is now: a new connection continues the Watch at once.
  ending.reconnect = closed.code === TOKEN_EXPIRED || closed.code === TOO_SLOW ? "now" : "later";
  ending.reason = `socket closed with ${closed.code}${closed.reason ? ` (${closed.reason})` : ""}`;
}

async function* streamEvents(transport: Transport, id: string, ending: Ending, signal?: AbortSignal): AsyncGenerator<WatchEvent, void, undefined> {
  const body = await send(transport, () => transport.client.GET("/jobs/{id}/watch", { params: { path: { id } }, parseAs: "stream", signal }), { retry: true, signal });
  if (body) for await (const line of ndjsonLines(body)) yield JSON.parse(line) as WatchEvent;
  ending.reason = "the stream ended";
}
