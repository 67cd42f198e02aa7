/**
 * The part of a WebSocket Watch uses, as browsers, Node 22+ and the `ws` package all
 * implement it (`new Kiln({ WebSocket })` takes any of them; Node 20 has none built in).
 */
export interface WebSocketLike {
  readonly readyState: number;
  // Events are typed loosely so every implementation's own event types fit.
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drops the connection at once instead of waiting for the server's close. */
  terminate?: () => void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** How a socket ended. 1006 stands for a connection lost without a close frame. */
export interface SocketClose {
  code: number;
  reason: string;
}

const OPEN = 1;
const CLOSING = 2;
const ignore = () => undefined;

/**
 * The text messages of a WebSocket, in order, until it closes; how it closed is written to
 * `closed`. Once the consumer has handled a message (asks for the next), `reply` may name
 * what to send back. Leaving the loop closes the socket.
 */
export async function* socketMessages(
  WebSocket: WebSocketConstructor,
  url: string,
  closed: SocketClose,
  signal?: AbortSignal,
  reply?: (message: string) => string,
): AsyncGenerator<string, void, undefined> {
  const socket = new WebSocket(url);
  const queue: string[] = [];
  let ended: SocketClose | null = null;
  let wake: () => void = ignore;
  const notify = () => wake();
  socket.onmessage = (event: { data: unknown }) => {
    queue.push(typeof event.data === "string" ? event.data : String(event.data));
    notify();
  };
  socket.onclose = (event: { code?: number; reason?: string }) => {
    ended ??= { code: event.code ?? 1006, reason: event.reason ?? "" };
    notify();
  };
  socket.onerror = (event: { message?: string; error?: unknown }) => {
    ended ??= { code: 1006, reason: event.message ?? String(event.error ?? "WebSocket error") };
    notify();
  };
  signal?.addEventListener("abort", notify);
  try {
    for (;;) {
      const message = queue.shift();
      if (message !== undefined) {
        yield message;
        if (reply && socket.readyState === OPEN) socket.send(reply(message));
        continue;
      }
      if (signal?.aborted) throw signal.reason;
      if (ended) {
        Object.assign(closed, ended);
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal?.removeEventListener("abort", notify);
    // `ws` reports an error when a socket still connecting is closed: nobody listens any more.
    socket.onmessage = socket.onclose = socket.onerror = ignore;
    // A close handshake can keep a process alive for seconds after the Watch is done.
    if (socket.terminate) socket.terminate();
    else if (socket.readyState < CLOSING) socket.close(1000);
  }
}
