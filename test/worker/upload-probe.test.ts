import { createMessageBatch, getQueueResult, createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { consumeProbes, probeRetryDelaySeconds } from "../../worker/queue/probe-consumer";
import { DOUBLE_PROBE_METADATA } from "./encoder-double";
import { call, seedOrg } from "./helpers";

/**
 * Probe facts on uploads: a ready upload is put on the probe Queue, the consumer asks
 * the encoder (here the double at the boundary) to probe a signed GET URL of the
 * object, and the upload shows what it answered.
 */
const double = (path: string, body?: unknown) =>
  fetch(`${env.ENCODER_URL}${path}`, body === undefined ? undefined : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function createUpload(key: string, filename = "clip.mp4") {
  const res = await call("/v1/uploads", { key, body: { content_type: "video/mp4", filename, max_bytes: 1024 * 1024 } });
  expect(res.status).toBe(201);
  return res.json as { id: string; upload_url: string };
}

const putBytes = (url: string, data: Uint8Array) =>
  exports.default.fetch(new Request(url, { method: "PUT", body: data, headers: { "content-type": "video/mp4", "content-length": String(data.byteLength) } }));

async function probed(key: string, id: string, status: "completed" | "failed") {
  let upload: any;
  await vi.waitFor(async () => {
    upload = (await call(`/v1/uploads/${id}`, { key })).json;
    expect(upload.probe?.status).toBe(status);
  }, { timeout: 15_000, interval: 100 });
  return upload;
}

describe("probing uploads", () => {
  it("a direct upload is ready as soon as its PUT lands, and shows the encoder's probe facts", async () => {
    const { orgId, key } = await seedOrg();
    const upload = await createUpload(key);
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.probe).toBeNull();
    const data = new Uint8Array(4096).map((_, i) => i & 0xff);
    expect((await putBytes(upload.upload_url, data)).status).toBe(201);
    // Ready without anyone reading it first: the /storage route settled it.
    const row = await env.DB.prepare("SELECT status FROM uploads WHERE id = ?").bind(upload.id).first<{ status: string }>();
    expect(row!.status).toBe("ready");

    const done = await probed(key, upload.id, "completed");
    expect(done.probe).toEqual({ status: "completed", metadata: DOUBLE_PROBE_METADATA, error: null, probed_at: expect.any(String) });

    // What the encoder was asked: one probe, with its token, of a signed GET URL that serves the bytes.
    const requests = (await (await double(`/probes/${upload.id}`)).json()) as { url: string; authorization: string; v: number }[];
    expect(requests).toHaveLength(1);
    expect(requests[0]!.authorization).toBe(`Bearer ${env.ENCODER_TOKEN}`);
    const url = new URL(requests[0]!.url);
    expect(url.origin).toBe(env.PUBLIC_URL);
    expect(url.pathname).toBe(`/storage/uploads/${orgId}/${upload.id}/clip.mp4`);
    const served = await exports.default.fetch(new Request(`https://kiln.test${url.pathname}${url.search}`));
    expect(served.status).toBe(200);
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(data);
  });

  it("records a probe that found no usable media as failed, with its code", async () => {
    const { key } = await seedOrg();
    const upload = await createUpload(key);
    await double("/control/probe", {
      upload_id: upload.id,
      answers: [{ status: 200, body: { ok: false, error: { code: "input_unreadable", message: "The input is not a media file ffmpeg can read" } } }],
    });
    await putBytes(upload.upload_url, new Uint8Array(100));
    const done = await probed(key, upload.id, "failed");
    expect(done.status).toBe("ready");
    expect(done.probe).toMatchObject({ metadata: null, error: { code: "input_unreadable", message: expect.stringContaining("not a media file") } });
  });

  it("asks again when the encoder is busy, and stays pending meanwhile", { timeout: 30_000 }, async () => {
    const { key } = await seedOrg();
    const upload = await createUpload(key);
    await double("/control/probe", { upload_id: upload.id, answers: [{ status: 429, body: { error: { code: "encoder_full" } } }] });
    await putBytes(upload.upload_url, new Uint8Array(100));
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.probe).toMatchObject({ status: "pending", metadata: null, error: null });
    await vi.waitFor(async () => expect((await call(`/v1/uploads/${upload.id}`, { key })).json.probe.status).toBe("completed"), { timeout: 25_000, interval: 200 });
    expect(((await (await double(`/probes/${upload.id}`)).json()) as unknown[]).length).toBe(2);
  });

  it("retries a message, backing off, when the encoder's answer is not a probe result", async () => {
    const { orgId, key } = await seedOrg();
    const upload = await createUpload(key);
    // The queue's own delivery is answered by default; this one is scripted as nonsense.
    await putBytes(upload.upload_url, new Uint8Array(100));
    await probed(key, upload.id, "completed");
    await env.DB.prepare("UPDATE uploads SET probe_status = 'pending', probe_metadata = NULL WHERE id = ?").bind(upload.id).run();
    await double("/control/probe", { upload_id: upload.id, answers: [{ status: 200, body: { ok: "maybe" } }] });
    const batch = createMessageBatch("kiln-probes", [{ id: "m1", timestamp: new Date(), attempts: 2, body: { v: 1, upload_id: upload.id, org_id: orgId } }]);
    await consumeProbes(batch, env);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m1"]);
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.probe.status).toBe("pending");
  });

  it("a tus upload is probed once its last PATCH completes it", async () => {
    const { key } = await seedOrg();
    const data = new Uint8Array(1000).fill(7);
    const created = await exports.default.fetch(
      new Request("https://kiln.test/v1/uploads/tus", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "tus-resumable": "1.0.0", "upload-length": String(data.length), "content-type": "application/offset+octet-stream" },
        body: data,
      }),
    );
    expect(created.status).toBe(201);
    const id = created.headers.get("location")!.split("/").pop()!;
    const done = await probed(key, id, "completed");
    expect(done).toMatchObject({ status: "ready", size_bytes: 1000 });
  });

  it("skips uploads that are gone, another org's, or already probed, and drops malformed messages", async () => {
    const { orgId, key } = await seedOrg();
    const upload = await createUpload(key);
    await putBytes(upload.upload_url, new Uint8Array(10));
    await probed(key, upload.id, "completed");
    const other = await seedOrg();
    const batch = createMessageBatch("kiln-probes", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { v: 1, upload_id: upload.id, org_id: orgId } },
      { id: "m2", timestamp: new Date(), attempts: 1, body: { v: 1, upload_id: upload.id, org_id: other.orgId } },
      { id: "m3", timestamp: new Date(), attempts: 1, body: { v: 1, upload_id: "vid_doesnotexist", org_id: orgId } },
      { id: "m4", timestamp: new Date(), attempts: 1, body: { upload: "nonsense" } },
    ]);
    const ctx = createExecutionContext();
    await consumeProbes(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2", "m3", "m4"]);
    expect(result.retryMessages).toEqual([]);
    expect(((await (await double(`/probes/${upload.id}`)).json()) as unknown[]).length).toBe(1);
  });

  it("takes the facts a job's encoder found for its input when the upload has none", async () => {
    const { key } = await seedOrg();
    const upload = await createUpload(key);
    await double("/control/probe", { upload_id: upload.id, answers: [{ status: 200, body: { ok: false, error: { code: "input_unreachable", message: "timed out" } } }] });
    await putBytes(upload.upload_url, new Uint8Array(100));
    await probed(key, upload.id, "failed");

    const job = (await call("/v1/jobs", { key, body: { input: upload.id, kind: "video", options: { format: "mp4" } } })).json;
    let order: { lease_token: string } | undefined;
    await vi.waitFor(async () => {
      order = ((await (await double(`/orders/${job.id}`)).json()) as { lease_token: string }[])[0];
      expect(order).toBeDefined();
    }, { timeout: 8000, interval: 50 });
    const metadata = { ...DOUBLE_PROBE_METADATA, width: 640, height: 360, duration_ms: 3000 };
    const posted = await call(`/internal/jobs/${job.id}/events`, {
      headers: { authorization: `Bearer ${order!.lease_token}` },
      body: { v: 1, job_id: job.id, attempt: 1, seq: 0, at: new Date().toISOString(), type: "metadata", input_metadata: metadata },
    });
    expect(posted.status).toBe(200);
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.probe).toMatchObject({ status: "completed", metadata, error: null });
  });

  it("backs off: a busy pool is asked again soon, an unreachable one ever later, capped", () => {
    expect([1, 2, 3, 20].map((n) => probeRetryDelaySeconds("busy", n))).toEqual([5, 10, 15, 60]);
    expect([1, 2, 3, 10].map((n) => probeRetryDelaySeconds("unreachable", n))).toEqual([10, 20, 40, 600]);
  });
});
