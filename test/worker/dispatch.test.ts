import { createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { JobState } from "../../worker/jobs/job-state";
import worker from "../../worker/index";
import { dispatchMessageSchema } from "../../worker/queue/dispatch-message";
import { call, jobDO, seedOrg, videoJob } from "./helpers";

function stateOf(jobId: string): Promise<JobState> {
  return runInDurableObject(jobDO(jobId), (_instance, state) => {
    const row = state.storage.sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = 'job'").one();
    return JSON.parse(row.body) as JobState;
  });
}

async function deliver(bodies: unknown[]) {
  const batch = createMessageBatch("kiln-dispatch", bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

const message = (job: { id: string }, orgId: string, attempt = 1) => ({
  v: 1,
  job_id: job.id,
  org_id: orgId,
  attempt,
  priority: "standard",
  enqueued_at: new Date().toISOString(),
});

describe("the dispatch Queue", () => {
  it("carries a valid dispatch message from job creation to the job's DO", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob({ priority: 2 }) })).json;
    await vi.waitFor(async () => expect((await stateOf(job.id)).dispatched_attempt).toBe(1), { timeout: 5000, interval: 50 });
  });

  it("carries a new attempt after a restart", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    await vi.waitFor(async () => expect((await stateOf(job.id)).dispatched_attempt).toBe(1), { timeout: 5000, interval: 50 });
    await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    await call(`/v1/jobs/${job.id}/restart`, { key, method: "POST" });
    await vi.waitFor(async () => expect((await stateOf(job.id)).dispatched_attempt).toBe(2), { timeout: 5000, interval: 50 });
  });

  it("defines the message with a schema that rejects malformed ones", () => {
    const valid = message({ id: "job_aaaaaaaaaaaaaaaaaaaa" }, "org_x");
    expect(dispatchMessageSchema.safeParse(valid).success).toBe(true);
    for (const bad of [
      { ...valid, v: 2 },
      { ...valid, job_id: "job_short" },
      { ...valid, attempt: 0 },
      { ...valid, priority: "urgent" },
      { ...valid, enqueued_at: "yesterday" },
      { ...valid, extra: true },
    ]) {
      expect(dispatchMessageSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it("acknowledges malformed messages without retrying them", async () => {
    const result = await deliver([{ hello: "world" }, "not json", null]);
    expect(result.explicitAcks.sort()).toEqual(["m0", "m1", "m2"]);
    expect(result.retryMessages).toEqual([]);
  });

  it("accepts the current attempt once: duplicates and stale attempts are dropped", async () => {
    const { orgId, key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    await vi.waitFor(async () => expect((await stateOf(job.id)).dispatched_attempt).toBe(1), { timeout: 5000, interval: 50 });
    const stub = jobDO(job.id);
    expect(await stub.receiveDispatch(message(job, orgId, 1) as never)).toBe("duplicate");
    expect(await stub.receiveDispatch(message(job, orgId, 7) as never)).toBe("stale");
    await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    await call(`/v1/jobs/${job.id}/restart`, { key, method: "POST" });
    await vi.waitFor(async () => expect((await stateOf(job.id)).dispatched_attempt).toBe(2), { timeout: 5000, interval: 50 });
    expect(await stub.receiveDispatch(message(job, orgId, 1) as never)).toBe("stale");
    const result = await deliver([message(job, orgId, 2)]);
    expect(result.explicitAcks).toEqual(["m0"]);
  });

  it("drops the dispatch of a canceled job", async () => {
    const { orgId, key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    expect(await jobDO(job.id).receiveDispatch(message(job, orgId, 1) as never)).toBe("stale");
  });

  it("drops a message for a job that does not exist", async () => {
    expect(await jobDO("job_00000000000000000000").receiveDispatch(message({ id: "job_00000000000000000000" }, "org_x") as never)).toBe("stale");
  });
});

describe("the D1 index", () => {
  it("mirrors progress at most once per interval, the last value landing through the alarm", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const stub = jobDO(job.id);
    const indexed = async () => env.DB.prepare("SELECT status, progress, current_stage FROM jobs WHERE id = ?").bind(job.id).first();

    await stub.transition("start_probe");
    expect(await indexed()).toEqual({ status: "probing", progress: 0, current_stage: "probe" });
    await stub.transition("start_processing");
    for (const p of [10, 20, 35]) await stub.setProgress(p, "encode");
    // The test interval is an hour: the job shows 35, the index is still at the status change.
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.progress).toBe(35);
    expect(await indexed()).toEqual({ status: "processing", progress: 0, current_stage: null });

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await indexed()).toEqual({ status: "processing", progress: 35, current_stage: "encode" });

    // A status change is mirrored at once, throttle or not.
    await stub.setProgress(50, "encode");
    await stub.transition("complete");
    expect(await indexed()).toEqual({ status: "completed", progress: 100, current_stage: null });
  });

  it("never lets progress go backwards", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const stub = jobDO(job.id);
    await stub.transition("start_probe");
    await stub.setProgress(40, "encode");
    await stub.setProgress(30, "encode");
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.progress).toBe(40);
  });
});

describe("priorities", () => {
  it("hands a batch to the DOs premium first, then standard, then economy", async () => {
    const { orgId, key } = await seedOrg();
    const tiers = ["economy", "standard", "premium"] as const;
    const jobs: { id: string }[] = [];
    for (const priority of tiers) jobs.push((await call("/v1/jobs", { key, body: videoJob({ priority }) })).json);
    // Let the real deliveries land first, so only the batch below is logged.
    for (const job of jobs) await vi.waitFor(async () => expect((await stateOf(job.id)).dispatched_attempt).toBe(1), { timeout: 5000, interval: 50 });
    const order: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: string) => {
      const parsed = JSON.parse(line);
      if (parsed.dispatch && jobs.some((j) => j.id === parsed.job_id)) order.push(parsed.priority);
    });
    try {
      // Redeliveries of the first attempt: the DOs answer duplicate, in the order they were asked.
      await deliver(jobs.map((job, i) => ({ ...message(job, orgId, 1), priority: tiers[i] })));
    } finally {
      spy.mockRestore();
    }
    expect(order).toEqual(["premium", "standard", "economy"]);
  });

  it("brings premium back sooner than economy when the encoder pool is full", async () => {
    const { busyRetryDelaySeconds } = await import("../../worker/dispatch/retry-policy");
    for (const deliveries of [1, 2, 3, 6]) {
      expect(busyRetryDelaySeconds("premium", deliveries)).toBeLessThan(busyRetryDelaySeconds("standard", deliveries));
      expect(busyRetryDelaySeconds("standard", deliveries)).toBeLessThan(busyRetryDelaySeconds("economy", deliveries));
    }
    expect(busyRetryDelaySeconds("economy", 20)).toBe(120);
  });
});
