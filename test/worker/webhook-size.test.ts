import { env, runInDurableObject } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import type { Env } from "../../worker/env";
import type { JobState, JobView } from "../../worker/jobs/job-state";
import { OUTBOX_MAX_ATTEMPTS, Outbox } from "../../worker/jobs/outbox";
import { recordWebhookDelivery } from "../../worker/webhooks/schedule";
import { call, encoderFor, eventsBeforeOutputs, jobDO, orderNumber, seedOrg } from "./helpers";
import { type Receiver, receiver, useReceivers } from "./scripted-receiver";

/*
 * Webhooks of the largest jobs the schema takes. Queues refuse a message over 128 KB
 * (Miniflare enforces the same limit), so a webhook whose message carried the job
 * was never delivered and its outbox retried it for ever. The receiver is the boundary:
 * scripted-receiver.ts answers 200; everything else (D1, the Queue and its consumer, the
 * JobDO) is real.
 */
const QUEUE_MESSAGE_LIMIT = 128 * 1000;
useReceivers();


/** An S3 presigned GET as a subtitle source: a session token makes these about 1.5 KB. */
const presigned = (n: number) =>
  `https://subs-bucket.s3.eu-west-1.amazonaws.com/captions/track-${n}.vtt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20260101%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=86400&X-Amz-Security-Token=${"IQoJb3JpZ2luX2VjEOr".repeat(60)}&X-Amz-SignedHeaders=host&X-Amz-Signature=${"ab12".repeat(16)}`;

/** 10 HLS outputs × 20 variants (the schema's maxima), each with 8 presigned subtitle tracks. */
const largestOutputsJob = (webhook_url: string) => ({
  input: "https://media.example.com/in.mp4",
  webhook_url,
  outputs: Array.from({ length: 10 }, (_, o) => ({
    type: "hls",
    video: Array.from({ length: 20 }, (_, v) => ({ codec: "h264", height: 128 + 16 * v, bitrate: 300 + 100 * v + o })),
    audio: [{ codec: "aac" }],
    subtitle_tracks: Array.from({ length: 8 }, (_, s) => ({ source: presigned(o * 8 + s), language: "en", label: `English ${s}` })),
  })),
});

/** 50 tasks (the schema's maximum): a get, then ffmpeg commands with long filter graphs. */
const largestTasksJob = (notify: string) => ({
  notify,
  tasks: [
    { tool: "storage:get", parameters: { location: "https://media.example.com/in/", files: ["a.mov"] } },
    ...Array.from({ length: 49 }, (_, i) => ({
      tool: "ffmpeg:cmd",
      parameters: { arguments: ["-i", "a.mov", "-vf", `drawtext=text='${"frame %{n} ".repeat(340)}':x=${i}:y=${i}`, "-metadata", `comment=${"kiln ".repeat(800)}`, `out_${i}.mp4`] }, // ~8 KB each
    })),
  ],
});

async function waitDelivered(key: string, jobId: string, r: Receiver) {
  await vi.waitFor(
    async () => {
      const list = (await call(`/v1/jobs/${jobId}/webhooks`, { key })).json.data as { status: string; error: string | null }[];
      expect(list.length).toBeGreaterThan(0);
      expect(list.map((d) => d.status)).toEqual(list.map(() => "delivered"));
    },
    { timeout: 20_000, interval: 200 },
  );
  return r.received;
}

async function secretOf(key: string): Promise<string> {
  return (await call("/v1/webhooks/secret", { key })).json.secret;
}

/** Plays the encoder through every output of a transcode job to `job_completed`. */
async function completeOutputs(jobId: string) {
  const order = await orderNumber<{ job_id: string; attempt: number; lease_token: string; tasks: { task_id: string; output_id: string }[] }>(jobId);
  const send = encoderFor(order);
  for (const event of eventsBeforeOutputs(order.tasks)) expect((await send(event)).status).toBe(200);
  for (const task of order.tasks) {
    const dir = task.output_id;
    const files = [`${dir}/master.m3u8`, ...Array.from({ length: 20 }, (_, v) => `${dir}/v${v}/index.m3u8`)].map((path) => ({
      path,
      content_type: "application/vnd.apple.mpegurl",
      size_bytes: 100,
      sha256: "c".repeat(64),
    }));
    const facts = { output_id: dir, main: `${dir}/master.m3u8`, files, size_bytes: 2100, duration_ms: 3000, width: 432, height: 432, codec: "h264", sha256: "c".repeat(64) };
    expect((await send({ type: "task_completed", stage: "encode", task_id: task.task_id, output: facts })).status).toBe(200);
  }
  expect((await send({ type: "task_completed", stage: "export", task_id: null, output: null })).status).toBe(200);
  expect((await send({ type: "job_completed" })).status).toBe(200);
}

describe("webhooks of the largest jobs", () => {
  it("10 outputs × 20 variants with presigned subtitles: delivered once, signed, its queue message small", { timeout: 60_000 }, async () => {
    const { key, orgId } = await seedOrg();
    const r = receiver();
    const created = await call("/v1/jobs", { key, body: largestOutputsJob(r.url) });
    expect(created.status, created.text).toBe(201);
    const jobId = created.json.id as string;
    await completeOutputs(jobId);
    const view = (await call(`/v1/jobs/${jobId}`, { key })).json as JobView;
    expect(view.status).toBe("completed");
    const inline = JSON.stringify({ type: "job.completed", timestamp: view.updated_at, data: view }).length;

    const requests = await waitDelivered(key, jobId, r);
    expect(requests).toHaveLength(1);
    const payload = new Webhook(await secretOf(key)).verify(requests[0]!.body, requests[0]!.headers) as { type: string; data: JobView };
    expect(payload.type).toBe("job.completed");
    expect(payload.data.outputs).toHaveLength(10);
    // Each output's URL was signed at delivery, for its playlist's folder, good for hours yet.
    for (const output of payload.data.outputs) {
      const [, expires] = /\/storage\/p\/(\d+)\/.*\/master\.m3u8$/.exec(output.output_url ?? "") ?? [];
      expect(Number(expires)).toBeGreaterThan(Date.now() / 1000 + 5 * 3600);
    }

    // The message the Queue carries for the same delivery: ids, not the job.
    const recorded = await recordWebhookDelivery(env as unknown as Env, view, "job.completed", orgId);
    const message = JSON.stringify(recorded!.message).length;
    console.log(`figures: largest outputs job (10 × 20 variants, 80 presigned subtitles): payload ${inline} B, queue message ${message} B (limit ${QUEUE_MESSAGE_LIMIT} B)`);
    expect(inline).toBeGreaterThan(QUEUE_MESSAGE_LIMIT);
    expect(message).toBeLessThan(1024);
  });

  it("a 50-task VTK job: its notify callback is delivered, its queue message small", { timeout: 60_000 }, async () => {
    const { key, orgId } = await seedOrg();
    const r = receiver();
    const headers = { "x-castlabs-organization": `urn:janus:organization:${orgId.replace(/^org_/, "")}` };
    const base = `/o/${headers["x-castlabs-organization"]}/jobs`;
    const created = await call(base, { key, headers, body: largestTasksJob(r.url) });
    expect(created.status, created.text).toBe(201);
    const jobId = created.json.id as string;
    expect((await call(`${base}/${jobId}?action=abort`, { key, headers, method: "POST" })).status).toBe(200);
    const view = (await call(`/v1/jobs/${jobId}`, { key })).json as JobView;
    expect(view.tasks).toHaveLength(50);
    const inline = JSON.stringify({ type: "job.canceled", timestamp: view.updated_at, data: view }).length;

    const requests = await waitDelivered(key, jobId, r);
    expect(requests).toHaveLength(1);
    // VTK's callback: {job_id, job_url, status}, signed per Standard Webhooks.
    const payload = new Webhook(await secretOf(key)).verify(requests[0]!.body, requests[0]!.headers) as Record<string, unknown>;
    expect(payload).toMatchObject({ job_id: jobId, status: (await call(`${base}/${jobId}`, { key, headers })).json.status });

    const message = JSON.stringify((await recordWebhookDelivery(env as unknown as Env, view, "job.canceled", orgId))!.message).length;
    console.log(`figures: 50-task job: payload ${inline} B, queue message ${message} B (limit ${QUEUE_MESSAGE_LIMIT} B)`);
    expect(inline).toBeGreaterThan(QUEUE_MESSAGE_LIMIT);
    expect(message).toBeLessThan(1024);
  });
});

describe("the outbox's retries are bounded", () => {
  it("a webhook the Queue keeps refusing is given up with its reason after the maximum; the next one is not held up", { timeout: 30_000 }, async () => {
    const { key } = await seedOrg();
    const r = receiver();
    const created = await call("/v1/jobs", { key, body: { input: "https://media.example.com/in.mp4", kind: "video", webhook_url: r.url } });
    expect(created.status).toBe(201);
    const jobId = created.json.id as string;
    expect((await call(`/v1/jobs/${jobId}/cancel`, { key, method: "POST" })).status).toBe(200);
    await waitDelivered(key, jobId, r);
    const view = (await call(`/v1/jobs/${jobId}`, { key })).json as JobView;

    // A Queue that refuses every message, as one over its size limit is refused.
    let refusals = 0;
    const refusing = {
      ...env,
      WEBHOOKS: {
        send: async () => {
          refusals++;
          throw new Error("Queue send failed: message length of 300000 bytes exceeds limit of 128000");
        },
      },
    } as unknown as Env;
    const outcome = await runInDurableObject(jobDO(jobId), async (_instance, state) => {
      const job = (_instance as unknown as { job: JobState }).job;
      const stuck = { ...view, updated_at: new Date(Date.parse(view.updated_at) + 1).toISOString() };
      const outbox = new Outbox(state.storage.sql, refusing);
      outbox.record([{ type: "webhook", event: "job.status_changed", job: stuck }]);
      let now = Date.now();
      let flushes = 0;
      // Each flush runs when the previous one asked to be woken: the alarm's clock, advanced by hand.
      for (let next = await outbox.flush(job, now); next !== null && flushes < 100; next = await outbox.flush(job, now)) {
        now = next;
        flushes++;
      }
      const spanMs = now - Date.now();
      // A later webhook goes through a Queue that works, however the first one fared.
      const working = new Outbox(state.storage.sql, env as unknown as Env);
      const later = { ...view, updated_at: new Date(Date.parse(view.updated_at) + 2).toISOString() };
      working.record([{ type: "webhook", event: "job.status_changed", job: later }]);
      const pending = await working.flush(job, Date.now());
      return { flushes, spanMs, pending };
    });
    console.log(`figures: refused webhook given up after ${refusals} sends over ${Math.round(outcome.spanMs / 1000)} s of retries (max ${OUTBOX_MAX_ATTEMPTS})`);
    expect(refusals).toBe(OUTBOX_MAX_ATTEMPTS);
    expect(outcome.pending).toBeNull();
    // One given up with its reason, the later one delivered by the real consumer.
    await vi.waitFor(async () => {
      const now = (await call(`/v1/jobs/${jobId}/webhooks`, { key })).json.data as { event_type: string; status: string; error: string | null }[];
      const changed = now.filter((d) => d.event_type === "job.status_changed");
      expect(changed.map((d) => d.status).sort()).toEqual(["delivered", "failed"]);
      expect(changed.find((d) => d.status === "failed")!.error).toMatch(new RegExp(`^not queued after ${OUTBOX_MAX_ATTEMPTS} attempts: .*exceeds limit`));
    }, { timeout: 15_000, interval: 200 });
  });
});
