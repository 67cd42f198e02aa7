import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import type { Env } from "../../worker/env";
import worker from "../../worker/index";
import type { JobView } from "../../worker/jobs/job-state";
import type { WebhookEventType } from "../../worker/webhooks/message";
import {
  QUEUE_MAX_DELAY_SECONDS,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RETRY_DELAYS_SECONDS,
} from "../../worker/webhooks/retry";
import { recordWebhookDelivery, scheduleWebhook } from "../../worker/webhooks/schedule";
import { isWebhookUrlAllowed } from "../../worker/webhooks/url-policy";
import { call, seedOrg, videoJob } from "./helpers";
import { type Receiver, receiver, useReceivers } from "./scripted-receiver";

useReceivers();

/**
 * A real job of a fresh org (created and canceled through the API, so its D1 index row
 * exists), viewed with `webhook_url` pointing at a receiver. The job itself is created
 * without a webhook so that nothing but the test schedules deliveries for it.
 */
async function canceledJob(url: string) {
  const org = await seedOrg();
  const created = await call("/v1/jobs", { key: org.key, body: videoJob() });
  expect(created.status).toBe(201);
  const canceled = await call(`/v1/jobs/${created.json.id}/cancel`, { key: org.key, method: "POST" });
  expect(canceled.status).toBe(200);
  await vi.waitFor(
    async () => expect(await env.DB.prepare("SELECT status FROM jobs WHERE id = ?").bind(created.json.id).first("status")).toBe("canceled"),
    { timeout: 5000, interval: 50 },
  );
  const view = { ...canceled.json, webhook_url: url } as JobView;
  return { ...org, view };
}

/**
 * Hands one message to the Worker's queue handler as the Queue would, `attempts` being
 * the Queue's delivery count. The pool's getQueueResult records that a message was
 * retried but not the delay asked for, so `retry` is observed on the message itself.
 */
async function deliver(body: unknown, attempts: number, withEnv: Env = env) {
  const batch = createMessageBatch("kiln-webhooks", [{ id: "w1", timestamp: new Date(), attempts, body }]);
  const asked: { msgId: string; delaySeconds: number | undefined }[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      asked.push({ msgId: message.id, delaySeconds: options?.delaySeconds });
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, withEnv);
  const result = await getQueueResult(batch, ctx);
  expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(asked.map((m) => m.msgId));
  return { ...result, retryMessages: asked };
}

async function prepared(view: JobView, orgId: string, event: WebhookEventType = "job.canceled") {
  const recorded = await recordWebhookDelivery(env, view, event, orgId);
  expect(recorded).not.toBeNull();
  return recorded!.message;
}

async function secretOf(key: string): Promise<string> {
  const res = await call("/v1/webhooks/secret", { key });
  expect(res.status).toBe(200);
  return res.json.secret;
}

function verify(secret: string, request: { headers: Record<string, string>; body: string }) {
  return new Webhook(secret).verify(request.body, request.headers) as { type: string; timestamp: string; data: JobView };
}

describe("webhook signing", () => {
  it("signs every delivery per Standard Webhooks so Webhook.verify accepts it with the org's secret", async () => {
    const r = receiver(200);
    const { key, orgId, view } = await canceledJob(r.url);
    const message = await prepared(view, orgId);
    const result = await deliver(message, 1);
    expect(result.explicitAcks).toEqual(["w1"]);
    expect(result.retryMessages).toEqual([]);

    expect(r.received).toHaveLength(1);
    const request = r.received[0]!;
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["webhook-id"]).toBe(message.delivery_id);
    expect(request.headers["webhook-id"]).toMatch(/^whd_[a-z0-9]{20}$/);
    expect(request.headers["webhook-timestamp"]).toMatch(/^\d{10}$/);
    expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const secret = await secretOf(key);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const payload = verify(secret, request);
    expect(payload.type).toBe("job.canceled");
    expect(payload.timestamp).toBe(view.updated_at);
    expect(payload.data).toEqual(JSON.parse(JSON.stringify(view)));
    // The secret is per organization and stable until rotated.
    expect(await secretOf(key)).toBe(secret);
    expect(await secretOf((await seedOrg()).key)).not.toBe(secret);
    // A tampered body does not verify.
    expect(() => verify(secret, { ...request, body: request.body.replace("canceled", "completed") })).toThrow(WebhookVerificationError);
  });

  it("rotation replaces the secret: new deliveries verify with the new one only", async () => {
    const r = receiver(200, 200);
    const { key, orgId, view } = await canceledJob(r.url);
    const before = await secretOf(key);
    await deliver(await prepared(view, orgId, "job.canceled"), 1);
    expect(verify(before, r.received[0]!).type).toBe("job.canceled");

    const rotated = await call("/v1/webhooks/secret/rotate", { key, method: "POST" });
    expect(rotated.status).toBe(200);
    expect(rotated.json).toMatchObject({ object: "webhook_secret", secret: expect.stringMatching(/^whsec_/) });
    const after = rotated.json.secret as string;
    expect(after).not.toBe(before);
    expect(await secretOf(key)).toBe(after);

    await deliver(await prepared({ ...view, updated_at: new Date().toISOString() }, orgId, "job.status_changed"), 1);
    const fresh = r.received[1]!;
    expect(verify(after, fresh).type).toBe("job.status_changed");
    expect(() => verify(before, fresh)).toThrow(WebhookVerificationError);
  });

  it("gates reading and rotating the secret on their own actions", async () => {
    const { key } = await seedOrg([{ effect: "allow", actions: ["jobs:*"], resources: ["*"] }]);
    expect((await call("/v1/webhooks/secret", { key })).status).toBe(403);
    expect((await call("/v1/webhooks/secret/rotate", { key, method: "POST" })).status).toBe(403);
    expect((await call("/v1/webhooks/secret")).status).toBe(401);
    const reader = await seedOrg([{ effect: "allow", actions: ["webhooks:read_secret"], resources: ["webhooks/secret"] }]);
    expect((await call("/v1/webhooks/secret", { key: reader.key })).status).toBe(200);
    expect((await call("/v1/webhooks/secret/rotate", { key: reader.key, method: "POST" })).status).toBe(403);
  });
});

describe("webhook retries", () => {
  it("500, 500, 200: delivered on the third attempt, each attempt recorded and listed", async () => {
    const r = receiver(500, 500, 200);
    const { key, orgId, view } = await canceledJob(r.url);
    const message = await prepared(view, orgId);

    const first = await deliver(message, 1);
    expect(first.retryMessages).toEqual([{ msgId: "w1", delaySeconds: WEBHOOK_RETRY_DELAYS_SECONDS[0] }]);
    expect(first.explicitAcks).toEqual([]);
    const pending = (await call(`/v1/jobs/${view.id}/webhooks`, { key })).json.data[0];
    expect(pending).toMatchObject({ status: "pending", attempt: 1, status_code: 500, error: "receiver answered HTTP 500" });
    expect(Date.parse(pending.next_attempt_at) - Date.parse(pending.attempted_at)).toBe(WEBHOOK_RETRY_DELAYS_SECONDS[0]! * 1000);

    // The Queue would redeliver the same message after the delay; do it now.
    const second = await deliver(message, 2);
    expect(second.retryMessages).toEqual([{ msgId: "w1", delaySeconds: WEBHOOK_RETRY_DELAYS_SECONDS[1] }]);
    const third = await deliver(message, 3);
    expect(third.explicitAcks).toEqual(["w1"]);
    expect(third.retryMessages).toEqual([]);

    expect(r.received).toHaveLength(3);
    const secret = await secretOf(key);
    for (const request of r.received) {
      expect(request.headers["webhook-id"]).toBe(message.delivery_id);
      expect(verify(secret, request).data.id).toBe(view.id);
    }

    const list = await call(`/v1/jobs/${view.id}/webhooks`, { key });
    expect(list.status).toBe(200);
    expect(list.json.object).toBe("list");
    expect(list.json.data).toHaveLength(1);
    const delivery = list.json.data[0];
    expect(delivery).toMatchObject({
      id: message.delivery_id,
      object: "webhook_delivery",
      job_id: view.id,
      event_type: "job.canceled",
      url: r.url,
      status: "delivered",
      attempt: 3,
      status_code: 200,
      error: null,
      next_attempt_at: null,
    });
    expect(delivery.delivered_at).toBe(delivery.attempted_at);
    expect(delivery.attempts.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3]);
    expect(delivery.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([500, 500, 200]);
    for (const a of delivery.attempts) {
      expect(a.latency_ms).toEqual(expect.any(Number));
      expect(a.latency_ms).toBeGreaterThanOrEqual(0);
    }
    expect(delivery.attempts[2].next_attempt_at).toBeNull();
    expect(delivery.attempts[0].next_attempt_at).not.toBeNull();

    // A late duplicate of the message after delivery is acknowledged without a POST.
    expect((await deliver(message, 4)).explicitAcks).toEqual(["w1"]);
    expect(r.received).toHaveLength(3);
  });

  it("backs off exponentially over ≥ 8 attempts spanning ≥ 24 h, then gives up", async () => {
    expect(WEBHOOK_MAX_ATTEMPTS).toBeGreaterThanOrEqual(8);
    expect(WEBHOOK_RETRY_DELAYS_SECONDS).toHaveLength(WEBHOOK_MAX_ATTEMPTS - 1);
    expect(WEBHOOK_RETRY_DELAYS_SECONDS.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3600);
    WEBHOOK_RETRY_DELAYS_SECONDS.forEach((delay, i) => {
      expect(delay).toBeLessThanOrEqual(QUEUE_MAX_DELAY_SECONDS);
      // Each wait is 5× the previous one until Queues' 12 h cap.
      if (i > 0) expect(delay).toBe(Math.min(QUEUE_MAX_DELAY_SECONDS, WEBHOOK_RETRY_DELAYS_SECONDS[i - 1]! * 5));
    });

    const r = receiver(503);
    const { key, orgId, view } = await canceledJob(r.url);
    const message = await prepared(view, orgId);
    const asked: number[] = [];
    for (let attempt = 1; attempt < WEBHOOK_MAX_ATTEMPTS; attempt++) {
      const result = await deliver(message, attempt);
      expect(result.retryMessages).toHaveLength(1);
      asked.push(result.retryMessages[0]!.delaySeconds!);
    }
    expect(asked).toEqual([...WEBHOOK_RETRY_DELAYS_SECONDS]);
    expect(asked.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(24 * 3600);
    for (let i = 1; i < asked.length; i++) expect(asked[i]).toBeGreaterThanOrEqual(asked[i - 1]!);
    expect(asked[3]! / asked[2]!).toBe(5);

    const last = await deliver(message, WEBHOOK_MAX_ATTEMPTS);
    expect(last.explicitAcks).toEqual(["w1"]);
    expect(last.retryMessages).toEqual([]);
    expect(r.received).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
    const delivery = (await call(`/v1/jobs/${view.id}/webhooks`, { key })).json.data[0];
    expect(delivery).toMatchObject({ status: "failed", attempt: WEBHOOK_MAX_ATTEMPTS, status_code: 503, next_attempt_at: null, delivered_at: null });
    expect(delivery.attempts).toHaveLength(WEBHOOK_MAX_ATTEMPTS);
  });

  it("takes its base delay from WEBHOOK_RETRY_BASE_SECONDS", async () => {
    const r = receiver(500);
    const { orgId, view } = await canceledJob(r.url);
    const message = await prepared(view, orgId);
    const fast = { ...env, WEBHOOK_RETRY_BASE_SECONDS: "1" } as Env;
    expect((await deliver(message, 1, fast)).retryMessages).toEqual([{ msgId: "w1", delaySeconds: 1 }]);
    expect((await deliver(message, 2, fast)).retryMessages).toEqual([{ msgId: "w1", delaySeconds: 5 }]);
    expect((await deliver(message, 3, fast)).retryMessages).toEqual([{ msgId: "w1", delaySeconds: 25 }]);
  });

  it("records a network failure with no status code and retries it", async () => {
    const r = receiver("connection refused", 204);
    const { key, orgId, view } = await canceledJob(r.url);
    const message = await prepared(view, orgId);
    expect((await deliver(message, 1)).retryMessages).toHaveLength(1);
    expect((await deliver(message, 2)).explicitAcks).toEqual(["w1"]);
    const delivery = (await call(`/v1/jobs/${view.id}/webhooks`, { key })).json.data[0];
    expect(delivery.status).toBe("delivered");
    expect(delivery.attempts[0]).toMatchObject({ attempt: 1, status_code: null, error: expect.stringContaining("connection refused") });
    expect(delivery.attempts[1]).toMatchObject({ attempt: 2, status_code: 204, error: null });
  });

  it("acknowledges malformed messages without retrying them", async () => {
    const result = await deliver({ v: 1, delivery_id: "nope" }, 1);
    expect(result.explicitAcks).toEqual(["w1"]);
    expect(result.retryMessages).toEqual([]);
  });
});

describe("listing deliveries", () => {
  it("is per job, newest first, and another organization's job is a 404", async () => {
    const r = receiver(200);
    const { key, orgId, view } = await canceledJob(r.url);
    await deliver(await prepared(view, orgId, "job.status_changed"), 1);
    const later = { ...view, updated_at: new Date(Date.parse(view.updated_at) + 1000).toISOString() };
    await new Promise((resolve) => setTimeout(resolve, 5));
    await deliver(await prepared(later, orgId, "job.canceled"), 1);
    const list = await call(`/v1/jobs/${view.id}/webhooks`, { key });
    expect(list.json.data.map((d: { event_type: string }) => d.event_type)).toEqual(["job.canceled", "job.status_changed"]);

    const other = await seedOrg();
    const foreign = await call(`/v1/jobs/${view.id}/webhooks`, { key: other.key });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error.code).toBe("not_found");
    expect((await call("/v1/jobs/job_aaaaaaaaaaaaaaaaaaaa/webhooks", { key })).status).toBe(404);

    const limited = await seedOrg([{ effect: "allow", actions: ["jobs:get"], resources: ["jobs/job_someoneelse"] }]);
    expect((await call(`/v1/jobs/${view.id}/webhooks`, { key: limited.key })).status).toBe(403);
  });
});

describe("scheduleWebhook", () => {
  it("enqueues one delivery per transition however often it is called, and the Queue delivers it", async () => {
    const r = receiver(200);
    const { key, orgId, view } = await canceledJob(r.url);
    const sent: unknown[] = [];
    const observed = {
      ...env,
      WEBHOOKS: {
        send: (body: unknown, options?: QueueSendOptions) => {
          sent.push(body);
          return env.WEBHOOKS.send(body as never, options);
        },
        sendBatch: env.WEBHOOKS.sendBatch.bind(env.WEBHOOKS),
      },
    } as unknown as Env;

    await scheduleWebhook(observed, view, "job.canceled", orgId);
    await scheduleWebhook(observed, view, "job.canceled", orgId);
    // Without an organization id the job's index row supplies it.
    await scheduleWebhook(observed, view, "job.canceled");
    expect(sent).toHaveLength(1);
    const rows = await env.DB.prepare("SELECT id FROM webhook_deliveries WHERE job_id = ?").bind(view.id).all();
    expect(rows.results).toHaveLength(1);

    // The real kiln-webhooks consumer picks it up.
    await vi.waitFor(
      async () => expect((await call(`/v1/jobs/${view.id}/webhooks`, { key })).json.data[0]?.status).toBe("delivered"),
      { timeout: 10_000, interval: 100 },
    );
    expect(r.received).toHaveLength(1);
    expect(r.received[0]!.headers["webhook-id"]).toBe((sent[0] as { delivery_id: string }).delivery_id);
    expect(verify(await secretOf(key), r.received[0]!).type).toBe("job.canceled");

    // A later transition is a new delivery.
    await scheduleWebhook(observed, { ...view, updated_at: new Date(Date.parse(view.updated_at) + 1).toISOString() }, "job.status_changed", orgId);
    expect(sent).toHaveLength(2);
    expect((sent[1] as { delivery_id: string }).delivery_id).not.toBe((sent[0] as { delivery_id: string }).delivery_id);
  });

  it("does nothing for a job without a webhook_url", async () => {
    const { orgId, view } = await canceledJob("https://unused.example/");
    const none = { ...view, webhook_url: null };
    const sent: unknown[] = [];
    await scheduleWebhook({ ...env, WEBHOOKS: { send: async (b: unknown) => void sent.push(b) } } as unknown as Env, none, "job.canceled", orgId);
    expect(sent).toEqual([]);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE job_id = ?").bind(view.id).first("n"))).toBe(0);
  });
});

/** The HMAC Transcodely's SDKs verify: hex SHA-256 keyed with the secret string, over `{t}.{body}`. */
async function transcodelySignature(secret: string, t: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${body}`)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Waits until the job's first webhook delivery has ended, through the real Queue consumer. */
async function deliveredOnce(key: string, jobId: string, r: Receiver) {
  await vi.waitFor(
    async () => expect((await call(`/v1/jobs/${jobId}/webhooks`, { key })).json.data[0]?.status).toBe("delivered"),
    { timeout: 10_000, interval: 100 },
  );
  expect(r.received).toHaveLength(1);
  return r.received[0]!;
}

describe("webhooks of dialect jobs take the vendor's shape", () => {
  it("Transcodely: its event envelope, Webhook-Id stable across retries, Transcodely-Signature over {t}.{body}", async () => {
    const r = receiver(500, 200);
    const { key, orgId } = await seedOrg();
    const headers = { "x-organization-id": orgId };
    const create = (webhook: Record<string, string>) =>
      call("/transcodely.v1.JobService/Create", {
        key,
        headers,
        body: { input_url: "https://example.com/in.mp4", managed: true, ...webhook, outputs: [{ type: "mp4", video: [{ codec: "h264", resolution: "480p" }] }] },
      });
    // Made without a webhook, so only this test schedules its deliveries.
    const created = await create({});
    expect(created.status).toBe(200);
    const jobId = created.json.job.id as string;
    expect((await call("/transcodely.v1.JobService/Cancel", { key, headers, body: { id: jobId } })).json.job.status).toBe("canceled");
    const view = (await call(`/v1/jobs/${jobId}`, { key })).json as JobView;
    expect(view.dialect).toBe("transcodely");
    const message = await prepared({ ...view, webhook_url: r.url }, orgId, "job.canceled");
    expect(message.format).toBe("transcodely");
    expect((await deliver(message, 1)).retryMessages).toHaveLength(1);
    expect((await deliver(message, 2)).explicitAcks).toEqual(["w1"]);
    expect(r.received).toHaveLength(2);

    const secret = await secretOf(key);
    const got = (await call("/transcodely.v1.JobService/Get", { key, headers, body: { id: jobId } })).json.job;
    for (const request of r.received) {
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.headers["webhook-id"]).toBe(`evt_${message.delivery_id.slice("whd_".length)}`);
      expect(request.headers["webhook-signature"]).toBeUndefined();
      const [, t, v1] = /^t=(\d{10}),v1=([0-9a-f]{64})$/.exec(request.headers["transcodely-signature"]!)!;
      expect(v1).toBe(await transcodelySignature(secret, t!, request.body));
      expect(v1).not.toBe(await transcodelySignature(secret, t!, request.body.replace("canceled", "completed")));
      const event = JSON.parse(request.body);
      expect(Object.keys(event)).toEqual(["id", "object", "api_version", "created", "type", "data", "pending_webhooks", "request"]);
      expect(event).toMatchObject({ id: request.headers["webhook-id"], object: "event", type: "job.canceled", created: view.updated_at, pending_webhooks: 0, request: { id: null, idempotency_key: null } });
      // data is the Job itself, as Get shows it, which the SDKs decode by the type's prefix.
      expect(Object.keys(event.data)).toEqual(Object.keys(got));
      expect(event.data).toMatchObject({ id: jobId, status: "canceled", webhook_url: r.url, currency: "EUR", outputs: [{ status: "canceled" }] });
    }
    // Both attempts carry the same event about the same job.
    expect(JSON.parse(r.received[0]!.body)).toEqual(JSON.parse(r.received[1]!.body));

    // A job made with a webhook_url gets its event from the real Queue consumer.
    const live = receiver(200);
    const hooked = await create({ webhook_url: live.url });
    await call("/transcodely.v1.JobService/Cancel", { key, headers, body: { id: hooked.json.job.id } });
    const request = await deliveredOnce(key, hooked.json.job.id, live);
    const [, t, v1] = /^t=(\d{10}),v1=([0-9a-f]{64})$/.exec(request.headers["transcodely-signature"]!)!;
    expect(v1).toBe(await transcodelySignature(secret, t!, request.body));
    expect(JSON.parse(request.body)).toMatchObject({ type: "job.canceled", data: { id: hooked.json.job.id, status: "canceled" } });
  });

  it("Ittybit: the finished job as its Get shows it, signed per Standard Webhooks", async () => {
    const r = receiver(200);
    const { key } = await seedOrg();
    const created = await call("/jobs", { key, body: { input: "https://example.com/in.mp4", kind: "video", options: { width: 320 }, webhook_url: r.url } });
    expect(created.status).toBe(201);
    const canceled = await call(`/jobs/${created.json.id}/cancel`, { key, method: "POST" });
    expect(canceled.json.status).toBe("cancelled");
    const request = await deliveredOnce(key, created.json.id, r);
    const body = new Webhook(await secretOf(key)).verify(request.body, request.headers) as Record<string, unknown>;
    expect(request.headers["webhook-id"]).toMatch(/^whd_[a-z0-9]{20}$/);
    expect(body).toEqual((await call(`/jobs/${created.json.id}`, { key })).json);
    expect(body).toMatchObject({ object: "job", id: created.json.id, kind: "video", status: "cancelled", options: { width: 320 } });
  });

  it("a native job keeps Standard Webhooks' payload", async () => {
    const r = receiver(200);
    const { key } = await seedOrg();
    const created = await call("/v1/jobs", { key, body: videoJob({ webhook_url: r.url }) });
    expect(created.json.dialect).toBeNull();
    await call(`/v1/jobs/${created.json.id}/cancel`, { key, method: "POST" });
    const request = await deliveredOnce(key, created.json.id, r);
    expect(verify(await secretOf(key), request)).toMatchObject({ type: "job.canceled", data: { id: created.json.id, status: "canceled" } });
  });
});

describe("webhook URL policy", () => {
  const production = { KILN_ENV: "production" };
  const development = { KILN_ENV: "development" };

  it.each([
    ["https://hooks.example.com/kiln", true],
    ["http://hooks.example.com:8080/kiln?x=1", true],
    ["https://93.184.216.34/hook", true],
    ["https://[2606:4700::1111]/hook", true],
    ["https://172.32.0.1/hook", true],
    ["https://100.128.0.1/hook", true],
    ["http://localhost:3000/hook", false],
    ["http://LOCALHOST./hook", false],
    ["http://api.localhost/hook", false],
    ["http://metadata.google.internal/computeMetadata", false],
    ["http://printer.local/hook", false],
    ["http://127.0.0.1/hook", false],
    ["http://127.1.2.3/hook", false],
    ["http://2130706433/hook", false],
    ["http://0x7f.1/hook", false],
    ["http://0.0.0.0/hook", false],
    ["http://10.1.2.3/hook", false],
    ["http://172.16.0.1/hook", false],
    ["http://172.31.255.255/hook", false],
    ["http://192.168.1.10/hook", false],
    ["http://169.254.169.254/latest/meta-data", false],
    ["http://100.64.0.1/hook", false],
    ["http://100.127.255.254/hook", false],
    ["http://[::1]/hook", false],
    ["http://[::]/hook", false],
    ["http://[fd12:3456::1]/hook", false],
    ["http://[fc00::1]/hook", false],
    ["http://[fe80::1]/hook", false],
    ["http://[::ffff:127.0.0.1]/hook", false],
    ["http://[::ffff:10.0.0.1]/hook", false],
    ["http://[64:ff9b::192.168.0.1]/hook", false],
    ["http://[::ffff:93.184.216.34]/hook", true],
    ["ftp://hooks.example.com/", false],
    ["not a url", false],
  ])("production: %s → %s", (url, allowed) => {
    expect(isWebhookUrlAllowed(url, production)).toBe(allowed);
  });

  it("allows private addresses outside production", () => {
    for (const url of ["http://127.0.0.1:9999/hook", "http://localhost/hook", "http://[::1]/x", "http://10.0.0.1/"]) {
      expect(isWebhookUrlAllowed(url, development)).toBe(true);
    }
    expect(isWebhookUrlAllowed("ftp://example.com/", development)).toBe(false);
  });

  it("the consumer refuses a private URL in production: recorded as failed, never fetched, not retried", async () => {
    expect(env.KILN_ENV).toBe("production");
    const { key, orgId, view } = await canceledJob("http://169.254.169.254/latest/meta-data");
    const fetchSpy = vi.mocked(globalThis.fetch);
    const callsBefore = fetchSpy.mock.calls.length;
    const result = await deliver(await prepared(view, orgId), 1);
    expect(result.explicitAcks).toEqual(["w1"]);
    expect(result.retryMessages).toEqual([]);
    expect(fetchSpy.mock.calls.slice(callsBefore).some(([input]) => String(input instanceof Request ? input.url : input).includes("169.254"))).toBe(false);
    const delivery = (await call(`/v1/jobs/${view.id}/webhooks`, { key })).json.data[0];
    expect(delivery).toMatchObject({ status: "failed", attempt: 1, status_code: null, next_attempt_at: null });
    expect(delivery.error).toMatch(/^webhook URL refused: host 169\.254\.169\.254 is a cloud metadata address/);
  });
});
