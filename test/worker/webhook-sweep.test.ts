import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { Env } from "../../worker/env";
import worker from "../../worker/index";
import { scheduleWebhook } from "../../worker/webhooks/schedule";
import { call, seedOrg, videoJob } from "./helpers";
import { receiver, useReceivers } from "./scripted-receiver";

/*
 * The every-minute cron's sweep of webhook deliveries whose Queue message was lost
 * (wrangler dev keeps queues in memory; Cloudflare drops a message after max_retries).
 * A lost message is played by a WEBHOOKS binding that takes the message and sends
 * nothing; the rest (D1, the real Queue the sweep sends to, its consumer) is real. The
 * grace is wrangler.toml's 900 s, passed by the clock the cron is given.
 */
useReceivers();

const GRACE_MS = 900_000;
const lostQueue = { ...env, WEBHOOKS: { send: async () => {}, sendBatch: async () => {} } } as unknown as Env;

async function sweepAt(at: number) {
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), env);
}

/** A canceled job of a fresh org with a webhook_url, its job.canceled delivery recorded as enqueued but lost. */
async function strandedDelivery(script: number[] = [200]) {
  const r = receiver(...script);
  const { key, orgId } = await seedOrg();
  const created = await call("/v1/jobs", { key, body: videoJob() });
  const canceled = await call(`/v1/jobs/${created.json.id}/cancel`, { key, method: "POST" });
  expect(canceled.status).toBe(200);
  await vi.waitFor(async () => expect(await env.DB.prepare("SELECT status FROM jobs WHERE id = ?").bind(created.json.id).first("status")).toBe("canceled"), { timeout: 5000, interval: 50 });
  await scheduleWebhook(lostQueue, { ...canceled.json, webhook_url: r.url }, "job.canceled", orgId);
  const row = () => env.DB.prepare("SELECT id, status, attempts, enqueued_at, next_attempt_at FROM webhook_deliveries WHERE job_id = ?").bind(created.json.id).first<Record<string, any>>();
  const recorded = (await row())!;
  expect(recorded).toMatchObject({ status: "pending", attempts: 0, next_attempt_at: null });
  expect(recorded.enqueued_at).not.toBeNull();
  return { r, key, jobId: created.json.id as string, row };
}

describe("the sweep of lost webhook messages", () => {
  it("leaves a delivery alone within its grace, then sends it again once, and the Queue delivers it", async () => {
    const { r, key, jobId, row } = await strandedDelivery();
    const enqueued = Date.parse((await row())!.enqueued_at);

    await sweepAt(enqueued + GRACE_MS - 60_000);
    expect((await row())!.next_attempt_at).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(r.received).toHaveLength(0);

    await sweepAt(enqueued + GRACE_MS + 60_000);
    await vi.waitFor(async () => expect((await call(`/v1/jobs/${jobId}/webhooks`, { key })).json.data[0]?.status).toBe("delivered"), { timeout: 10_000, interval: 100 });
    expect(r.received).toHaveLength(1);
    expect(r.received[0]!.headers["webhook-id"]).toBe((await row())!.id);
    expect(JSON.parse(r.received[0]!.body)).toMatchObject({ type: "job.canceled", data: { id: jobId, status: "canceled" } });

    // Delivered, it is the sweep's no more.
    await sweepAt(enqueued + 2 * GRACE_MS + 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(r.received).toHaveLength(1);
  });

  it("a re-sent delivery whose message is lost again waits a full grace before the next", async () => {
    const { row } = await strandedDelivery();
    const sent: unknown[] = [];
    const counting = { ...env, WEBHOOKS: { send: async (body: unknown) => void sent.push(body), sendBatch: async () => {} } } as unknown as Env;
    const enqueued = Date.parse((await row())!.enqueued_at);
    const sweep = (at: number) => worker.scheduled(createScheduledController({ scheduledTime: at, cron: "* * * * *" }), counting);

    await sweep(enqueued + GRACE_MS + 60_000);
    const ours = () => sent.filter((m) => (m as { delivery_id: string }).delivery_id === id);
    const { id, next_attempt_at } = (await row())!;
    expect(ours()).toHaveLength(1);
    expect(ours()[0]).toMatchObject({ v: 2, delivery_id: id, event_type: "job.canceled", status: "canceled", format: "standard" });
    // Due again from the re-send: the sweep a minute later sends nothing, one a grace later does.
    const resent = Date.parse(next_attempt_at);
    await sweep(resent + 60_000);
    expect(ours()).toHaveLength(1);
    await sweep(resent + GRACE_MS + 60_000);
    expect(ours()).toHaveLength(2);
  });

  it("never touches a delivery the outbox still holds, one waiting for its retry, or one that ended", async () => {
    const sent: { delivery_id: string }[] = [];
    const counting = { ...env, WEBHOOKS: { send: async (body: { delivery_id: string }) => void sent.push(body), sendBatch: async () => {} } } as unknown as Env;
    const outboxHeld = await strandedDelivery();
    const retrying = await strandedDelivery();
    const ended = await strandedDelivery();
    const idOf = async (d: { row: () => Promise<Record<string, any> | null> }) => (await d.row())!.id as string;
    const later = Date.now() + 10 * GRACE_MS;
    await env.DB.prepare("UPDATE webhook_deliveries SET enqueued_at = NULL WHERE id = ?").bind(await idOf(outboxHeld)).run();
    await env.DB.prepare("UPDATE webhook_deliveries SET attempts = 3, next_attempt_at = ? WHERE id = ?").bind(new Date(later).toISOString(), await idOf(retrying)).run();
    await env.DB.prepare("UPDATE webhook_deliveries SET status = 'failed', attempts = 8 WHERE id = ?").bind(await idOf(ended)).run();

    await worker.scheduled(createScheduledController({ scheduledTime: later - 60_000, cron: "* * * * *" }), counting);
    const ids = new Set(sent.map((m) => m.delivery_id));
    expect(ids.has(await idOf(outboxHeld))).toBe(false);
    expect(ids.has(await idOf(retrying))).toBe(false);
    expect(ids.has(await idOf(ended))).toBe(false);
    // The retrying one is due once its own time has passed by the grace.
    await worker.scheduled(createScheduledController({ scheduledTime: later + GRACE_MS + 60_000, cron: "* * * * *" }), counting);
    expect(sent.map((m) => m.delivery_id)).toContain(await idOf(retrying));
  });
});
