import { ApiError, api, jobPath } from "./api";
import type { WatchEvent } from "./types";

export type WatchState = "connecting" | "live" | "reconnecting" | "ended" | "unavailable";

/**
 * Follows a job over its Watch WebSocket. Browsers cannot set headers on a WebSocket, so
 * each connection first mints a watch token (POST …/watch-token, under the key) and opens
 * the `watch_url` it returns: a 5-minute token for this job alone, never the key, is what
 * the URL carries. A socket that closes before the job ends (an expired token, a network
 * drop, a restarted Worker, 4008 for a page too slow to keep up) is opened again with a
 * fresh token, backing off to 30 s.
 */
export function watchJob(jobId: string, onEvent: (event: WatchEvent) => void, onState: (state: WatchState, detail?: string) => void): () => void {
  let socket: WebSocket | null = null;
  let stopped = false;
  let ended = false;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const retry = () => {
    if (stopped) return;
    failures++;
    onState("reconnecting");
    timer = setTimeout(connect, Math.min(30_000, 500 * 2 ** failures));
  };
  const connect = async () => {
    if (stopped) return;
    let url: string;
    try {
      url = (await api<{ watch_url: string }>(jobPath(jobId, "/watch-token"), { method: "POST" })).watch_url;
    } catch (err) {
      // The job or the key is gone: no point asking again.
      if (err instanceof ApiError && [401, 403, 404].includes(err.status)) return onState("unavailable", err.message);
      return retry();
    }
    if (stopped) return;
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener("open", () => {
      failures = 0;
      onState("live");
    });
    ws.addEventListener("message", (message) => {
      const event = JSON.parse(String(message.data)) as WatchEvent;
      if (event.event === "completed") ended = true;
      onEvent(event);
      // Handled: a page that falls behind (a busy tab) is closed 4008 and reconnects to a snapshot instead of being buffered for.
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ ack: event.server_time }));
    });
    ws.addEventListener("close", () => {
      if (socket === ws) socket = null;
      if (stopped) return;
      if (ended) onState("ended");
      else retry();
    });
  };
  onState("connecting");
  void connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close(1000, "page left");
  };
}
