import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { JobDO } from "../../worker/jobs/job-do";
import { call, jobDO, orderNumber, seedOrg, videoJob } from "./helpers";

/**
 * A watcher that connects mid-job (issue 19, 2a) starts from a snapshot, and the events
 * after it continue from there: its progress never goes back and its status never skips
 * one, even when it connects while broadcasts of earlier states are still on their way.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  tasks: { task_id: string }[];
}
interface Message {
  event: string;
  job: { status: string; progress: number };
}

const order = ["pending", "probing", "processing", "completed"];
const rank = (status: string) => order.indexOf(status);

/** Fails unless each message is as far along as the one before, and at most one status further. */
function expectConsistent(messages: Message[]) {
  expect(messages[0]!.event).toBe("snapshot");
  for (let i = 1; i < messages.length; i++) {
    const [before, after] = [messages[i - 1]!.job, messages[i]!.job];
    const step = `${messages[i - 1]!.event} ${before.status}@${before.progress} → ${messages[i]!.event} ${after.status}@${after.progress}`;
    expect(rank(after.status) - rank(before.status), step).toBeGreaterThanOrEqual(0);
    expect(rank(after.status) - rank(before.status), step).toBeLessThanOrEqual(1);
    expect(after.progress, step).toBeGreaterThanOrEqual(before.progress);
  }
}

describe("a watcher connecting mid-job", () => {
  it("gets a snapshot that the events after it never go back from, when it connects while a status change is still being broadcast", async () => {
    const { key, orgId } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const attempt = await orderNumber<Order>(job.id);
    let seq = 0;
    const event = (body: Record<string, unknown>) => ({ v: 1, job_id: job.id, attempt: attempt.attempt, seq: seq++, at: new Date().toISOString(), ...body });
    const send = (body: Record<string, unknown>) =>
      call(`/internal/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${attempt.lease_token}` }, body: event(body) });
    await send({ type: "task_started", stage: "import", task_id: null });
    await send({ type: "task_completed", stage: "import", task_id: null, output: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    // A watcher already there, so changes are broadcast.
    const early = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } }));
    early.webSocket!.accept();

    // Inside the JobDO, to order what concurrent requests can interleave into: the probe
    // ends (a status change, whose broadcast waits on its D1 read of key standing),
    // progress follows, and a watcher connects before that broadcast has gone out.
    const late = await runInDurableObject(jobDO(job.id), async (instance: JobDO) => {
      const changed = instance.handleEncoderEvent(event({ type: "task_completed", stage: "probe", task_id: null, output: null }) as never, attempt.lease_token);
      const progressed = instance.handleEncoderEvent(event({ type: "progress", stage: "probe", task_id: null, task_progress: 100, job_progress: 5 }) as never, attempt.lease_token);
      const response = await instance.fetch(new Request("https://job/watch", { headers: { "x-kiln-org-id": orgId, upgrade: "websocket" } }));
      await Promise.all([changed, progressed]);
      const socket = response.webSocket!;
      const messages: Message[] = [];
      socket.addEventListener("message", (e) => {
        messages.push(JSON.parse(e.data as string) as Message);
      });
      socket.accept();
      // The debounced progress follows the status change: both have gone out once it is here.
      await vi.waitFor(() => expect(messages.some((m) => m.event === "progress")).toBe(true), { timeout: 3000, interval: 20 });
      socket.close();
      return messages;
    });

    expect(late[0]!.job).toMatchObject({ status: "processing", progress: 5 });
    expectConsistent(late);
  });

  it("follows a job that changes while watchers keep connecting, each from its own snapshot on", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const attempt = await orderNumber<Order>(job.id);
    let seq = 0;
    const send = (body: Record<string, unknown>) =>
      call(`/internal/jobs/${job.id}/events`, {
        headers: { authorization: `Bearer ${attempt.lease_token}` },
        body: { v: 1, job_id: job.id, attempt: attempt.attempt, seq: seq++, at: new Date().toISOString(), ...body },
      });
    const watchers: { messages: Message[]; closed: Promise<void> }[] = [];
    const connect = async () => {
      const res = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } }));
      const socket = res.webSocket!;
      const messages: Message[] = [];
      const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve()));
      socket.addEventListener("message", (e) => {
        messages.push(JSON.parse(e.data as string) as Message);
      });
      socket.accept();
      watchers.push({ messages, closed });
    };
    // Watchers connect throughout, concurrently with the encoder's events.
    const connecting = (async () => {
      for (let i = 0; i < 12; i++) {
        await connect();
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await send({ type: "task_started", stage: "import", task_id: null });
    await send({ type: "task_completed", stage: "import", task_id: null, output: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
    await send({ type: "task_started", stage: "encode", task_id: attempt.tasks[0]!.task_id });
    for (const p of [10, 20, 30, 40]) {
      await send({ type: "progress", stage: "encode", task_id: attempt.tasks[0]!.task_id, task_progress: p, job_progress: p });
      await new Promise((r) => setTimeout(r, 60));
    }
    await connecting;
    expect((await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" })).status).toBe(200);
    await Promise.all(watchers.map((w) => w.closed));
    for (const { messages } of watchers) {
      expectConsistent(messages.map((m) => ({ ...m, job: { ...m.job, status: m.job.status === "canceled" ? "completed" : m.job.status } })));
      expect(messages.at(-1)!.event).toBe("completed");
    }
  }, 30_000);
});
