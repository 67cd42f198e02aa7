import type { JobView } from "./job-state";

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
export class Watchers {
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
