import type { JobView } from "../../jobs/job-state";
import { type ConnectError, endStream, envelope } from "./connect";

/** One Watch event as the JobDO streams it (worker/jobs/watch-hub.ts): the names are Transcodely's already. */
interface NativeEvent {
  event: string;
  job: JobView;
  server_time: string;
}

export interface WatchFraming {
  /** Connect's server-streaming envelopes, or newline-delimited `{"result": …}`. */
  connect: boolean;
  render: (view: JobView) => Promise<object>;
  /** Any failure as the Connect error to end the stream with. */
  toError: (err: Error) => ConnectError;
}

const encoder = new TextEncoder();
/** Transcodely's event names; Kiln's own (`playable`) are not passed on. */
const transcodelyEvents = new Set(["snapshot", "progress", "status_change", "completed", "heartbeat"]);

/**
 * The JobDO's NDJSON Watch (snapshot, debounced progress, status_change, completed then
 * the end, heartbeats) re-rendered event by event as WatchJobResponse messages (Kiln's
 * own `playable` is left out: Transcodely has no such event). Under
 * Connect's framing each is an envelope and the stream ends with the end-of-stream
 * envelope (`{}`, or `{"error": …}` if the watch broke); the JSON form is one
 * `{"result": {job, event, server_time}}` line each, as Transcodely documents it.
 */
export function watchStream(native: ReadableStream<Uint8Array>, framing: WatchFraming): ReadableStream<Uint8Array> {
  const reader = native.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const frame = async (line: string) => {
    const { event, job, server_time } = JSON.parse(line) as NativeEvent;
    if (!transcodelyEvents.has(event)) return null;
    const message = { job: await framing.render(job), event, server_time };
    return framing.connect ? envelope(message) : encoder.encode(`${JSON.stringify({ result: message })}\n`);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const newline = buffered.indexOf("\n");
          if (newline >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            const framed = line === "" ? null : await frame(line);
            if (!framed) continue;
            controller.enqueue(framed);
            return;
          }
          const { done, value } = await reader.read();
          if (done) {
            const last = buffered.trim() === "" ? null : await frame(buffered.trim());
            if (last) controller.enqueue(last);
            buffered = "";
            if (framing.connect) controller.enqueue(endStream());
            controller.close();
            return;
          }
          buffered += value;
        }
      } catch (err) {
        void reader.cancel().catch(() => undefined);
        if (framing.connect) controller.enqueue(endStream(framing.toError(err as Error)));
        controller.close();
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
