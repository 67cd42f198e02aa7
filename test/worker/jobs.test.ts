import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, seedOrg, videoJob } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("creating jobs plans their tasks", () => {
  it.each([
    ["video", {}, "mp4"],
    ["audio", { format: "opus" }, "opus"],
    ["image", { format: "webp", start: 1 }, "webp"],
    ["animation", { end: 2 }, "gif"],
    ["adaptive_video", {}, "hls"],
  ])("kind %s → probe, import, %s, export with one output", async (kind, options, type) => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body: { input: "https://media.example.com/a.mov", kind, options } });
    expect(res.status).toBe(201);
    const job = res.json;
    expect(job.tasks.map((t: { kind: string }) => t.kind)).toEqual(["probe", "import", kind, "export"]);
    expect(job.outputs).toHaveLength(1);
    expect(job.outputs[0]).toMatchObject({ type, status: "pending", output_url: null, file_size_bytes: null });
    expect(job.outputs[0].id).toMatch(/^out_[a-z0-9]{20}$/);
    expect(job.tasks[2].output_id).toBe(job.outputs[0].id);
    for (const task of job.tasks) {
      expect(task.id).toMatch(/^task_[a-z0-9]{20}$/);
      expect(task).toMatchObject({ status: "waiting", progress: 0, error: null, started_at: null, finished_at: null });
      expect(task.created_at).toMatch(iso);
    }
  });

  it("returns the whole job object", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", {
      key,
      body: videoJob({ tags: ["Launch", "launch", "promo"], metadata: { user: "u1", n: 3 }, priority: "premium", bundle: "spring", region: "auto", webhook_url: "https://hooks.example.com/k" }),
    });
    expect(res.status).toBe(201);
    const job = res.json;
    expect(job).toMatchObject({
      object: "job",
      status: "pending",
      progress: 0,
      current_stage: null,
      priority: "premium",
      kind: "video",
      options: { format: "mp4", codec: "h264", quality: "high", width: 640 },
      input: "https://media.example.com/in.mp4",
      tags: ["Launch", "promo"],
      metadata: { user: "u1", n: 3 },
      bundle: "spring",
      region: "auto",
      webhook_url: "https://hooks.example.com/k",
      delayed_start: false,
      input_metadata: null,
      error: null,
      started_at: null,
      completed_at: null,
    });
    expect(job.created_at).toMatch(iso);
    expect(job.updated_at).toMatch(iso);
    const fetched = await call(`/v1/jobs/${job.id}`, { key });
    expect(fetched.status).toBe(200);
    expect(fetched.json).toEqual(job);
  });

  it("plans one encode task per output, plus thumbnails", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", {
      key,
      body: {
        input: "https://media.example.com/uploads/video.mp4",
        outputs: [
          { type: "mp4", video: [{ codec: "h264", resolution: "1080p", quality: "standard" }] },
          { type: "hls", video: [{ codec: "h264", resolution: "720p" }, { codec: "h264", resolution: "480p" }], audio: [{ codec: "aac" }] },
          { preset: "web_720p_standard" },
        ],
        thumbnails: [{ format: "webp", count: 3 }],
      },
    });
    expect(res.status).toBe(201);
    const job = res.json;
    expect(job.kind).toBeNull();
    expect(job.tasks.map((t: { kind: string }) => t.kind)).toEqual(["probe", "import", "encode", "encode", "encode", "thumbnail", "export"]);
    expect(job.outputs.map((o: { type: string }) => o.type)).toEqual(["mp4", "hls", "mp4", "thumbnail"]);
    expect(job.outputs[1].spec.video).toHaveLength(2);
    expect(job.outputs[2].spec).toMatchObject({ preset: "web_720p_standard", type: "mp4", video: [{ codec: "h264", resolution: "720p" }] });
    expect(job.tasks.slice(2, 6).map((t: { output_id: string }) => t.output_id)).toEqual(job.outputs.map((o: { id: string }) => o.id));
  });

  it("lets an output override its preset's fields", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", {
      key,
      body: { input: "https://x.example.com/a.mp4", outputs: [{ preset: "web_1080p_standard", video: [{ codec: "h265", resolution: "1080p" }] }] },
    });
    expect(res.status).toBe(201);
    expect(res.json.outputs[0].spec).toMatchObject({ type: "mp4", video: [{ codec: "h265" }] });
  });

  it("takes a tool pipeline as written and derives outputs from storage:put", async () => {
    const { key } = await seedOrg();
    // Its locations are resolved at creation, so the secret they name must exist.
    const secret = await call("/v1/secrets", { key, body: { name: "acme-keys", credentials: S3_TEST_CREDENTIALS, endpoint: env.TEST_ONLY_ALLOWED_S3_ENDPOINT } });
    expect(secret.status, secret.text).toBe(201);
    const tasks = [
      { tool: "storage:get", parameters: { location: "s3://{acme-keys}@acme-bucket/in/", files: ["source.mov"] } },
      { tool: "ffmpeg:cmd", parameters: { arguments: ["-y", "-i", "source.mov", "-c:v", "libx264", "-b:v", "1500k", "source_720p.mp4"] }, version: "1.0" },
      { tool: "storage:put", parameters: { location: "s3://{acme-keys}@acme-bucket/out/{job_id}/", files: ["source_720p.mp4"] } },
    ];
    const res = await call("/v1/jobs", { key, body: { tasks, tags: ["2026-Encodings"], region: "aws:eu-west-1", priority: 3 } });
    expect(res.status).toBe(201);
    const job = res.json;
    expect(job.input).toBeNull();
    expect(job.priority).toBe("premium");
    expect(job.tasks.map((t: { tool: string }) => t.tool)).toEqual(["storage:get", "ffmpeg:cmd", "storage:put"]);
    // The parameters as the tool took them: its defaults filled in.
    expect(job.tasks[1]).toMatchObject({ kind: "ffmpeg:cmd", version: "1.0", options: { ...tasks[1]!.parameters, outputdir: "out", ignore_decoding_errors: false } });
    expect(job.outputs).toHaveLength(1);
    expect(job.outputs[0]).toMatchObject({ type: "mp4", spec: { file: "source_720p.mp4" } });
  });

  it("indexes the job in D1 for lists", async () => {
    const { orgId, key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob({ tags: ["Alpha"] }) })).json;
    const row = await env.DB.prepare("SELECT * FROM jobs WHERE id = ?").bind(job.id).first();
    expect(row).toMatchObject({ org_id: orgId, status: "pending", kind: "video", mode: "kind", priority: "standard" });
    const tags = await env.DB.prepare("SELECT tag FROM job_tags WHERE job_id = ?").bind(job.id).all();
    expect(tags.results).toEqual([{ tag: "alpha" }]);
  });
});

describe("GET /v1/jobs/:id", () => {
  it.each(["job_doesnotexist0000000", "job_abc", "not-a-job", "job_ABCDEFGHJKMNPQRSTVWX"])("answers %s with 404 not_found", async (id) => {
    const { key } = await seedOrg();
    const res = await call(`/v1/jobs/${id}`, { key });
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("not_found");
  });
});

describe("GET /v1/jobs", () => {
  async function seedJobs() {
    const { key } = await seedOrg();
    const make = async (extra: Record<string, unknown>) => (await call("/v1/jobs", { key, body: videoJob(extra) })).json.id as string;
    const a = await make({ tags: ["Red", "big"], bundle: "b1" });
    const b = await make({ tags: ["red"] });
    const c = await make({ tags: ["blue", "BIG"], bundle: "b1" });
    const d = await make({});
    await call(`/v1/jobs/${d}/cancel`, { key, method: "POST" });
    return { key, a, b, c, d };
  }
  const ids = (res: { json: { data: { id: string }[] } }) => res.json.data.map((j) => j.id);

  it("lists newest first with total_count", async () => {
    const { key, a, b, c, d } = await seedJobs();
    const res = await call("/v1/jobs", { key });
    expect(res.status).toBe(200);
    expect(res.json.object).toBe("list");
    expect(ids(res)).toEqual([d, c, b, a]);
    expect(res.json.total_count).toBe(4);
    expect(res.json.next_cursor).toBeNull();
    expect(res.json.data[0]).toMatchObject({ object: "job", status: "canceled", mode: "kind", kind: "video" });
  });

  it("filters by several statuses", async () => {
    const { key, a, b, c, d } = await seedJobs();
    expect(ids(await call("/v1/jobs?status=canceled", { key }))).toEqual([d]);
    expect(ids(await call("/v1/jobs?status=pending,canceled", { key }))).toEqual([d, c, b, a]);
    expect(ids(await call("/v1/jobs?status=completed", { key }))).toEqual([]);
  });

  it("filters by tags, all of which must match, case-insensitively", async () => {
    const { key, a, b, c } = await seedJobs();
    expect(ids(await call("/v1/jobs?tag=RED", { key }))).toEqual([b, a]);
    expect(ids(await call("/v1/jobs?tag=red,big", { key }))).toEqual([a]);
    expect(ids(await call("/v1/jobs?tag=big", { key }))).toEqual([c, a]);
    expect((await call("/v1/jobs?tag=red,blue", { key })).json.total_count).toBe(0);
  });

  it("searches by id or tag", async () => {
    const { key, a, c } = await seedJobs();
    expect(ids(await call(`/v1/jobs?search=${a}`, { key }))).toEqual([a]);
    expect(ids(await call("/v1/jobs?search=blu", { key }))).toEqual([c]);
    expect(ids(await call("/v1/jobs?search=100%25", { key }))).toEqual([]);
  });

  it("filters by bundle", async () => {
    const { key, a, c } = await seedJobs();
    expect(ids(await call("/v1/jobs?bundle=b1", { key }))).toEqual([c, a]);
    expect(ids(await call("/v1/jobs?bundle=none", { key }))).toEqual([]);
  });

  it("pages with a stable cursor, never skipping or repeating", async () => {
    const { key } = await seedOrg();
    const created = await Promise.all(Array.from({ length: 7 }, () => call("/v1/jobs", { key, body: videoJob({ tags: ["page"] }) })));
    const all = new Set(created.map((r) => r.json.id as string));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Awaited<ReturnType<typeof call>> = await call(`/v1/jobs?limit=3&tag=page${cursor ? `&cursor=${cursor}` : ""}`, { key });
      expect(res.status).toBe(200);
      expect(res.json.total_count).toBe(7);
      seen.push(...ids(res));
      cursor = res.json.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(all);
    const full = ids(await call("/v1/jobs?limit=100&tag=page", { key }));
    expect(seen).toEqual(full);
  });
});

describe("job actions", () => {
  it("cancel stops waiting tasks and pending outputs and sets completed_at", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const res = await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    expect(res.status).toBe(200);
    expect(res.json.status).toBe("canceled");
    expect(res.json.completed_at).toMatch(iso);
    expect(res.json.tasks.every((t: { status: string }) => t.status === "canceled")).toBe(true);
    expect(res.json.outputs.every((o: { status: string }) => o.status === "canceled")).toBe(true);
  });

  it("restart keeps the id, resets the tasks and starts a new attempt", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    const res = await call(`/v1/jobs/${job.id}/restart`, { key, method: "POST" });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: job.id, status: "pending", progress: 0, attempt: 2, completed_at: null, error: null });
    expect(res.json.tasks.map((t: { id: string }) => t.id)).toEqual(job.tasks.map((t: { id: string }) => t.id));
    expect(res.json.tasks.every((t: { status: string }) => t.status === "waiting")).toBe(true);
    expect(res.json.outputs.every((o: { status: string }) => o.status === "pending")).toBe(true);
    const row = await env.DB.prepare("SELECT status FROM jobs WHERE id = ?").bind(job.id).first();
    expect(row).toEqual({ status: "pending" });
  });

  it("resubmit creates a new job from the same spec and leaves the original alone", async () => {
    const { key } = await seedOrg();
    const original = (await call("/v1/jobs", { key, body: videoJob({ tags: ["t"], idempotency_key: "resub-1" }) })).json;
    await call(`/v1/jobs/${original.id}/cancel`, { key, method: "POST" });
    const res = await call(`/v1/jobs/${original.id}/resubmit`, { key, method: "POST" });
    expect(res.status).toBe(201);
    expect(res.json.id).not.toBe(original.id);
    expect(res.json).toMatchObject({ status: "pending", resubmitted_from: original.id, idempotency_key: null, tags: ["t"], options: original.options });
    const after = (await call(`/v1/jobs/${original.id}`, { key })).json;
    expect(after.status).toBe("canceled");
    expect(after.attempt).toBe(1);
  });
});

describe("idempotency", () => {
  it("returns the first job for a repeated key (200, same id)", async () => {
    const { key } = await seedOrg();
    const first = await call("/v1/jobs", { key, body: videoJob({ idempotency_key: "k-1" }) });
    const again = await call("/v1/jobs", { key, body: videoJob({ idempotency_key: "k-1" }) });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);
    expect(again.json.idempotency_key).toBe("k-1");
  });

  it("accepts the key as the Idempotency-Key header and ignores JSON key order", async () => {
    const { key } = await seedOrg();
    const body = { kind: "audio", input: "https://m.example.com/x.mp4", options: { quality: "high", format: "mp3" } };
    const reordered = { options: { format: "mp3", quality: "high" }, input: "https://m.example.com/x.mp4", kind: "audio" };
    const first = await call("/v1/jobs", { key, body, headers: { "idempotency-key": "hdr-1" } });
    const second = await call("/v1/jobs", { key, body: { ...reordered, idempotency_key: "hdr-1" } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.json.id).toBe(first.json.id);
  });

  it("refuses the same key with a different body (409 idempotency_conflict)", async () => {
    const { key } = await seedOrg();
    await call("/v1/jobs", { key, body: videoJob({ idempotency_key: "k-2" }) });
    const res = await call("/v1/jobs", { key, body: videoJob({ idempotency_key: "k-2", tags: ["different"] }) });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe("idempotency_conflict");
  });

  it("makes exactly one job of 50 concurrent creates with one key", { timeout: 30_000 }, async () => {
    const { orgId, key } = await seedOrg();
    const results = await Promise.all(Array.from({ length: 50 }, () => call("/v1/jobs", { key, body: videoJob({ idempotency_key: "burst" }) })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(49);
    expect(new Set(results.map((r) => r.json.id)).size).toBe(1);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE org_id = ?").bind(orgId).first();
    expect(count).toEqual({ n: 1 });
  });
});
