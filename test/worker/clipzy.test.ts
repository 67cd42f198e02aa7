import { env, exports } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { styleStages } from "../../encoder/contract";
import { styleJsonSchema } from "../../encoder/style/style-json";
import { reportedStyleJson } from "../shared/style-json";
import { media } from "./clipzy-media";
import { DOUBLE_PROBE_METADATA } from "./encoder-double";
import { call, encoderFor, orderNumber, outputFacts, seedOrg, videoJob } from "./helpers";

/*
 * Clipzy's API at /api/v1 (worker/dialects/clipzy/): the envelope and its codes, uploads
 * into Kiln's upload store, style jobs driven through the real JobDO by playing the
 * style engine's events, results, the list, and webhooks.
 */

interface StyleOrder {
  job_id: string;
  attempt: number;
  lease_token: string;
  engine: string;
  tasks: { task_id: string; stage: (typeof styleStages)[number] }[];
  render: { output_id: string; config: Record<string, unknown> } | null;
}

const jobKeys = ["job_id", "video_id", "status", "progress_percent", "current_stage", "created_at", "updated_at", "started_at", "completed_at", "template_video_id"];
const detailKeys = [...jobKeys, "style_json", "output_video_url", "error", "processing_time_seconds", "style_comparison", "output_shortened"];
const videoKeys = ["video_id", "filename", "file_size_bytes", "metadata", "uploaded_at", "storage_url"];

async function upload(key: string | null, parts: { file?: { bytes: Uint8Array; name: string }; fields?: Record<string, string> }) {
  const form = new FormData();
  if (parts.file) form.append("file", new File([parts.file.bytes], parts.file.name, { type: "application/octet-stream" }));
  for (const [name, value] of Object.entries(parts.fields ?? {})) form.append(name, value);
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const response = await exports.default.fetch(new Request("https://kiln.test/api/v1/videos/upload", { method: "POST", headers, body: form }));
  return { status: response.status, json: (await response.json()) as any };
}

/** Uploads a small MP4 and answers its data (the video and the job the upload made). */
async function uploaded(key: string, fields: Record<string, string> = {}) {
  const res = await upload(key, { file: { bytes: media.mp4(), name: "source.mp4" }, fields });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data as { video_id: string; job_id: string; storage_url: string };
}

const createJob = (key: string, body: unknown) => call("/api/v1/jobs", { key, body });
const getJob = async (key: string, id: string) => (await call(`/api/v1/jobs/${id}`, { key })).json.data;

function expectError(res: { status: number; json: any }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.json)).toBe(status);
  expect(Object.keys(res.json)).toEqual(["success", "message", "error", "timestamp"]);
  expect(res.json).toMatchObject({ success: false, message: expect.any(String), error: { code, detail: expect.any(String) } });
  expect(Object.keys(res.json.error)).toEqual(["code", "detail"]);
  expect(Date.parse(res.json.timestamp)).not.toBeNaN();
}

function expectSuccess(res: { status: number; json: any }, status: number, message: string | RegExp) {
  expect(res.status, JSON.stringify(res.json)).toBe(status);
  expect(Object.keys(res.json)).toEqual(["success", "message", "data", "error", "timestamp"]);
  expect(res.json).toMatchObject({ success: true, error: null });
  expect(res.json.message).toMatch(message);
  expect(Date.parse(res.json.timestamp)).not.toBeNaN();
}

const comparison = [
  { dimension: "saturation", source: 0, template: 31, output: 25, closed_fraction: 0.806 },
  { dimension: "aspect_ratio", source: 16 / 9, template: 9 / 16, output: 9 / 16, closed_fraction: 1 },
];

/** The style engine's side of one stage: started, halfway, then its own finishing events; the job as Get shows it after each. */
async function runStage(key: string, send: ReturnType<typeof encoderFor>, jobId: string, taskId: string, finish: () => Promise<void>) {
  await send({ type: "task_started", stage: "encode", task_id: taskId });
  const started = await getJob(key, jobId);
  await send({ type: "progress", stage: "encode", task_id: taskId, task_progress: 50, job_progress: 50 });
  const halfway = await getJob(key, jobId);
  await finish();
  return { started, halfway, done: await getJob(key, jobId) };
}

/** Plays a whole style job: every stage in order, StyleJSON at extraction, the output at rendering, then job_completed. */
async function completeJob(key: string, jobId: string) {
  const order = await orderNumber<StyleOrder>(jobId, 1);
  const send = encoderFor(order);
  const snapshots = [];
  for (const task of order.tasks) {
    snapshots.push({
      stage: task.stage,
      ...(await runStage(key, send, jobId, task.task_id, async () => {
        if (task.stage === "style_extraction") await send({ type: "style_measured", task_id: task.task_id, style_json: reportedStyleJson(), source_style_json: reportedStyleJson({ aspect_ratio: "16:9" }) });
        if (task.stage === "rendering") {
          await send({ type: "style_measured", task_id: task.task_id, output_style_json: reportedStyleJson(), comparison, shortened: { wanted_seconds: 8, rendered_seconds: 6 } });
          await send({ type: "task_completed", stage: "encode", task_id: task.task_id, output: outputFacts(order.render!.output_id) });
        } else {
          await send({ type: "task_completed", stage: "encode", task_id: task.task_id, output: null });
        }
      })),
    });
  }
  await send({ type: "job_completed" });
  return { order, snapshots };
}

describe("the envelope, authentication and paths", () => {
  it("answers GET /api/v1/health without a key", async () => {
    const res = await call("/api/v1/health");
    expectSuccess(res, 200, "Service is healthy");
    expect(res.json.data).toMatchObject({ status: "healthy", service: "kiln" });
  });

  it("answers 401 UNAUTHORIZED in the envelope without a key or with a wrong one", async () => {
    expectError(await call("/api/v1/jobs"), 401, "UNAUTHORIZED");
    expectError(await call("/api/v1/jobs", { key: "sk_test_not_a_key" }), 401, "UNAUTHORIZED");
    expectError(await createJob("sk_test_not_a_key", { video_id: "vid_abc" }), 401, "UNAUTHORIZED");
    expectError(await upload(null, { file: { bytes: media.mp4(), name: "a.mp4" } }), 401, "UNAUTHORIZED");
    expectError(await call("/api/v1/nowhere"), 401, "UNAUTHORIZED");
  });

  it("answers 403 FORBIDDEN for what the key's policy does not allow", async () => {
    const { key } = await seedOrg([{ effect: "allow", actions: ["jobs:get", "jobs:list"], resources: ["*"] }]);
    expectError(await upload(key, { file: { bytes: media.mp4(), name: "a.mp4" } }), 403, "FORBIDDEN");
    expectError(await createJob(key, { video_id: "vid_abc" }), 403, "FORBIDDEN");
    expectSuccess(await call("/api/v1/jobs", { key }), 200, "Jobs retrieved");
  });

  it("answers an unknown path 404 NOT_FOUND and a wrong method 405, in the envelope", async () => {
    const { key } = await seedOrg();
    expectError(await call("/api/v1/nowhere", { key }), 404, "NOT_FOUND");
    expectError(await call("/api/v1/jobs/job_a/tasks", { key }), 404, "NOT_FOUND");
    expectError(await call("/api/v1/jobs/job_a", { key, method: "DELETE" }), 405, "METHOD_NOT_ALLOWED");
    expectError(await call("/api/v1/videos/upload", { key }), 405, "METHOD_NOT_ALLOWED");
    // Outside /api/v1 the native answer stands.
    expect((await call("/api/v2/jobs", { key })).json.error.code).toBe("not_found");
  });
});

describe("POST /api/v1/videos/upload", () => {
  it("stores each accepted container, told by its bytes, measures it, and creates a job for it", async () => {
    const { orgId, key } = await seedOrg();
    for (const format of ["mp4", "mov", "avi", "mkv", "webm"] as const) {
      const bytes = media[format]();
      const res = await upload(key, { file: { bytes, name: `clip.${format}` } });
      expectSuccess(res, 201, /^Video uploaded successfully\. Job created: job_[a-z0-9]+$/);
      const data = res.json.data;
      expect(Object.keys(data)).toEqual([...videoKeys, "job_id"]);
      expect(res.json.message).toBe(`Video uploaded successfully. Job created: ${data.job_id}`);
      expect(data).toMatchObject({ filename: `clip.${format}`, file_size_bytes: bytes.byteLength });
      expect(data.video_id).toMatch(/^vid_[a-z0-9]+$/);
      // The encoder's probe (here the double's answer), not a stub; the container is the one its bytes say.
      expect(data.metadata).toEqual({ width: 1280, height: 720, duration_seconds: 4, frame_rate: 30, codec: "h264", bitrate_kbps: 2500, format });
      expect(Date.parse(data.uploaded_at)).not.toBeNaN();

      // storage_url is a signed GET of the stored bytes.
      const url = new URL(data.storage_url);
      expect(url.pathname).toBe(`/storage/uploads/${orgId}/${data.video_id}/clip.${format}`);
      expect(url.searchParams.get("sig")).toBeTruthy();
      const served = await exports.default.fetch(new Request(data.storage_url));
      expect(served.status).toBe(200);
      expect(new Uint8Array(await served.arrayBuffer())).toEqual(bytes);

      // The upload is a ready Kiln upload with its probe recorded.
      const native = await call(`/v1/uploads/${data.video_id}`, { key });
      expect(native.json).toMatchObject({ status: "ready", size_bytes: bytes.byteLength, probe: { status: "completed", metadata: DOUBLE_PROBE_METADATA } });

      // The job the upload made: a source-only style job of this video, queued.
      const job = await getJob(key, data.job_id);
      expect(job).toMatchObject({ job_id: data.job_id, video_id: data.video_id, status: "queued", progress_percent: 0, current_stage: null, template_video_id: null });
    }
  });

  it("takes a QuickTime file from before ftyp existed as mov", async () => {
    const { key } = await seedOrg();
    const res = await upload(key, { file: { bytes: media.oldQuickTime(), name: "archive.mov" } });
    expectSuccess(res, 201, /Job created/);
    expect(res.json.data.metadata.format).toBe("mov");
  });

  it("makes a video_id a valid /v1 job input", async () => {
    const { key } = await seedOrg();
    const { video_id } = await uploaded(key);
    const native = await call("/v1/jobs", { key, body: { input: video_id, kind: "video", options: { format: "mp4" } } });
    expect(native.status).toBe(201);
    expect(native.json.input).toBe(video_id);
  });

  it("takes template_video_id and webhook_url: the job is the template's style applied to the source", async () => {
    const { key } = await seedOrg();
    const template = await uploaded(key);
    const source = await uploaded(key, { template_video_id: template.video_id, webhook_url: "https://hooks.example.com/clipzy" });
    expect(await getJob(key, source.job_id)).toMatchObject({ video_id: source.video_id, template_video_id: template.video_id, status: "queued" });
    const native = (await call(`/v1/jobs/${source.job_id}`, { key })).json;
    expect(native).toMatchObject({ dialect: "clipzy", input: source.video_id, webhook_url: "https://hooks.example.com/clipzy", style: { template: template.video_id, config: {} } });
    expect(native.tasks.map((t: { kind: string }) => t.kind)).toEqual([...styleStages]);
  });

  it("refuses what is not a video: UNSUPPORTED_FORMAT 422, by content and by name", async () => {
    const { orgId, key } = await seedOrg();
    const refused = [
      { bytes: media.text(), name: "notes.mp4" },
      { bytes: media.text("RIFFxxxxWAVEfmt "), name: "sound.avi" },
      { bytes: media.png(), name: "picture.png" },
      { bytes: media.png(), name: "picture.mov" },
      { bytes: media.heic(), name: "photo.mp4" },
      // Letters that spell an atom name at bytes 4–8 are no QuickTime file: their "size" runs far past the end.
      { bytes: media.text("Now free to be a video?\n"), name: "free.mov" },
      { bytes: media.mp4(), name: "clip.txt" },
      { bytes: media.mp4(), name: "clip" },
      { bytes: new Uint8Array(0), name: "empty.mp4" },
    ];
    for (const file of refused) {
      const res = await upload(key, { file });
      expectError(res, 422, "UNSUPPORTED_FORMAT");
      expect(res.json.error.detail).toContain(file.name);
    }
    // Nothing was stored for any of them.
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM uploads WHERE org_id = ?").bind(orgId).first("n")).toBe(0);
  });

  it("refuses a file over CLIPZY_MAX_FILE_SIZE_MB with FILE_TOO_LARGE 413, before reading a body declared too large", async () => {
    const { orgId, key } = await seedOrg();
    const limit = Number(env.CLIPZY_MAX_FILE_SIZE_MB) * 1024 * 1024;
    // Just over: the body fits the form's allowance, the file does not.
    const over = await upload(key, { file: { bytes: media.mp4(limit + 1), name: "big.mp4" } });
    expectError(over, 413, "FILE_TOO_LARGE");
    expect(over.json.error.detail).toContain("1 MB");
    // Far over: refused from its Content-Length.
    expectError(await upload(key, { file: { bytes: media.mp4(2 * limit), name: "bigger.mp4" } }), 413, "FILE_TOO_LARGE");
    // Streamed without a length: refused as the bytes pass the limit.
    const stream = new Blob([media.mp4(2 * limit)]).stream();
    const chunked = await exports.default.fetch(
      new Request("https://kiln.test/api/v1/videos/upload", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "multipart/form-data; boundary=x" }, body: stream, duplex: "half" } as RequestInit),
    );
    expectError({ status: chunked.status, json: await chunked.json() }, 413, "FILE_TOO_LARGE");
    // At the limit it is taken.
    expect((await upload(key, { file: { bytes: media.mp4(limit), name: "fits.mp4" } })).status).toBe(201);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM uploads WHERE org_id = ?").bind(orgId).first("n")).toBe(1);
  });

  it("answers MISSING_FIELD without a file, VIDEO_NOT_FOUND for an unknown template, VALIDATION_ERROR for a bad webhook_url", async () => {
    const { orgId, key } = await seedOrg();
    const other = await seedOrg();
    const foreign = await uploaded(other.key);
    const noFile = await upload(key, { fields: { template_video_id: "vid_abc" } });
    expectError(noFile, 422, "MISSING_FIELD");
    expect(noFile.json.error.detail).toMatch(/^file: /);
    expectError(await call("/api/v1/videos/upload", { key, body: { file: "source.mp4" } }), 422, "MISSING_FIELD");
    expectError(await upload(key, { fields: { file: "source.mp4" } }), 422, "VALIDATION_ERROR");
    for (const template of ["vid_doesnotexist", foreign.video_id, "https://example.com/t.mp4"]) {
      const res = await upload(key, { file: { bytes: media.mp4(), name: "a.mp4" }, fields: { template_video_id: template } });
      expectError(res, 404, "VIDEO_NOT_FOUND");
      expect(res.json.error.detail).toContain(template);
    }
    const hook = await upload(key, { file: { bytes: media.mp4(), name: "a.mp4" }, fields: { webhook_url: "ftp://hooks.example.com" } });
    expectError(hook, 422, "VALIDATION_ERROR");
    expect(hook.json.error.detail).toMatch(/^webhook_url: /);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM uploads WHERE org_id = ?").bind(orgId).first("n")).toBe(0);
  });

  it("keeps a file the probe finds unreadable, with null metadata: its job fails at video_analysis with error.stage", async () => {
    const { orgId, key } = await seedOrg();
    await fetch(`${env.ENCODER_URL}/control/probe`, {
      method: "POST",
      body: JSON.stringify({ upload_id: orgId, answers: [{ status: 200, body: { ok: false, error: { code: "input_unreadable", message: "Invalid data found when processing input" } } }] }),
    });
    const res = await upload(key, { file: { bytes: media.mp4(), name: "corrupt.mp4" } });
    expectSuccess(res, 201, /Job created/);
    expect(res.json.data.metadata).toEqual({ width: null, height: null, duration_seconds: null, frame_rate: null, codec: null, bitrate_kbps: null, format: "mp4" });
    expect((await call(`/v1/uploads/${res.json.data.video_id}`, { key })).json.probe).toMatchObject({ status: "failed", error: { code: "input_unreadable" } });

    const jobId = res.json.data.job_id;
    const order = await orderNumber<StyleOrder>(jobId, 1);
    const send = encoderFor(order);
    const analysis = order.tasks[0]!;
    expect(analysis.stage).toBe("video_analysis");
    await send({ type: "task_started", stage: "encode", task_id: analysis.task_id });
    await send({ type: "task_failed", stage: "encode", task_id: analysis.task_id, error: { code: "input_unreadable", message: "Invalid data found when processing input" } });
    const result = await call(`/api/v1/jobs/${jobId}/result`, { key });
    expectSuccess(result, 200, "Job result retrieved");
    expect(Object.keys(result.json.data)).toEqual(detailKeys);
    expect(result.json.data).toMatchObject({
      status: "failed",
      current_stage: null,
      progress_percent: 1,
      style_json: null,
      output_video_url: null,
      error: { code: "INPUT_UNREADABLE", message: "Invalid data found when processing input", stage: "video_analysis" },
    });
    expect(result.json.data.processing_time_seconds).toBeGreaterThanOrEqual(0);
  });

  it("answers with null metadata when the encoder is busy, and the probe queue fills it in", { timeout: 30_000 }, async () => {
    const { orgId, key } = await seedOrg();
    await fetch(`${env.ENCODER_URL}/control/probe`, { method: "POST", body: JSON.stringify({ upload_id: orgId, answers: [{ status: 429, body: { error: { code: "encoder_full" } } }] }) });
    const res = await upload(key, { file: { bytes: media.webm(), name: "later.webm" } });
    expectSuccess(res, 201, /Job created/);
    expect(res.json.data.metadata).toEqual({ width: null, height: null, duration_seconds: null, frame_rate: null, codec: null, bitrate_kbps: null, format: "webm" });
    await vi.waitFor(
      async () => expect((await call(`/api/v1/videos/info/${res.json.data.video_id}`, { key })).json.data.metadata).toMatchObject({ width: 1280, height: 720, codec: "h264" }),
      { timeout: 15_000, interval: 100 },
    );
  });
});

describe("GET /api/v1/videos/info/{video_id}", () => {
  it("answers the upload's data, and VIDEO_NOT_FOUND for an unknown or another organization's video", async () => {
    const { key } = await seedOrg();
    const other = await seedOrg();
    const { video_id } = await uploaded(key);
    const info = await call(`/api/v1/videos/info/${video_id}`, { key });
    expectSuccess(info, 200, "Video info retrieved");
    expect(Object.keys(info.json.data)).toEqual(videoKeys);
    expect(info.json.data).toMatchObject({ video_id, filename: "source.mp4", metadata: { width: 1280, height: 720, duration_seconds: 4, format: "mp4" } });
    expect((await exports.default.fetch(new Request(info.json.data.storage_url))).status).toBe(200);
    expectError(await call(`/api/v1/videos/info/${video_id}`, { key: other.key }), 404, "VIDEO_NOT_FOUND");
    expectError(await call("/api/v1/videos/info/vid_doesnotexist", { key }), 404, "VIDEO_NOT_FOUND");
    expectError(await call("/api/v1/videos/info/not-an-id", { key }), 404, "VIDEO_NOT_FOUND");
  });

  it("shows a /v1 upload too, and a rotated video's dimensions as displayed", { timeout: 30_000 }, async () => {
    const { key } = await seedOrg();
    const created = (await call("/v1/uploads", { key, body: { content_type: "video/quicktime", filename: "phone.mov", max_bytes: 4096 } })).json;
    expectError(await call(`/api/v1/videos/info/${created.id}`, { key }), 409, "VIDEO_NOT_READY");
    expectError(await createJob(key, { video_id: created.id }), 409, "VIDEO_NOT_READY");
    await fetch(`${env.ENCODER_URL}/control/probe`, {
      method: "POST",
      body: JSON.stringify({ upload_id: created.id, answers: [{ status: 200, body: { ok: true, metadata: { ...DOUBLE_PROBE_METADATA, rotation: 90 } } }] }),
    });
    const put = await exports.default.fetch(new Request(created.upload_url, { method: "PUT", body: media.mov(), headers: { "content-type": "video/quicktime" } }));
    expect(put.status).toBe(201);
    await vi.waitFor(async () => expect((await call(`/api/v1/videos/info/${created.id}`, { key })).json.data.metadata).toEqual({ width: 720, height: 1280, duration_seconds: 4, frame_rate: 30, codec: "h264", bitrate_kbps: 2500, format: "mov" }), {
      timeout: 15_000,
      interval: 100,
    });
    expectSuccess(await createJob(key, { video_id: created.id }), 201, /^Job created: /);
  });
});

describe("POST /api/v1/jobs", () => {
  it("creates a style job: 201 with a JobResponse, config and webhook_url carried to the native job", async () => {
    const { key } = await seedOrg();
    const source = await uploaded(key);
    const template = await uploaded(key);
    const config = { aspect_ratio: "9:16", frame_rate: 30, apply: { audio: false }, quality: "high", output_format: "mp4" };
    const res = await createJob(key, { video_id: source.video_id, template_video_id: template.video_id, config, webhook_url: "https://hooks.example.com/c" });
    expectSuccess(res, 201, /^Job created: job_[a-z0-9]+$/);
    const job = res.json.data;
    expect(Object.keys(job)).toEqual(jobKeys);
    expect(res.json.message).toBe(`Job created: ${job.job_id}`);
    expect(job).toMatchObject({ video_id: source.video_id, template_video_id: template.video_id, status: "queued", progress_percent: 0, current_stage: null, started_at: null, completed_at: null });
    expect(job.updated_at).toBe(job.created_at);
    const native = (await call(`/v1/jobs/${job.job_id}`, { key })).json;
    expect(native).toMatchObject({ dialect: "clipzy", input: source.video_id, webhook_url: "https://hooks.example.com/c", style: { template: template.video_id, config } });
    // Nulls count as absent, as Clipzy's models read them (the video's own job from its upload ended first, so this is no duplicate).
    const third = await uploaded(key);
    await call(`/api/v1/jobs/${third.job_id}/cancel`, { key, method: "POST" });
    const nulls = await createJob(key, { video_id: third.video_id, template_video_id: null, config: null, webhook_url: null });
    expectSuccess(nulls, 201, /Job created/);
    expect(nulls.json.data.template_video_id).toBeNull();
  });

  it("answers MISSING_FIELD, VIDEO_NOT_FOUND and VALIDATION_ERROR naming the field", async () => {
    const { key } = await seedOrg();
    const other = await seedOrg();
    const source = await uploaded(key);
    const foreign = await uploaded(other.key);
    for (const body of [{}, { video_id: "" }, { video_id: null, template_video_id: source.video_id }]) {
      const res = await createJob(key, body);
      expectError(res, 422, "MISSING_FIELD");
      expect(res.json.error.detail).toMatch(/^video_id: /);
    }
    for (const [body, missing] of [
      [{ video_id: "vid_doesnotexist" }, "vid_doesnotexist"],
      [{ video_id: foreign.video_id }, foreign.video_id],
      [{ video_id: "https://example.com/a.mp4" }, "https://example.com/a.mp4"],
      [{ video_id: source.video_id, template_video_id: "vid_nope" }, "vid_nope"],
      [{ video_id: source.video_id, template_video_id: foreign.video_id }, foreign.video_id],
    ] as const) {
      const res = await createJob(key, body);
      expectError(res, 404, "VIDEO_NOT_FOUND");
      expect(res.json.error.detail).toContain(missing);
    }
    const invalid: [unknown, string][] = [
      [{ video_id: source.video_id, config: { colour: "warm" } }, "config.colour"],
      [{ video_id: source.video_id, config: { aspect_ratio: "2:1" } }, "config.aspect_ratio"],
      [{ video_id: source.video_id, config: { apply: { grade: true } } }, "config.apply.grade"],
      [{ video_id: source.video_id, config: { output_format: "mov" } }, "config.output_format"],
      [{ video_id: source.video_id, template_id: "vid_x" }, "template_id"],
      [{ video_id: 42 }, "video_id"],
      [{ video_id: source.video_id, webhook_url: "not a url" }, "webhook_url"],
      [[source.video_id], "body"],
    ];
    for (const [body, field] of invalid) {
      const res = await createJob(key, body);
      expectError(res, 422, "VALIDATION_ERROR");
      expect(res.json.error.detail.startsWith(`${field}: `), res.json.error.detail).toBe(true);
    }
    const json = await call("/api/v1/jobs", { key, rawBody: "{not json" });
    expectError(json, 422, "VALIDATION_ERROR");
    expect(json.json.error.detail).toMatch(/^body: /);
  });

  it("answers JOB_ALREADY_PROCESSING 409 while a job for the same video and template is queued or processing", async () => {
    const { key } = await seedOrg();
    const template = await uploaded(key);
    const source = await uploaded(key);
    // The upload made a source-only job for the video: a second one is a duplicate.
    const again = await createJob(key, { video_id: source.video_id });
    expectError(again, 409, "JOB_ALREADY_PROCESSING");
    expect(again.json.error.detail).toContain(source.job_id);
    // Another template is another pair.
    const styled = await createJob(key, { video_id: source.video_id, template_video_id: template.video_id });
    expectSuccess(styled, 201, /Job created/);
    // Processing counts too.
    const order = await orderNumber<StyleOrder>(styled.json.data.job_id, 1);
    await encoderFor(order)({ type: "task_started", stage: "encode", task_id: order.tasks[0]!.task_id });
    expect((await getJob(key, styled.json.data.job_id)).status).toBe("processing");
    expectError(await createJob(key, { video_id: source.video_id, template_video_id: template.video_id }), 409, "JOB_ALREADY_PROCESSING");
    // Once the earlier job has ended, the pair can be processed again.
    expectSuccess(await call(`/api/v1/jobs/${source.job_id}/cancel`, { key, method: "POST" }), 200, "Job cancelled");
    expectSuccess(await createJob(key, { video_id: source.video_id }), 201, /Job created/);
  });
});

describe("GET /api/v1/jobs/{id}, /result and /cancel", () => {
  it("answers JOB_NOT_FOUND for an unknown job, another organization's and a job that is not a style job", async () => {
    const { key } = await seedOrg();
    const other = await seedOrg();
    const { job_id } = await uploaded(other.key);
    const native = (await call("/v1/jobs", { key, body: videoJob() })).json;
    for (const id of ["job_doesnotexist", job_id, native.id, "not-a-job"]) {
      for (const path of [`/api/v1/jobs/${id}`, `/api/v1/jobs/${id}/result`]) {
        const res = await call(path, { key });
        expectError(res, 404, "JOB_NOT_FOUND");
        expect(res.json.error.detail).toContain(id);
      }
      expectError(await call(`/api/v1/jobs/${id}/cancel`, { key, method: "POST" }), 404, "JOB_NOT_FOUND");
    }
    // The other organization's job is untouched.
    expect((await getJob(other.key, job_id)).status).toBe("queued");
  });

  it("answers RESULT_NOT_READY 409 before the job has finished", async () => {
    const { key } = await seedOrg();
    const { job_id } = await uploaded(key);
    const res = await call(`/api/v1/jobs/${job_id}/result`, { key });
    expectError(res, 409, "RESULT_NOT_READY");
    expect(res.json.error.detail).toContain("queued");
  });

  it("cancels a queued job (Kiln's addition) and answers JOB_NOT_CANCELLABLE 409 for a finished one", async () => {
    const { key } = await seedOrg();
    const { job_id } = await uploaded(key);
    const cancelled = await call(`/api/v1/jobs/${job_id}/cancel`, { key, method: "POST" });
    expectSuccess(cancelled, 200, "Job cancelled");
    expect(Object.keys(cancelled.json.data)).toEqual(jobKeys);
    expect(cancelled.json.data).toMatchObject({ job_id, status: "cancelled", current_stage: null, progress_percent: 0 });
    expect(cancelled.json.data.completed_at).not.toBeNull();
    const twice = await call(`/api/v1/jobs/${job_id}/cancel`, { key, method: "POST" });
    expectError(twice, 409, "JOB_NOT_CANCELLABLE");
    expect(twice.json.error.detail).toContain("cancelled");
    const result = await call(`/api/v1/jobs/${job_id}/result`, { key });
    expectSuccess(result, 200, "Job result retrieved");
    expect(result.json.data).toMatchObject({ status: "cancelled", style_json: null, output_video_url: null, error: null, processing_time_seconds: null });
  });

  it("walks the stages in order with current_stage and monotonic progress in Clipzy's bands, then shows the result", { timeout: 30_000 }, async () => {
    const { key } = await seedOrg();
    const template = await uploaded(key);
    const source = await uploaded(key);
    const created = await createJob(key, { video_id: source.video_id, template_video_id: template.video_id });
    const jobId = created.json.data.job_id;
    const { order, snapshots } = await completeJob(key, jobId);
    expect(order.engine).toBe("style");
    expect(order.tasks.map((t) => t.stage)).toEqual([...styleStages]);

    const bands: Record<string, [number, number]> = {
      video_analysis: [1, 20],
      audio_analysis: [21, 35],
      motion_analysis: [36, 55],
      style_extraction: [56, 65],
      style_application: [66, 85],
      rendering: [86, 99],
    };
    const seen: number[] = [0];
    for (const { stage, started, halfway, done } of snapshots) {
      const [low, high] = bands[stage]!;
      expect(started).toMatchObject({ status: "processing", current_stage: stage, progress_percent: low });
      expect(halfway).toMatchObject({ status: "processing", current_stage: stage, progress_percent: low + Math.floor((high - low) / 2) });
      // Between two stages: the finished one's band top.
      if (stage !== "rendering") expect(done).toMatchObject({ status: "processing", current_stage: stage, progress_percent: high });
      seen.push(started.progress_percent, halfway.progress_percent, done.progress_percent);
      expect(Number.isInteger(halfway.progress_percent)).toBe(true);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(snapshots.map((s) => s.started.current_stage)).toEqual([...styleStages]);
    expect(snapshots[0]!.started.started_at).not.toBeNull();

    const job = await getJob(key, jobId);
    expect(job).toMatchObject({ status: "completed", progress_percent: 100, current_stage: null, template_video_id: template.video_id });
    const result = await call(`/api/v1/jobs/${jobId}/result`, { key });
    expectSuccess(result, 200, "Job result retrieved");
    const detail = result.json.data;
    expect(Object.keys(detail)).toEqual(detailKeys);
    expect(styleJsonSchema.safeParse(detail.style_json).success).toBe(true);
    expect(detail.style_json).toMatchObject({ aspect_ratio: "9:16", tempo_bpm: 120 });
    expect(detail.error).toBeNull();
    expect(detail.style_comparison).toEqual(comparison);
    expect(detail.output_shortened).toEqual({ wanted_seconds: 8, rendered_seconds: 6 });
    expect(detail.processing_time_seconds).toBe((Date.parse(detail.completed_at) - Date.parse(detail.started_at)) / 1000);
    const url = new URL(detail.output_video_url);
    expect(url.pathname).toBe(`/storage/jobs/${jobId}/${order.render!.output_id}.mp4`);
    expect(url.searchParams.get("sig")).toBeTruthy();
  });

  it("walks a source-only job through the analysis stages, extracting the source's style without rendering", { timeout: 30_000 }, async () => {
    const { key } = await seedOrg();
    const { job_id } = await uploaded(key);
    const { order, snapshots } = await completeJob(key, job_id);
    expect(order.tasks.map((t) => t.stage)).toEqual(["video_analysis", "audio_analysis", "motion_analysis", "style_extraction"]);
    expect(order.render).toBeNull();
    expect(snapshots.at(-1)!.done.progress_percent).toBe(65);
    const detail = (await call(`/api/v1/jobs/${job_id}/result`, { key })).json.data;
    expect(detail).toMatchObject({ status: "completed", progress_percent: 100, output_video_url: null, error: null });
    expect(styleJsonSchema.safeParse(detail.style_json).success).toBe(true);
  });
});

describe("GET /api/v1/jobs", () => {
  it("pages the organization's Clipzy jobs newest first: {jobs, total, page, page_size}", async () => {
    const { key } = await seedOrg();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push((await uploaded(key)).job_id);
      // Distinct creation times, so newest first is the reverse of the order they were made in.
      await new Promise((r) => setTimeout(r, 5));
    }
    const newest = [...made].reverse();
    // A native style job of the same organization is not Clipzy's.
    const native = await call("/v1/jobs", { key, body: { input: "https://example.com/a.mp4", style: {} } });
    expect(native.status).toBe(201);

    const all = await call("/api/v1/jobs", { key });
    expectSuccess(all, 200, "Jobs retrieved");
    expect(Object.keys(all.json.data)).toEqual(["jobs", "total", "page", "page_size"]);
    expect(all.json.data).toMatchObject({ total: 5, page: 1, page_size: 10 });
    expect(all.json.data.jobs.map((j: { job_id: string }) => j.job_id)).toEqual(newest);
    expect(Object.keys(all.json.data.jobs[0])).toEqual(jobKeys);

    const pages = [];
    for (const page of [1, 2, 3, 4]) pages.push((await call(`/api/v1/jobs?page=${page}&page_size=2`, { key })).json.data);
    expect(pages.map((p) => p.jobs.map((j: { job_id: string }) => j.job_id))).toEqual([newest.slice(0, 2), newest.slice(2, 4), newest.slice(4), []]);
    expect(pages.map((p) => [p.total, p.page, p.page_size])).toEqual([[5, 1, 2], [5, 2, 2], [5, 3, 2], [5, 4, 2]]);

    for (const query of ["page=0", "page=-1", "page=x", "page_size=0", "page_size=101", "page_size=1.5"]) {
      const res = await call(`/api/v1/jobs?${query}`, { key });
      expectError(res, 422, "VALIDATION_ERROR");
      expect(res.json.error.detail.startsWith(query.split("=")[0]!)).toBe(true);
    }
    expect((await call("/api/v1/jobs", { key: (await seedOrg()).key })).json.data).toEqual({ jobs: [], total: 0, page: 1, page_size: 10 });
  });
});

/*
 * The receiver is the boundary: outbound fetches to https://receiver.kiln-test.example/…
 * are answered here and recorded; the Queue consumer, signing and routes are real.
 */
describe("webhooks", () => {
  const received = new Map<string, { headers: Record<string, string>; body: string }[]>();
  const realFetch = globalThis.fetch;
  beforeAll(() => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (!request.url.startsWith("https://receiver.kiln-test.example/")) return realFetch(input, init);
      received.set(request.url, [...(received.get(request.url) ?? []), { headers: Object.fromEntries(request.headers), body: await request.text() }]);
      return new Response("ok");
    });
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it("POSTs the envelope with the JobDetailResponse at the terminal state, signed per Standard Webhooks", { timeout: 30_000 }, async () => {
    const { key } = await seedOrg();
    const url = `https://receiver.kiln-test.example/${crypto.randomUUID()}`;
    const template = await uploaded(key);
    const source = await uploaded(key, { template_video_id: template.video_id, webhook_url: url });
    await completeJob(key, source.job_id);
    await vi.waitFor(
      async () => expect((await call(`/v1/jobs/${source.job_id}/webhooks`, { key })).json.data[0]?.status).toBe("delivered"),
      { timeout: 10_000, interval: 100 },
    );
    const requests = received.get(url)!;
    expect(requests).toHaveLength(1);
    const secret = (await call("/v1/webhooks/secret", { key })).json.secret;
    const body = new Webhook(secret).verify(requests[0]!.body, requests[0]!.headers) as any;
    expect(requests[0]!.headers["webhook-id"]).toMatch(/^whd_[a-z0-9]{20}$/);
    expect(() => new Webhook(secret).verify(requests[0]!.body.replace("completed", "failed"), requests[0]!.headers)).toThrow();

    expect(Object.keys(body)).toEqual(["success", "message", "data", "error", "timestamp"]);
    expect(body).toMatchObject({ success: true, message: "Job completed", error: null });
    const result = (await call(`/api/v1/jobs/${source.job_id}/result`, { key })).json.data;
    // The same detail as /result, but for the output URL, which each read signs afresh.
    expect({ ...body.data, output_video_url: null }).toEqual({ ...result, output_video_url: null });
    expect(new URL(body.data.output_video_url).pathname).toBe(new URL(result.output_video_url).pathname);
    expect(body.data).toMatchObject({ job_id: source.job_id, status: "completed", progress_percent: 100, template_video_id: template.video_id });
    expect(styleJsonSchema.safeParse(body.data.style_json).success).toBe(true);
    expect(body.timestamp).toBe(body.data.updated_at);
  });

  it("announces a cancelled job set up through POST /api/v1/jobs", async () => {
    const { key } = await seedOrg();
    const url = `https://receiver.kiln-test.example/${crypto.randomUUID()}`;
    const template = await uploaded(key);
    const source = await uploaded(key);
    const created = await createJob(key, { video_id: source.video_id, template_video_id: template.video_id, webhook_url: url });
    const jobId = created.json.data.job_id;
    await call(`/api/v1/jobs/${jobId}/cancel`, { key, method: "POST" });
    await vi.waitFor(
      async () => expect((await call(`/v1/jobs/${jobId}/webhooks`, { key })).json.data[0]?.status).toBe("delivered"),
      { timeout: 10_000, interval: 100 },
    );
    const request = received.get(url)![0]!;
    const body = new Webhook((await call("/v1/webhooks/secret", { key })).json.secret).verify(request.body, request.headers) as any;
    expect(body).toMatchObject({ success: true, message: "Job cancelled", data: { job_id: jobId, status: "cancelled", output_video_url: null, error: null } });
  });
});
