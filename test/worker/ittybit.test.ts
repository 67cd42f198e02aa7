import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { ittybitErrors } from "../../worker/dialects/ittybit/errors";
import { ittybitJob } from "../../worker/dialects/ittybit/job";
import type { JobDO } from "../../worker/jobs/job-do";
import type { AppEnv } from "../../worker/env";
import { ApiError } from "../../worker/errors";
import { requestId } from "../../worker/middleware/request-id";
import { call, encoderFor, jobDO, orderNumber, outputFacts, seedOrg } from "./helpers";
import { expectWaitingTasks, jobKeys } from "../shared/ittybit-seed";

/*
 * Ittybit's jobs API at the root of the origin (worker/dialects/ittybit/): the seed's
 * request and response shapes, errors, statuses driven through the real JobDO, lists.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  tasks: { task_id: string; output_id: string; spec: Record<string, unknown> }[];
}

const seedExample = {
  input: "https://example.com/upload.mov",
  kind: "video",
  options: { width: 1280, height: 720, format: "mp4", quality: "high" },
};

const probed = { duration_ms: 3000, width: 640, height: 360, codec: "h264", bitrate_kbps: 900, framerate: 30, file_size_bytes: 400000, has_audio: true, audio_codec: "aac", rotation: 0 };

const create = (key: string | null, body: unknown, headers: Record<string, string> = {}) => call("/jobs", { key, body, headers });
const getJob = (key: string, id: string) => call(`/jobs/${id}`, { key });

describe("Ittybit errors are bare {kind, message}", () => {
  it("answers 401 token_missing and token_invalid", async () => {
    const missing = await create(null, seedExample);
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ kind: "token_missing", message: "Authorization header with a Bearer API key is required" });
    const invalid = await create("sk_test_not_a_key", seedExample);
    expect(invalid.status).toBe(401);
    expect(invalid.json).toEqual({ kind: "token_invalid", message: "API key is invalid or revoked" });
    const notBearer = await call("/jobs", { headers: { authorization: "Basic abc" } });
    expect(notBearer.json).toEqual({ kind: "token_invalid", message: "Authorization header must be `Bearer <api key>`" });
  });

  it("answers the seed's four 400s", async () => {
    const { key } = await seedOrg();
    const { input: _input, ...noInput } = seedExample;
    expect(await create(key, noInput)).toMatchObject({ status: 400, json: { kind: "input_required", message: "input is required" } });
    expect((await create(key, { ...seedExample, input: "" })).json).toEqual({ kind: "input_required", message: "input is required" });
    for (const input of ["ftp://example.com/a.mov", "gs://bucket/a.mov", "/local/a.mov"]) {
      const bad = await create(key, { ...seedExample, input });
      expect(bad.status).toBe(400);
      expect(bad.json).toEqual({ kind: "invalid_input", message: "input must use http://, https://, or s3:// scheme" });
    }
    const format = await create(key, { ...seedExample, options: { format: "mkv" } });
    expect(format.status).toBe(400);
    expect(format.json).toEqual({ kind: "invalid_format", message: 'options.format: Invalid option: expected one of "mp4"|"webm"|"mov"' });
    expect((await create(key, { ...seedExample, kind: "audio", options: { format: "mp4" } })).json.kind).toBe("invalid_format");
    const codec = await create(key, { ...seedExample, options: { format: "webm", codec: "h264" } });
    expect(codec.status).toBe(400);
    expect(codec.json).toEqual({ kind: "invalid_codec", message: "options.codec: h264 cannot be stored in webm; webm takes vp9, av1" });
  });

  it("answers every other validation failure 400 request_invalid, naming the field", async () => {
    const { key } = await seedOrg();
    const cases: [unknown, string][] = [
      [{ ...seedExample, options: { width: "150%" } }, "options.width"],
      [{ ...seedExample, options: { bitrate: 200_000 } }, "options.bitrate"],
      [{ ...seedExample, options: { fps: 61 } }, "options.fps"],
      [{ ...seedExample, options: { fit: "cover", background: "#000000" } }, "options.background"],
      [{ ...seedExample, options: { start: 5, end: 2 } }, "options.end"],
      [{ ...seedExample, options: { colour: "red" } }, "options"],
      [{ ...seedExample, kind: "animation", options: { format: "gif" } }, "options.end"],
      [{ ...seedExample, kind: "audio", options: { bitrate: 400_000 } }, "options.bitrate"],
      [{ ...seedExample, kind: "gif" }, "kind"],
      [{ input: seedExample.input }, "kind"],
      [{ ...seedExample, tags: ["a"] }, "tags"],
      [{ ...seedExample, metadata: { nested: { a: 1 } } }, "metadata.nested"],
      [{ ...seedExample, webhook_url: "ftp://hooks.example.com" }, "webhook_url"],
      [{ ...seedExample, output: "https://example.com/out.mp4" }, "output"],
      [[seedExample], "body"],
    ];
    for (const [body, field] of cases) {
      const res = await create(key, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(res.json)).toEqual(["kind", "message"]);
      expect(res.json.kind, JSON.stringify(body)).toBe("request_invalid");
      expect(res.json.message.startsWith(field), `${res.json.message} names ${field}`).toBe(true);
    }
    const json = await call("/jobs", { key, rawBody: "{not json" });
    expect(json).toMatchObject({ status: 400, json: { kind: "request_invalid", message: "body: not valid JSON" } });
    const list = await call("/jobs?limit=101", { key });
    expect(list.status).toBe(400);
    expect(list.json.kind).toBe("request_invalid");
    expect(list.json.message).toMatch(/^limit: /);
  });

  it("answers 404 job_not_found for unknown and malformed ids, and Ittybit's shape for unknown paths", async () => {
    const { key } = await seedOrg();
    expect(await getJob(key, "job_aaaaaaaaaaaaaaaaaaaa")).toMatchObject({ status: 404, json: { kind: "job_not_found", message: "No job job_aaaaaaaaaaaaaaaaaaaa" } });
    expect((await getJob(key, "not-a-job")).json).toEqual({ kind: "job_not_found", message: "No job not-a-job" });
    expect((await call("/jobs/job_aaaaaaaaaaaaaaaaaaaa/cancel", { key, method: "POST" })).json.kind).toBe("job_not_found");
    expect(await call("/jobs/job_a/tasks", { key })).toMatchObject({ status: 404, json: { kind: "not_found", message: "No route GET /jobs/job_a/tasks" } });
    expect(await call("/jobs/job_a", { key, method: "DELETE" })).toMatchObject({ status: 405, json: { kind: "method_not_allowed" } });
    // Without a key an unknown path under /jobs is a 401 in Ittybit's shape; outside /jobs the native answer stands.
    expect((await call("/jobs/job_a/tasks")).json).toEqual({ kind: "token_missing", message: expect.any(String) });
    expect((await call("/nowhere")).json.error.code).toBe("not_found");
  });

  it("answers a 429 with Retry-After", async () => {
    const app = new Hono<AppEnv>().use(requestId).get("/jobs", () => {
      throw new ApiError(429, "rate_limited", "Too many requests");
    });
    app.onError(ittybitErrors);
    const res = await app.request("/jobs", {}, env);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toEqual({ kind: "rate_limited", message: "Too many requests" });
  });

  it("answers a bucket without a connection 422 origin_not_found", async () => {
    const { key } = await seedOrg();
    const res = await create(key, { input: seedExample.input, kind: "video", output: "s3://my-bucket/processed/video.mp4" });
    expect(res.status).toBe(422);
    expect(res.json).toEqual({ kind: "origin_not_found", message: expect.stringContaining("my-bucket") });
  });
});

describe("POST /jobs", () => {
  it("answers 201 with the seed's job object, field by field", async () => {
    const { key } = await seedOrg();
    const before = Date.now();
    const res = await create(key, seedExample);
    expect(res.status).toBe(201);
    const job = res.json;
    expect(Object.keys(job)).toEqual(jobKeys);
    expect(job).toMatchObject({
      object: "job",
      kind: "video",
      input: "https://example.com/upload.mov",
      output: null,
      // Echoed as sent: no format or codec defaults added.
      options: { width: 1280, height: 720, format: "mp4", quality: "high" },
      metadata: {},
      status: "queued",
      error: null,
      started_at: null,
      finished_at: null,
    });
    expect(Object.keys(job.options)).toEqual(["width", "height", "format", "quality"]);
    expect(job.id).toMatch(/^job_[a-z0-9]+$/);
    expect(Number.isInteger(job.created_at)).toBe(true);
    expect(job.created_at).toBeGreaterThanOrEqual(before - 1000);
    expect(job.created_at).toBeLessThanOrEqual(Date.now());
    expect(job.updated_at).toBe(job.created_at);

    expectWaitingTasks(job);
    expect(new Set(job.tasks.map((t: { id: string }) => t.id)).size).toBe(4);

    // The same job in /v1: the native shape, its options with their defaults, made by the Ittybit dialect.
    const native = await call(`/v1/jobs/${job.id}`, { key });
    expect(native.status).toBe(200);
    expect(native.json).toMatchObject({
      id: job.id,
      status: "pending",
      kind: "video",
      options: { width: 1280, height: 720, format: "mp4", codec: "h264", quality: "high" },
      requested_options: seedExample.options,
      dialect: "ittybit",
      created_at: new Date(job.created_at).toISOString(),
    });
    expect(native.json.tasks.map((t: { id: string }) => t.id)).toEqual(job.tasks.map((t: { id: string }) => t.id));
  });

  it("takes width in pixels or as a percentage, metadata, a webhook_url, and no options at all", async () => {
    const { key } = await seedOrg();
    const percent = await create(key, { ...seedExample, options: { width: "50%", fit: "contain", background: "#000000" }, metadata: { customer: "c_1", draft: true }, webhook_url: "https://hooks.example.com/ittybit" });
    expect(percent.status).toBe(201);
    expect(percent.json).toMatchObject({ options: { width: "50%", fit: "contain", background: "#000000" }, metadata: { customer: "c_1", draft: true } });
    expect((await call(`/v1/jobs/${percent.json.id}`, { key })).json).toMatchObject({ webhook_url: "https://hooks.example.com/ittybit", options: { width: "50%", format: "mp4", codec: "h264" } });
    const bare = await create(key, { input: "https://example.com/interview.mp4", kind: "audio", options: null, metadata: null });
    expect(bare.status).toBe(201);
    expect(bare.json).toMatchObject({ kind: "audio", options: {}, metadata: {} });
    expect(bare.json.tasks.map((t: { kind: string }) => t.kind)).toEqual(["probe", "import", "audio", "export"]);
  });

  it("replays an Idempotency-Key with the same body as 200 and the first job", async () => {
    const { key } = await seedOrg();
    const headers = { "idempotency-key": `itty-${crypto.randomUUID()}` };
    const first = await create(key, seedExample, headers);
    expect(first.status).toBe(201);
    const again = await create(key, seedExample, headers);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    const other = await create(key, { ...seedExample, options: { width: 640 } }, headers);
    expect(other.status).toBe(409);
    expect(other.json).toEqual({ kind: "idempotency_conflict", message: "This idempotency key was used with a different request body" });
  });
});

describe("statuses through the real JobDO", () => {
  it("follows a job to succeeded: Ittybit statuses, input facts on the probe, a signed file on the encode and the job", async () => {
    const { key } = await seedOrg();
    const job = (await create(key, { ...seedExample, options: { width: 640, format: "mp4" } })).json;
    const order = await orderNumber<Order>(job.id, 1);
    const send = encoderFor(order);
    const encodeTask = order.tasks[0]!.task_id;
    const view = async () => (await getJob(key, job.id)).json;
    const statuses = async () => {
      const v = await view();
      return [v.status, ...v.tasks.map((t: { status: string }) => t.status)];
    };

    expect(await statuses()).toEqual(["queued", "waiting", "waiting", "waiting", "waiting"]);
    await send({ type: "task_started", stage: "import", task_id: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    let v = await view();
    expect([v.status, ...v.tasks.map((t: { status: string }) => t.status)]).toEqual(["processing", "processing", "processing", "waiting", "waiting"]);
    expect(Number.isInteger(v.started_at)).toBe(true);
    expect(v.tasks[0].input).toEqual({ object: "external_file", url: "https://example.com/upload.mov" });
    await send({ type: "metadata", input_metadata: probed });
    await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
    await send({ type: "task_completed", stage: "import", task_id: null, output: null });
    await send({ type: "task_started", stage: "encode", task_id: encodeTask });
    await send({ type: "progress", stage: "encode", task_id: encodeTask, task_progress: 40, job_progress: 50 });
    v = await view();
    const inputFile = { object: "file", kind: "video", url: "https://example.com/upload.mov", format: "mov", width: 640, height: 360, duration: 3 };
    expect(v.tasks[0]).toMatchObject({ status: "succeeded", output: inputFile, progress: null });
    expect(Number.isInteger(v.tasks[0].finished_at)).toBe(true);
    expect(v.tasks[2]).toMatchObject({ kind: "video", status: "processing", progress: 40, input: inputFile, output: null, options: {} });
    await send({ type: "task_started", stage: "export", task_id: null });
    await send({ type: "task_completed", stage: "encode", task_id: encodeTask, output: outputFacts(order.tasks[0]!.output_id) });
    await send({ type: "task_completed", stage: "export", task_id: null, output: null });
    await send({ type: "job_completed" });

    v = await view();
    expect(v.status).toBe("succeeded");
    expect(v.tasks.map((t: { status: string }) => t.status)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    expect(Number.isInteger(v.finished_at)).toBe(true);
    const file = v.tasks[2].output;
    expect(file).toEqual({ object: "file", kind: "video", url: expect.any(String), format: "mp4", width: 640, height: 360, duration: 3 });
    const url = new URL(file.url);
    expect(url.origin).toBe(env.PUBLIC_URL);
    expect(url.pathname).toBe(`/storage/jobs/${job.id}/${order.tasks[0]!.output_id}.mp4`);
    expect(url.searchParams.get("sig")).toBeTruthy();
    expect(v.tasks[3]).toMatchObject({ kind: "export", output: { ...file, url: expect.any(String) } });
    // The job's output is the result's signed URL.
    expect(new URL(v.output).pathname).toBe(url.pathname);
    expect(new URL(v.output).searchParams.get("sig")).toBeTruthy();
    expect(v.tasks[1].output).toEqual(inputFile);
  });

  it("shows a failed probe as failed, with the encoder's code as the error kind", async () => {
    const { key } = await seedOrg();
    const job = (await create(key, seedExample)).json;
    const send = encoderFor(await orderNumber<Order>(job.id, 1));
    await send({ type: "task_started", stage: "import", task_id: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    await send({ type: "task_failed", stage: "probe", task_id: null, error: { code: "input_unreadable", message: "not media" } });
    const v = (await getJob(key, job.id)).json;
    expect(v).toMatchObject({ status: "failed", error: { kind: "input_unreadable", message: "not media" }, output: null });
    expect(v.tasks[0]).toMatchObject({ kind: "probe", status: "failed", error: { kind: "input_unreadable", message: "not media" }, output: null });
    expect(Number.isInteger(v.finished_at)).toBe(true);
  });

  it("cancels with POST /jobs/{id}/cancel: cancelled, two Ls", async () => {
    const { key } = await seedOrg();
    const job = (await create(key, seedExample)).json;
    const cancelled = await call(`/jobs/${job.id}/cancel`, { key, method: "POST" });
    expect(cancelled.status).toBe(200);
    expect(Object.keys(cancelled.json)).toEqual(jobKeys);
    expect(cancelled.json.status).toBe("cancelled");
    expect(cancelled.json.tasks.map((t: { status: string }) => t.status)).toEqual(["cancelled", "cancelled", "cancelled", "cancelled"]);
    expect((await getJob(key, job.id)).json.status).toBe("cancelled");
    const twice = await call(`/jobs/${job.id}/cancel`, { key, method: "POST" });
    expect(twice).toMatchObject({ status: 409, json: { kind: "invalid_state", message: "Cannot cancel a job that is canceled" } });
  });
});

describe("one job, two front-ends, one tenant", () => {
  it("shows a /v1 job through GET /jobs/{id} in Ittybit's shape, options as /v1 was sent them", async () => {
    const { key } = await seedOrg();
    const native = (await call("/v1/jobs", { key, body: { input: "https://example.com/a.mp4", kind: "image", options: { start: 1, format: "webp" }, tags: ["x"] } })).json;
    const v = (await getJob(key, native.id)).json;
    expect(Object.keys(v)).toEqual(jobKeys);
    expect(v).toMatchObject({ id: native.id, object: "job", kind: "image", options: { start: 1, format: "webp" }, status: "queued", created_at: Date.parse(native.created_at) });
    expect(v.tasks.map((t: { kind: string }) => t.kind)).toEqual(["probe", "import", "image", "export"]);

    // A /v1 outputs job has no kind; its encode tasks keep their own options.
    const outputs = (await call("/v1/jobs", { key, body: { input: "https://example.com/a.mp4", outputs: [{ type: "mp4", video: [{ codec: "h264", resolution: "480p" }] }] } })).json;
    const o = (await getJob(key, outputs.id)).json;
    expect(o).toMatchObject({ kind: null, options: {}, status: "queued" });
    expect(o.tasks.map((t: { kind: string }) => t.kind)).toEqual(["probe", "import", "encode", "export"]);
    expect(o.tasks[2].options).toMatchObject({ type: "mp4" });
  });

  it("falls back to the stored options for a job stored before the options as requested were kept", async () => {
    const { orgId, key } = await seedOrg();
    const job = (await create(key, { ...seedExample, options: { width: 640 } })).json;
    const view = await runInDurableObject(jobDO(job.id), async (instance, state) => {
      const stored = JSON.parse(state.storage.sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = 'job'").one().body);
      delete stored.spec.requested_options;
      state.storage.sql.exec("UPDATE doc SET body = ? WHERE name = 'job'", JSON.stringify(stored));
      // A fresh instance over the same storage, as a restarted object loads it.
      const reloaded = new (instance.constructor as new (ctx: DurableObjectState, e: typeof env) => JobDO)(state, env);
      return reloaded.get(orgId);
    });
    expect(view!.requested_options).toEqual({ width: 640, format: "mp4", codec: "h264" });
    expect(ittybitJob(view!)).toMatchObject({ id: job.id, options: { width: 640, format: "mp4", codec: "h264" }, status: "queued" });
  });

  it("hides another organization's job: 404 job_not_found to Get and Cancel, absent from List", async () => {
    const a = await seedOrg();
    const b = await seedOrg();
    const job = (await create(a.key, seedExample)).json;
    expect(await getJob(b.key, job.id)).toMatchObject({ status: 404, json: { kind: "job_not_found", message: `No job ${job.id}` } });
    expect(await call(`/jobs/${job.id}/cancel`, { key: b.key, method: "POST" })).toMatchObject({ status: 404, json: { kind: "job_not_found" } });
    expect((await getJob(a.key, job.id)).json.status).toBe("queued");
    const listed = await call("/jobs", { key: b.key });
    expect(listed.json).toEqual([]);
    expect(listed.headers.get("has-more")).toBe("false");
  });
});

describe("GET /jobs", () => {
  it("pages newest first with Link, Has-More and Limit, in either order, after or before a job, and filters", async () => {
    const { key } = await seedOrg();
    const made: { id: string; created_at: number }[] = [];
    const bodies = [
      { input: "https://example.com/one.mp4", kind: "video" },
      { input: "https://example.com/two.mp4", kind: "audio" },
      { input: "https://example.com/one.mp4", kind: "image" },
      { input: "https://example.com/three.mp4", kind: "video" },
      { input: "https://example.com/one.mp4", kind: "audio" },
    ];
    for (const body of bodies) {
      made.push((await create(key, body)).json);
      // Distinct creation times, so newest-first is the order they were made in, reversed.
      await new Promise((r) => setTimeout(r, 5));
    }
    const newest = made.map((j) => j.id).reverse();
    const ids = (res: { json: { id: string }[] }) => res.json.map((j) => j.id);

    const all = await call("/jobs", { key });
    expect(all.status).toBe(200);
    expect(Array.isArray(all.json)).toBe(true);
    expect(ids(all)).toEqual(newest);
    expect(all.headers.get("limit")).toBe("20");
    expect(all.headers.get("has-more")).toBe("false");
    expect(all.headers.get("link")).toBeNull();
    // Each entry is the whole job object.
    expect(Object.keys(all.json[0])).toEqual(jobKeys);
    expect(all.json[0].tasks).toHaveLength(4);

    const first = await call("/jobs?limit=2", { key });
    expect(ids(first)).toEqual(newest.slice(0, 2));
    expect(first.headers.get("limit")).toBe("2");
    expect(first.headers.get("has-more")).toBe("true");
    const link = /^<(.+)>; rel="next"$/.exec(first.headers.get("link")!);
    expect(link).not.toBeNull();
    const next = new URL(link![1]!);
    expect(next.pathname).toBe("/jobs");
    expect(Object.fromEntries(next.searchParams)).toEqual({ limit: "2", after: newest[1] });
    const second = await call(`${next.pathname}${next.search}`, { key });
    expect(ids(second)).toEqual(newest.slice(2, 4));
    const third = await call(`/jobs?limit=2&after=${newest[3]}`, { key });
    expect(ids(third)).toEqual(newest.slice(4));
    expect(third.headers.get("has-more")).toBe("false");
    expect(third.headers.get("link")).toBeNull();

    const oldest = await call("/jobs?order=asc&limit=3", { key });
    expect(ids(oldest)).toEqual([...newest].reverse().slice(0, 3));
    expect(new URL(/^<(.+)>/.exec(oldest.headers.get("link")!)![1]!).searchParams.get("order")).toBe("asc");

    // The page just before a job, still newest first; its link walks further back.
    const before = await call(`/jobs?limit=2&before=${newest[4]}`, { key });
    expect(ids(before)).toEqual(newest.slice(2, 4));
    expect(before.headers.get("has-more")).toBe("true");
    const prev = /^<(.+)>; rel="prev"$/.exec(before.headers.get("link")!);
    expect(new URL(prev![1]!).searchParams.get("before")).toBe(newest[2]);
    expect(ids(await call(`/jobs?limit=2&before=${newest[2]}`, { key }))).toEqual(newest.slice(0, 2));

    expect(ids(await call("/jobs?kind=audio", { key }))).toEqual([made[4]!.id, made[1]!.id]);
    expect(ids(await call(`/jobs?input=${encodeURIComponent("https://example.com/one.mp4")}`, { key }))).toEqual([made[4]!.id, made[2]!.id, made[0]!.id]);
    expect(ids(await call(`/jobs?input=${encodeURIComponent("https://example.com/one")}`, { key }))).toEqual([]);

    await call(`/jobs/${made[2]!.id}/cancel`, { key, method: "POST" });
    await vi.waitFor(async () => expect(ids(await call("/jobs?status=cancelled", { key }))).toEqual([made[2]!.id]), { timeout: 5000, interval: 50 });
    expect(ids(await call("/jobs?status=queued&kind=video", { key }))).toEqual([made[3]!.id, made[0]!.id]);
    expect(await call("/jobs?status=canceled", { key })).toMatchObject({ status: 400, json: { kind: "request_invalid" } });
    expect(await call(`/jobs?after=${newest[0]}&before=${newest[1]}`, { key })).toMatchObject({ status: 400, json: { kind: "request_invalid", message: "before: give after or before, not both" } });
  });
});
