import { createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import type { JobState } from "../../worker/jobs/job-state";
import { derivedId } from "../../worker/ids";
import { call, encoderFor, jobDO, orderNumber, ordersFor, outputFacts as facts, seedOrg, videoJob } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/*
 * No job is ever lost or stuck: each scenario ends `completed`, or `failed` with a
 * specific code. Time is faked the way the lease tests fake it: the DO's next deadline
 * is moved into the past and its alarm fired, as the clock would.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  tasks: { task_id: string; output_id: string }[];
}

const double = (path: string, init?: RequestInit) => fetch(`${env.ENCODER_URL}${path}`, init);

type Instance = { job: JobState };
const stateOf = (jobId: string) => runInDurableObject(jobDO(jobId), (instance) => structuredClone((instance as unknown as Instance).job));
const alarmAt = (jobId: string) => runInDurableObject(jobDO(jobId), (_i, state) => state.storage.getAlarm());

/** Fires the job's alarm as if the clock had reached its next dispatch try. */
async function passTimeToNextTry(jobId: string): Promise<void> {
  await runInDurableObject(jobDO(jobId), (instance) => {
    const dispatch = (instance as unknown as Instance).job.dispatch;
    if (dispatch) dispatch.next_try_at = Date.now() - 1;
  });
  expect(await runDurableObjectAlarm(jobDO(jobId))).toBe(true);
}

/** Plays a whole clean attempt through the internal events route. */
async function completeAttempt(order: Order): Promise<void> {
  const send = encoderFor(order);
  const task = order.tasks[0]!;
  await send({ type: "task_started", stage: "import", task_id: null });
  await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
  await send({ type: "task_started", stage: "encode", task_id: task.task_id });
  await send({ type: "task_completed", stage: "encode", task_id: task.task_id, output: facts(task.output_id) });
  expect((await send({ type: "job_completed" })).directive).toBe("cancel");
}

async function deliver(bodies: unknown[]) {
  const batch = createMessageBatch("kiln-dispatch", bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

describe("no job is lost", () => {
  it("dispatches a job whose encoder stays busy for longer than the Queue's whole retry budget, then completes it", async () => {
    const { orgId, key } = await seedOrg();
    const idempotencyKey = `long-busy-${crypto.randomUUID()}`;
    const jobId = await derivedId("job", `${orgId}\n${idempotencyKey}`);
    // kiln-dispatch gives a message 10 retries (wrangler.toml); the pool refuses 40 times.
    const refusals = 40;
    await double("/control", { method: "POST", body: JSON.stringify({ job_id: jobId, busy: refusals }) });
    const created = await call("/v1/jobs", { key, body: videoJob({ idempotency_key: idempotencyKey }) });
    expect(created.json.id).toBe(jobId);

    // The queue message's one delivery met a full pool; it was acknowledged, not retried.
    const redelivered = await deliver([{ v: 1, job_id: jobId, org_id: orgId, attempt: 1, priority: "standard", enqueued_at: new Date().toISOString() }]);
    expect(redelivered.explicitAcks).toEqual(["m0"]);
    expect(redelivered.retryMessages).toEqual([]);

    let tries = 0;
    while ((await ordersFor<Order>(jobId)).length === 0) {
      // The job's own alarm may be making a try right now: its state is read between tries.
      const state = await vi.waitFor(
        async () => {
          const s = await stateOf(jobId);
          expect(s.dispatch?.phase).not.toBe("sending");
          return s;
        },
        { timeout: 5000, interval: 20 },
      );
      if (state.dispatch === null) continue;
      expect(state.status).toBe("pending");
      // Waiting for the pool, the job always has an alarm: nothing relies on the Queue.
      expect(await alarmAt(jobId)).not.toBeNull();
      expect(state.dispatch).toMatchObject({ attempt: 1, phase: "wanted" });
      await passTimeToNextTry(jobId);
      expect(++tries).toBeLessThan(refusals + 5);
    }
    expect(tries).toBeGreaterThanOrEqual(refusals - 2);
    const order = await orderNumber<Order>(jobId, 1);
    expect(order.attempt).toBe(1);
    await completeAttempt(order);
    expect((await call(`/v1/jobs/${jobId}`, { key })).json).toMatchObject({ status: "completed", attempt: 1 });
    expect(await ordersFor(jobId)).toHaveLength(1);
  }, 60_000);

  it("survives a transient throw inside dispatch (a secret that cannot be decrypted for a while) and completes", async () => {
    const { key } = await seedOrg();
    const secret = await call("/v1/secrets", { key, body: { name: `hiccup-${crypto.randomUUID().slice(0, 8)}`, credentials: S3_TEST_CREDENTIALS, endpoint: env.TEST_ONLY_ALLOWED_S3_ENDPOINT } });
    expect(secret.status, secret.text).toBe(201);
    const row = await env.DB.prepare("SELECT credentials FROM secrets WHERE id = ?").bind(secret.json.id).first<{ credentials: string }>();
    // The sealed credentials stop opening: decryption throws, which is no fault of the job.
    await env.DB.prepare("UPDATE secrets SET credentials = ? WHERE id = ?").bind(`${row!.credentials.slice(0, -8)}AAAAAAAA`, secret.json.id).run();
    const job = (await call("/v1/jobs", { key, body: videoJob({ input: `s3://{${secret.json.name}}@kiln-in/a.mp4` }) })).json;

    await passTimeToNextTry(job.id);
    let state = await stateOf(job.id);
    expect(state.status).toBe("pending");
    expect(state.lease).toBeNull();
    expect(state.dispatch).toMatchObject({ phase: "wanted", failures: expect.any(Number) });
    expect(state.dispatch!.failures).toBeGreaterThanOrEqual(1);
    expect(await alarmAt(job.id)).not.toBeNull();
    // A redelivered message is not taken for a duplicate of the failed send.
    const again = await deliver([{ v: 1, job_id: job.id, org_id: state.org_id, attempt: 1, priority: "standard", enqueued_at: new Date().toISOString() }]);
    expect(again.explicitAcks).toEqual(["m0"]);
    state = await stateOf(job.id);
    expect(state.dispatch?.phase).toBe("wanted");
    expect(await ordersFor(job.id)).toHaveLength(0);

    // The hiccup passes; the alarm's next try sends the order.
    await env.DB.prepare("UPDATE secrets SET credentials = ? WHERE id = ?").bind(row!.credentials, secret.json.id).run();
    await passTimeToNextTry(job.id);
    const order = await orderNumber<Order>(job.id, 1);
    expect(order.attempt).toBe(1);
    await completeAttempt(order);
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.status).toBe("completed");
  });

  it("fails a job whose dispatch keeps throwing with dispatch_failed, never leaving it pending", async () => {
    const { key } = await seedOrg();
    const secret = await call("/v1/secrets", { key, body: { name: `broken-${crypto.randomUUID().slice(0, 8)}`, credentials: S3_TEST_CREDENTIALS, endpoint: env.TEST_ONLY_ALLOWED_S3_ENDPOINT } });
    await env.DB.prepare("UPDATE secrets SET credentials = 'not-a-sealed-value' WHERE id = ?").bind(secret.json.id).run();
    const job = (await call("/v1/jobs", { key, body: videoJob({ input: `s3://{${secret.json.name}}@kiln-in/a.mp4` }) })).json;
    for (let i = 0; i < 10 && (await stateOf(job.id)).status === "pending"; i++) await passTimeToNextTry(job.id);
    const view = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(view).toMatchObject({ status: "failed", error: { code: "dispatch_failed" } });
    expect(await ordersFor(job.id)).toHaveLength(0);
  });

  it("sends the order again when a redelivered message finds a claim whose send a crash cut short", async () => {
    const { orgId, key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const first = await orderNumber<Order>(job.id, 1);
    // The encoder lost attempt 1; the DO claimed attempt 2 and saved its lease, then
    // its instance died before the order left (as if evicted mid-send).
    const claimedToken = "c".repeat(48);
    await runInDurableObject(jobDO(job.id), async (instance, state) => {
      const doc = (instance as unknown as Instance).job;
      Object.assign(doc, {
        attempt: 2,
        dispatched_attempt: 2,
        lost_attempts: 1,
        lease: { attempt: 2, token: claimedToken, expires_at: Date.now() + 30_000, last_seq: -1 },
        dispatch: { attempt: 2, phase: "sending", next_try_at: Date.now() + 30_000, tries: 1, failures: 0 },
      });
      state.storage.sql.exec("INSERT OR REPLACE INTO doc (name, body) VALUES ('job', ?)", JSON.stringify(doc));
    });
    // Even without any message, the claim has an alarm behind it.
    expect(await alarmAt(job.id)).not.toBeNull();
    const redelivered = await deliver([{ v: 1, job_id: job.id, org_id: orgId, attempt: 2, priority: "standard", enqueued_at: new Date().toISOString() }]);
    expect(redelivered.explicitAcks).toEqual(["m0"]);
    const second = await orderNumber<Order>(job.id, 2);
    // The same claim, sent again: its token, so an encoder that did get the first send treats this one as a duplicate.
    expect(second).toMatchObject({ attempt: 2, lease_token: claimedToken });
    expect((await encoderFor(first)({ type: "heartbeat", job_progress: 1 })).status).toBe(409);
    await completeAttempt(second);
    expect((await call(`/v1/jobs/${job.id}`, { key })).json).toMatchObject({ status: "completed", attempt: 2 });
  });

  it("makes the cut-short send from its alarm when no message comes back at all", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    await orderNumber<Order>(job.id, 1);
    await runInDurableObject(jobDO(job.id), async (instance, state) => {
      const doc = (instance as unknown as Instance).job;
      Object.assign(doc, {
        attempt: 2,
        dispatched_attempt: 2,
        lease: { attempt: 2, token: "d".repeat(48), expires_at: Date.now() - 1, last_seq: -1 },
        dispatch: { attempt: 2, phase: "sending", next_try_at: Date.now() - 1, tries: 1, failures: 0 },
      });
      state.storage.sql.exec("INSERT OR REPLACE INTO doc (name, body) VALUES ('job', ?)", JSON.stringify(doc));
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(jobDO(job.id))).toBe(true);
    const second = await orderNumber<Order>(job.id, 2);
    expect(second.lease_token).toBe("d".repeat(48));
    await completeAttempt(second);
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.status).toBe("completed");
  });

  it("fails a job that outlives JOB_TIMEOUT_S with job_timeout and stops its encoder", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const order = await orderNumber<Order>(job.id, 1);
    await encoderFor(order)({ type: "task_started", stage: "import", task_id: null });
    const state = await stateOf(job.id);
    expect(state.deadline_at! - Date.parse(state.created_at)).toBe(Number(env.JOB_TIMEOUT_S) * 1000);
    await runInDurableObject(jobDO(job.id), (instance) => {
      (instance as unknown as Instance).job.deadline_at = Date.now() - 1;
    });
    expect(await runDurableObjectAlarm(jobDO(job.id))).toBe(true);
    expect((await call(`/v1/jobs/${job.id}`, { key })).json).toMatchObject({ status: "failed", error: { code: "job_timeout" } });
    expect(await (await double(`/cancels/${job.id}`)).json()).toEqual({ count: 1 });
    expect((await encoderFor(order)({ type: "heartbeat", job_progress: 5 })).directive).toBe("cancel");
  });

  it("wakes a job from the dead-letter queue without retrying the letter", async () => {
    const { orgId, key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    await orderNumber<Order>(job.id, 1);
    const batch = createMessageBatch("kiln-dispatch-dlq", [{ id: "d0", timestamp: new Date(), attempts: 1, body: { v: 1, job_id: job.id, org_id: orgId, attempt: 1, priority: "standard", enqueued_at: new Date().toISOString() } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["d0"]);
    expect(await ordersFor(job.id)).toHaveLength(1);
  });
});
