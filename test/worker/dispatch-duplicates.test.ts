import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import { call, ordersFor, seedOrg, videoJob } from "./helpers";

/*
 * Queues deliver at least once, and not in order. 100 jobs are created (their dispatch
 * messages go through the real kiln-dispatch Queue); a fifth are then canceled and
 * restarted, so they have a second attempt and a second message. Every message of every
 * attempt is then delivered twice more into the real queue consumer, shuffled across jobs
 * and attempts (an attempt-1 message may come after attempt 2's). Each job must run once
 * per attempt: the encoder double sees exactly one order for each attempt of each job.
 */

const JOBS = 100;
const RESTARTED = 20;
const BATCH = 25;

/** A seeded shuffle, so that a failing order can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("dispatch messages delivered twice and out of order", { timeout: 300_000 }, () => {
  it("run each attempt of each job once", async () => {
    const { key, orgId } = await seedOrg();
    const created = await Promise.all(Array.from({ length: JOBS }, () => call("/v1/jobs", { key, body: videoJob() })));
    for (const res of created) expect(res.status, res.text).toBe(201);
    const ids = created.map((res) => res.json.id as string);

    const ordered = (id: string, count: number) => vi.waitFor(async () => expect((await ordersFor(id)).length).toBeGreaterThanOrEqual(count), { timeout: 60_000, interval: 200 });
    for (const id of ids) await ordered(id, 1);
    const restarted = ids.slice(0, RESTARTED);
    for (const id of restarted) {
      expect((await call(`/v1/jobs/${id}/cancel`, { key, method: "POST" })).status).toBe(200);
      const restart = await call(`/v1/jobs/${id}/restart`, { key, method: "POST" });
      expect(restart.json.attempt).toBe(2);
    }
    for (const id of restarted) await ordered(id, 2);

    const attempts = (id: string) => (restarted.includes(id) ? [1, 2] : [1]);
    const messages = ids.flatMap((id) => attempts(id).map((attempt) => ({ v: 1, job_id: id, org_id: orgId, attempt, priority: "standard", enqueued_at: new Date().toISOString() })));
    const deliveries = shuffled([...messages, ...messages], 17);
    for (let i = 0; i < deliveries.length; i += BATCH) {
      const bodies = deliveries.slice(i, i + BATCH);
      const batch = createMessageBatch("kiln-dispatch", bodies.map((body, n) => ({ id: `r${i + n}`, timestamp: new Date(), attempts: 1, body })));
      const ctx = createExecutionContext();
      await worker.queue(batch, env);
      const result = await getQueueResult(batch, ctx);
      // Every replay is acknowledged: the JobDO took it and decided.
      expect(result.explicitAcks).toHaveLength(bodies.length);
      expect(result.retryMessages).toEqual([]);
    }

    let orders = 0;
    for (const id of ids) {
      const received = (await ordersFor<{ attempt: number }>(id)).map((o) => o.attempt);
      expect(received.sort(), id).toEqual(attempts(id));
      orders += received.length;
    }
    console.log(`figures: duplicates ${JOBS} jobs (${RESTARTED} restarted), ${messages.length} dispatch messages each replayed twice (${deliveries.length} replays, shuffled), ${orders} orders accepted by the encoder = ${messages.length} attempts`);
    expect(orders).toBe(messages.length);
  });
});
