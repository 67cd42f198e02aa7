import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { WATCH_BACKLOG, WATCH_CLOSE } from "../../worker/jobs/watch-hub";
import { call, encoderFor, orderNumber, seedOrg, videoJob } from "./helpers";

/**
 * A watcher that cannot keep up is dropped, not buffered without bound (issue 19, 2b): an
 * NDJSON stream whose reader leaves WATCH_BACKLOG events unread ends; a WebSocket that
 * acknowledges events and falls WATCH_BACKLOG behind is closed with 4008 "too slow". The
 * watchers that keep up, and a socket that never acknowledges (which the DO cannot judge:
 * workerd has no bufferedAmount), carry on.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  tasks: { task_id: string }[];
}
interface Message {
  event: string;
  job: { progress: number };
  server_time: string;
}

async function openSocket(jobId: string, key: string, acknowledge: "every" | "first" | "never") {
  const res = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${jobId}/watch`, { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } }));
  expect(res.status).toBe(101);
  const socket = res.webSocket!;
  const messages: Message[] = [];
  let close: { code: number; reason: string } | null = null;
  socket.addEventListener("close", (e) => {
    close = { code: e.code, reason: e.reason };
  });
  socket.addEventListener("message", (e) => {
    const message = JSON.parse(e.data as string) as Message;
    messages.push(message);
    if (acknowledge === "every" || (acknowledge === "first" && messages.length === 1)) socket.send(JSON.stringify({ ack: message.server_time }));
  });
  socket.accept();
  return { messages, socket, closed: () => close as { code: number; reason: string } | null };
}

/** What a stream holds until it ends, or a failure when it has not ended within `ms`: a stream kept open fails fast. */
const within = <T>(promise: Promise<T>, ms = 5000) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the watch stayed open")), ms))]);

describe("a watcher that cannot keep up", () => {
  it("is dropped once WATCH_BACKLOG events wait for it: an unread stream ends, a socket behind on acknowledgements closes 4008", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const order = await orderNumber<Order>(job.id);
    const send = encoderFor(order);
    const task = order.tasks[0]!.task_id;
    await send({ type: "task_started", stage: "import", task_id: null });
    await send({ type: "task_completed", stage: "import", task_id: null, output: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
    await send({ type: "task_started", stage: "encode", task_id: task });

    // Nobody reads this stream's body until the end.
    const unread = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { authorization: `Bearer ${key}` } }));
    expect(unread.status).toBe(200);
    const keepsUp = await openSocket(job.id, key, "every");
    const fallsBehind = await openSocket(job.id, key, "first");
    const neverAcknowledges = await openSocket(job.id, key, "never");
    await vi.waitFor(() => expect(fallsBehind.messages.length).toBe(1), { timeout: 3000, interval: 20 });

    const events = WATCH_BACKLOG + 8;
    for (let p = 1; p <= events; p++) {
      expect((await send({ type: "progress", stage: "encode", task_id: task, task_progress: p, job_progress: p })).status).toBe(200);
      // Each its own broadcast: the next waits out the hub's progress debounce.
      await vi.waitFor(() => expect(keepsUp.messages.some((m) => m.event === "progress" && m.job.progress === p)).toBe(true), { timeout: 3000, interval: 10 });
    }

    expect(fallsBehind.closed()).toEqual(WATCH_CLOSE.tooSlow);
    // It was sent its backlog (give or take the event its acknowledgement raced) and nothing after.
    expect(fallsBehind.messages.length - 1).toBeGreaterThanOrEqual(WATCH_BACKLOG);
    expect(fallsBehind.messages.length - 1).toBeLessThanOrEqual(WATCH_BACKLOG + 1);
    const lines = (await within(unread.text())).trim().split("\n").map((l) => JSON.parse(l) as Message);
    expect(lines[0]!.event).toBe("snapshot");
    expect(lines.map((l) => l.event)).not.toContain("completed");
    expect(lines.length).toBeLessThan(1 + events);
    for (const watcher of [keepsUp, neverAcknowledges]) {
      expect(watcher.closed()).toBeNull();
      // Every progress, in order (a heartbeat may come between).
      expect(watcher.messages.filter((m) => m.event === "progress").map((m) => m.job.progress), watcher.messages.map((m) => `${m.event}@${m.job.progress}`).join(" ")).toEqual(Array.from({ length: events }, (_, i) => i + 1));
      watcher.socket.close();
    }
    console.log(`figures: watch-backlog ${events} events; unread stream ended after ${lines.length} lines; socket behind on acks closed ${WATCH_CLOSE.tooSlow.code} after ${fallsBehind.messages.length} messages`);
  }, 30_000);
});
