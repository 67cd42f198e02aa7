import { createScheduledController } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import { runRetention } from "../../worker/retention/sweep";
import { call, seedOrg, videoJob, orderNumber } from "./helpers";

/**
 * Retention through the Worker's own scheduled handler. Ages are played by the clock
 * the cron passes (scheduledTime), not by editing rows: a run "now" keeps everything,
 * a run 31 days on (RETENTION_DAYS is 30 in wrangler.toml) deletes. Storage is this
 * file's own, so the runs touch nothing of other test files.
 */
const DAY = 24 * 3600 * 1000;

async function cron(at: number) {
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "17 * * * *" }), env);
}

async function readyUpload(key: string) {
  const upload = (await call("/v1/uploads", { key, body: { content_type: "video/mp4", filename: "clip.mp4", max_bytes: 1024 } })).json;
  const put = await exports.default.fetch(new Request(upload.upload_url, { method: "PUT", body: new Uint8Array(100), headers: { "content-type": "video/mp4", "content-length": "100" } }));
  expect(put.status).toBe(201);
  const row = await env.DB.prepare("SELECT key FROM uploads WHERE id = ?").bind(upload.id).first<{ key: string }>();
  return { id: upload.id as string, objectKey: row!.key };
}

interface Order {
  job_id: string;
  lease_token: string;
  tasks: { task_id: string; output_id: string }[];
}

/** A job run to completion the way the encoder runs it, with `files` output files stored. */
async function completedJob(key: string, files = 1) {
  const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
  const order = await orderNumber<Order>(job.id);
  const task = order!.tasks[0]!;
  let seq = 0;
  const send = (body: Record<string, unknown>) =>
    call(`/internal/jobs/${job.id}/events`, {
      headers: { authorization: `Bearer ${order!.lease_token}` },
      body: { v: 1, job_id: job.id, attempt: 1, seq: seq++, at: new Date().toISOString(), ...body },
    });
  for (const stage of ["import", "probe"]) {
    await send({ type: "task_started", stage, task_id: null });
    await send({ type: "task_completed", stage, task_id: null, output: null });
  }
  await send({ type: "task_started", stage: "encode", task_id: task.task_id });
  const paths = Array.from({ length: files }, (_, i) => (i === 0 ? `${task.output_id}.mp4` : `${task.output_id}/extra-${i}.bin`));
  const signed = await call(`/internal/jobs/${job.id}/sign`, {
    headers: { authorization: `Bearer ${order!.lease_token}` },
    body: { job_id: job.id, attempt: 1, files: paths.map((path) => ({ output_id: task.output_id, path, content_type: "video/mp4", size_bytes: 4 })) },
  });
  for (const upload of signed.json.uploads) {
    const put = await exports.default.fetch(new Request(upload.url, { method: "PUT", body: "data", headers: { "content-type": "video/mp4", "content-length": "4" } }));
    expect(put.status).toBe(201);
  }
  const file = { path: paths[0], content_type: "video/mp4", size_bytes: 4, sha256: "a".repeat(64) };
  await send({
    type: "task_completed",
    stage: "encode",
    task_id: task.task_id,
    output: { output_id: task.output_id, main: paths[0], files: [file], size_bytes: 4, duration_ms: 1000, width: 64, height: 64, codec: "h264", sha256: "a".repeat(64) },
  });
  await send({ type: "job_completed" });
  const done = (await call(`/v1/jobs/${job.id}`, { key })).json;
  expect(done.status).toBe("completed");
  return { id: job.id as string, outputUrl: done.outputs[0].output_url as string };
}

const objectsOf = async (jobId: string) => (await env.MEDIA.list({ prefix: `jobs/${jobId}/` })).objects.map((o) => o.key);

describe("retention (the cron's scheduled handler)", () => {
  it("keeps uploads and outputs younger than RETENTION_DAYS and deletes older ones", async () => {
    const { key } = await seedOrg();
    const upload = await readyUpload(key);
    const job = await completedJob(key);
    expect(await objectsOf(job.id)).toHaveLength(1);

    await cron(Date.now());
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.status).toBe("ready");
    expect(await env.MEDIA.head(upload.objectKey)).not.toBeNull();
    const kept = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(kept.outputs[0]).toMatchObject({ status: "completed", output_url: expect.any(String) });
    expect(await objectsOf(job.id)).toHaveLength(1);

    await cron(Date.now() + 31 * DAY);
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.status).toBe("expired");
    expect(await env.MEDIA.head(upload.objectKey)).toBeNull();
    const expired = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(expired.status).toBe("completed");
    expect(expired.outputs[0]).toMatchObject({ status: "expired", output_url: null });
    expect(await objectsOf(job.id)).toEqual([]);
    // A URL minted before expiry now finds nothing.
    expect((await exports.default.fetch(new Request(job.outputUrl))).status).toBe(404);
    const indexed = await env.DB.prepare("SELECT outputs_expired_at FROM jobs WHERE id = ?").bind(job.id).first<{ outputs_expired_at: string | null }>();
    expect(indexed!.outputs_expired_at).toEqual(expect.any(String));
  });

  it("leaves a job that has not ended, whatever its age", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    await env.MEDIA.put(`jobs/${job.id}/partial.mp4`, "x");
    await cron(Date.now() + 365 * DAY);
    expect(await objectsOf(job.id)).toEqual([`jobs/${job.id}/partial.mp4`]);
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.status).not.toBe("completed");
  });

  it("does bounded work per run and carries on in the next", async () => {
    const { key } = await seedOrg();
    const uploads = [await readyUpload(key), await readyUpload(key), await readyUpload(key)];
    const job = await completedJob(key, 3);
    expect(await objectsOf(job.id)).toHaveLength(3);
    const later = Date.now() + 31 * DAY;
    const batch = { uploads: 2, jobs: 5, objects: 2 };
    const statuses = async () => Promise.all(uploads.map(async (u) => (await call(`/v1/uploads/${u.id}`, { key })).json.status));

    const first = await runRetention(env, later, batch);
    expect(first).toMatchObject({ uploads: 2, jobs: 0, objects: 2 });
    expect((await statuses()).filter((s) => s === "expired")).toHaveLength(2);
    expect(await objectsOf(job.id)).toHaveLength(1);
    // Marked expired at once, so no URL is signed for files that are going away.
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.outputs[0].status).toBe("expired");

    const second = await runRetention(env, later, batch);
    expect(second).toMatchObject({ uploads: 1, jobs: 1, objects: 1 });
    expect(await statuses()).toEqual(["expired", "expired", "expired"]);
    expect(await objectsOf(job.id)).toEqual([]);

    expect(await runRetention(env, later, batch)).toMatchObject({ uploads: 0, jobs: 0, objects: 0 });
  });

  it("keeps everything when RETENTION_DAYS is 0, and refuses a value that is not a number of days", async () => {
    const { key } = await seedOrg();
    const upload = await readyUpload(key);
    const job = await completedJob(key);
    const far = Date.now() + 10 * 365 * DAY;
    expect(await runRetention({ ...env, RETENTION_DAYS: "0" }, far)).toMatchObject({ cutoff: null, uploads: 0, jobs: 0 });
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.status).toBe("ready");
    expect(await objectsOf(job.id)).toHaveLength(1);
    for (const bad of ["-1", "thirty"]) await expect(runRetention({ ...env, RETENTION_DAYS: bad }, far)).rejects.toThrow(/RETENTION_DAYS/);
  });

  it("treats RETENTION_DAYS as days: 2 keeps a 1-day-old upload and expires a 3-day-old one", async () => {
    const { key } = await seedOrg();
    const upload = await readyUpload(key);
    const days2 = { ...env, RETENTION_DAYS: "2" };
    await runRetention(days2, Date.now() + 1 * DAY);
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.status).toBe("ready");
    await runRetention(days2, Date.now() + 3 * DAY);
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.status).toBe("expired");
  });
});
