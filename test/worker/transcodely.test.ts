import { env, exports } from "cloudflare:workers";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { call, encoderFor, orderNumber, seedBareOrg, seedOrg, videoJob } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/*
 * The Transcodely dialect's JobService (worker/dialects/transcodely/) against the real
 * Worker: D1, the JobDO, the queue, managed storage and the loopback S3 server, with the
 * encoder double in place of the pool (tests play the encoder's events).
 */

const S3 = env.TEST_ONLY_ALLOWED_S3_ENDPOINT!;
const s3 = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  probe_only: boolean;
  tasks: { task_id: string; output_id: string; spec: Record<string, unknown> }[];
}

const JOB = "/transcodely.v1.JobService";

function rpc(method: string, key: string | null, body: unknown, headers: Record<string, string> = {}) {
  return call(`${JOB}/${method}`, { key, body, headers });
}

/** The seed's Job fields in the seed's order, then the protos' that Kiln fills. */
const JOB_KEYS = [
  "id",
  "input_url",
  "input_origin",
  "output_origin",
  "status",
  "progress",
  "priority",
  "input_metadata",
  "outputs",
  "thumbnails",
  "total_estimated_cost",
  "total_actual_cost",
  "error_code",
  "error_message",
  "webhook_url",
  "metadata",
  "delayed_start",
  "currency",
  "execution",
  "created_at",
  "updated_at",
  "probed_at",
  "started_at",
  "completed_at",
  "confirmed_at",
  "object",
  "input_video_id",
  "output_path_template",
  "thumbnail_results",
  "clip",
];
const OUTPUT_KEYS = [
  "id",
  "type",
  "status",
  "video",
  "output_url",
  "file_size_bytes",
  "signed_url",
  "object",
  "progress",
  "output_size_bytes",
  "duration_seconds",
  "width",
  "height",
  "error_code",
  "error_message",
  "started_at",
  "completed_at",
  "preset_id",
  "preset_slug",
];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const metadata = { duration_ms: 2000, width: 320, height: 180, codec: "h264", bitrate_kbps: 400, framerate: 25, file_size_bytes: 100_000, has_audio: false, audio_codec: null, rotation: 0 };

/** A managed mp4 job in Transcodely's form. */
const managedJob = (extra: Record<string, unknown> = {}) => ({
  input_url: "https://media.example.com/in.mp4",
  managed: true,
  outputs: [{ type: "mp4", video: [{ codec: "h264", resolution: "720p", quality: "standard" }] }],
  ...extra,
});

async function newBucket(): Promise<string> {
  const name = `kiln-tc-${crypto.randomUUID().slice(0, 8)}`;
  expect((await s3.fetch(`${S3}/${name}`, { method: "PUT" })).status).toBe(200);
  return name;
}

async function createOrigin(key: string) {
  const bucket = await newBucket();
  const res = await call("/v1/origins", { key, body: { name: "Production bucket", provider: "s3", bucket, endpoint: S3, credentials: S3_TEST_CREDENTIALS, permissions: ["read", "write"] } });
  expect(res.status, res.text).toBe(201);
  return { id: res.json.id as string, bucket };
}

async function probe(send: ReturnType<typeof encoderFor>) {
  await send({ type: "task_started", stage: "import", task_id: null });
  await send({ type: "task_completed", stage: "import", task_id: null, output: null });
  await send({ type: "task_started", stage: "probe", task_id: null });
  await send({ type: "metadata", input_metadata: metadata });
  return send({ type: "task_completed", stage: "probe", task_id: null, output: null });
}

/** Plays the encoder through a whole managed job: probe, encode with progress, the upload, the end. */
async function runToCompletion(order: Order, pauseMs = 0) {
  const send = encoderFor(order);
  const task = order.tasks[0]!;
  await probe(send);
  await send({ type: "task_started", stage: "encode", task_id: task.task_id });
  for (const p of [25, 50, 75]) {
    await send({ type: "progress", stage: "encode", task_id: task.task_id, task_progress: p, job_progress: p });
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  }
  const bytes = new TextEncoder().encode("an mp4's bytes, as far as the storage is concerned");
  const sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const path = `${task.output_id}.mp4`;
  const signed = await call(`/internal/jobs/${order.job_id}/sign`, {
    headers: { authorization: `Bearer ${order.lease_token}` },
    body: { job_id: order.job_id, attempt: order.attempt, files: [{ output_id: task.output_id, path, content_type: "video/mp4", size_bytes: bytes.length }] },
  });
  expect(signed.status, signed.text).toBe(200);
  const put = await exports.default.fetch(new Request(signed.json.uploads[0].url, { method: "PUT", body: bytes, headers: { "content-type": "video/mp4", "content-length": String(bytes.length) } }));
  expect(put.status).toBe(201);
  const file = { path, content_type: "video/mp4", size_bytes: bytes.length, sha256: sha };
  await send({
    type: "task_completed",
    stage: "encode",
    task_id: task.task_id,
    output: { output_id: task.output_id, main: path, files: [file], size_bytes: bytes.length, duration_ms: 2000, width: 1280, height: 720, codec: "h264", sha256: sha },
  });
  await send({ type: "job_completed" });
  return bytes;
}

/** The ErrorDetails message the `value` carries, decoded from protobuf binary by hand. */
function decodeErrorDetails(value: string) {
  const bytes = base64Decode(value);
  const fields: { tag: number; text: string; nested?: { tag: number; text: string }[] }[] = [];
  const read = (from: number, to: number) => {
    const out: { tag: number; text: string; bytes: Uint8Array }[] = [];
    let i = from;
    while (i < to) {
      const key = bytes[i++]!;
      let length = 0;
      let shift = 0;
      for (;;) {
        const b = bytes[i++]!;
        length |= (b & 0x7f) << shift;
        if (b < 0x80) break;
        shift += 7;
      }
      const body = bytes.subarray(i, i + length);
      out.push({ tag: key >> 3, text: new TextDecoder().decode(body), bytes: body });
      i += length;
    }
    return out;
  };
  for (const field of read(0, bytes.length)) {
    if (field.tag === 3) {
      const start = field.bytes.byteOffset - bytes.byteOffset;
      fields.push({ tag: 3, text: "", nested: read(start, start + field.bytes.length).map(({ tag, text }) => ({ tag, text })) });
    } else fields.push({ tag: field.tag, text: field.text });
  }
  return {
    code: fields.find((f) => f.tag === 1)?.text ?? "",
    message: fields.find((f) => f.tag === 2)?.text ?? "",
    field_violations: fields.filter((f) => f.tag === 3).map((f) => ({ field: f.nested!.find((n) => n.tag === 1)?.text ?? "", description: f.nested!.find((n) => n.tag === 2)?.text ?? "" })),
  };
}

/** The Connect error body, with its binary detail checked against its JSON twin. */
function connectError(json: any) {
  expect(Object.keys(json)).toEqual(["code", "message", "details"]);
  expect(json.details).toHaveLength(1);
  expect(json.details[0].type).toBe("transcodely.v1.ErrorDetails");
  expect(decodeErrorDetails(json.details[0].value)).toEqual(json.details[0].debug);
  return json;
}

/** Splits a Connect streaming body into its envelopes, byte by byte. */
function envelopes(bytes: Uint8Array) {
  const frames: { flags: number; json: any }[] = [];
  let i = 0;
  while (i < bytes.length) {
    expect(bytes.length - i).toBeGreaterThanOrEqual(5);
    const flags = bytes[i]!;
    const length = (bytes[i + 1]! << 24) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 8) | bytes[i + 4]!;
    frames.push({ flags, json: JSON.parse(new TextDecoder().decode(bytes.subarray(i + 5, i + 5 + length))) });
    i += 5 + length;
  }
  expect(i).toBe(bytes.length);
  return frames;
}

function envelope(message: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(message));
  const out = new Uint8Array(5 + json.length);
  new DataView(out.buffer).setUint32(1, json.length);
  out.set(json, 5);
  return out;
}

function watchRequest(key: string, id: string, connect: boolean) {
  return exports.default.fetch(
    new Request(`https://kiln.test${JOB}/Watch`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": connect ? "application/connect+json" : "application/json", "connect-protocol-version": "1" },
      body: connect ? envelope({ id }) : JSON.stringify({ id }),
    }),
  );
}

describe("Transcodely JobService: Create", () => {
  it("answers {job} with every field, in the seed's order, for a job writing to an origin", async () => {
    const { key, orgId } = await seedOrg();
    const origin = await createOrigin(key);
    const res = await rpc(
      "Create",
      key,
      {
        input_url: "https://media.example.com/uploads/video.mp4",
        output_origin_id: origin.id,
        outputs: [{ type: "mp4", video: [{ codec: "h264", resolution: "1080p", quality: "standard" }] }],
        priority: "standard",
        webhook_url: "https://api.example.com/webhooks/transcodely",
        metadata: { source: "upload-service", user_id: "usr_a1b2c3d4e5" },
        output_path_template: "{date}/output_{codec}_{resolution}",
      },
      { "x-organization-id": orgId, "transcodely-version": "2026-05-03", "user-agent": "Transcodely/0.3.7 typescript Node/20" },
    );
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.json)).toEqual(["job"]);
    const job = res.json.job;
    expect(Object.keys(job)).toEqual(JOB_KEYS);
    expect(job).toEqual({
      id: expect.stringMatching(/^job_/),
      input_url: "https://media.example.com/uploads/video.mp4",
      input_origin: null,
      output_origin: { id: origin.id, name: "Production bucket", provider: "s3", path: "{date}/output_{codec}_{resolution}", bucket: origin.bucket },
      status: "pending",
      progress: 0,
      priority: "standard",
      input_metadata: null,
      outputs: [
        {
          id: expect.stringMatching(/^out_/),
          type: "mp4",
          status: "pending",
          video: { codec: "h264", resolution: "1080p", quality: "standard" },
          output_url: "",
          file_size_bytes: 0,
          signed_url: "",
          object: "job_output",
          progress: 0,
          output_size_bytes: null,
          duration_seconds: null,
          width: null,
          height: null,
          error_code: "",
          error_message: "",
          started_at: null,
          completed_at: null,
          preset_id: null,
          preset_slug: null,
        },
      ],
      thumbnails: [],
      total_estimated_cost: null,
      total_actual_cost: null,
      error_code: "",
      error_message: "",
      webhook_url: "https://api.example.com/webhooks/transcodely",
      metadata: { source: "upload-service", user_id: "usr_a1b2c3d4e5" },
      delayed_start: false,
      currency: "EUR",
      execution: null,
      created_at: expect.stringMatching(RFC3339),
      updated_at: expect.stringMatching(RFC3339),
      probed_at: null,
      started_at: null,
      completed_at: null,
      confirmed_at: null,
      object: "job",
      input_video_id: "",
      output_path_template: "{date}/output_{codec}_{resolution}",
      thumbnail_results: [],
      clip: null,
    });
    expect(Object.keys(job.outputs[0])).toEqual(OUTPUT_KEYS);
    // An ordinary Kiln job: /v1 shows it, created by this dialect.
    const native = await call(`/v1/jobs/${job.id}`, { key });
    expect(native.json).toMatchObject({ id: job.id, dialect: "transcodely", output_origin_id: origin.id, metadata: { source: "upload-service" } });
  });

  it("reads full enum names, lowerCamelCase names and the SDK's unset fields", async () => {
    const { key } = await seedOrg();
    // What a protobuf client writes: jsonName keys, full enum names, every unset field at its default.
    const res = await rpc("Create", key, {
      inputUrl: "https://media.example.com/in.mp4",
      inputOriginId: "",
      inputPath: "",
      outputOriginId: "",
      managed: true,
      outputs: [
        {
          type: "OUTPUT_FORMAT_HLS",
          video: [
            { codec: "VIDEO_CODEC_H264", resolution: "RESOLUTION_720P", quality: "QUALITY_TIER_PREMIUM", framerate: 0, width: 0, height: 0, bitrate: 0 },
            { codec: "VIDEO_CODEC_H264", resolution: "RESOLUTION_480P", quality: "QUALITY_TIER_ECONOMY" },
          ],
          audio: [],
          hls: { segmentFormat: "HLS_SEGMENT_FORMAT_TS", playlistType: "HLS_PLAYLIST_TYPE_VOD" },
          segments: { duration: 4, gopAlignment: "GOP_ALIGNMENT_MODE_ALIGNED" },
          pathTemplate: "",
          subtitleTracks: [],
        },
      ],
      priority: "JOB_PRIORITY_PREMIUM",
      webhookUrl: "",
      idempotencyKey: "",
      metadata: { kept: "JOB_STATUS_PENDING" },
      delayedStart: false,
      thumbnails: [{ mode: "THUMBNAIL_MODE_SPRITE", format: "THUMBNAIL_FORMAT_WEBP", width: 160, intervalSeconds: 0.5, spriteColumns: 4 }],
      outputPathTemplate: "",
      appId: "",
      clip: { startSeconds: 0, endSeconds: 0 },
    });
    expect(res.status, res.text).toBe(200);
    const job = res.json.job;
    expect(job).toMatchObject({ priority: "premium", output_origin: null, metadata: { kept: "JOB_STATUS_PENDING" }, webhook_url: "", output_path_template: null });
    expect(job.outputs).toHaveLength(1);
    expect(job.outputs[0]).toMatchObject({ type: "hls", video: { codec: "h264", resolution: "720p", quality: "premium" } });
    expect(job.thumbnails).toEqual([{ mode: "sprite", format: "webp", width: 160, height: null, timestamp: null, interval_seconds: 0.5, timestamps: [], sprite_columns: 4 }]);
    expect(job.thumbnail_results).toEqual([{ storage_key: "", url: "", mode: "sprite", format: "webp", width: 0, height: 0, index: 0, signed_url: "" }]);
    // The native job holds what was meant: TS segments, both rungs, a webp sprite every 0.5 s.
    const native = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(native.outputs[0].spec).toMatchObject({ type: "hls", hls: { segment_type: "ts", playlist_type: "vod" }, segments: { duration: 4 } });
    expect(native.outputs[0].spec.video).toEqual([
      { codec: "h264", resolution: "720p", quality: "premium" },
      { codec: "h264", resolution: "480p", quality: "economy" },
    ]);
    expect(native.thumbnails).toEqual([{ format: "webp", width: 160, sprite: true, interval: 0.5, columns: 4 }]);
    expect(native.priority).toBe("premium");
  });

  it("reports every violation at once, each at its indexed field path", async () => {
    const { key } = await seedOrg();
    const res = await rpc("Create", key, {
      input_url: "ftp://example.com/in.mp4",
      outputs: [
        { type: "webm", video: [{ codec: "h264", resolution: "720p" }] },
        { type: "mp4", video: [{ codec: "h265", width: 64 }], drm: { systems: ["widevine"] } },
      ],
      metadata: { note: 5 },
      clip: { start_seconds: 3, end_seconds: 1 },
      thumbnails: [{ mode: "animated" }],
      frobnicate: true,
    });
    expect(res.status).toBe(400);
    const body = connectError(res.json);
    expect(body.code).toBe("invalid_argument");
    expect(body.details[0].debug.code).toBe("validation_error");
    expect(body.details[0].debug.field_violations).toEqual([
      { field: "frobnicate", description: "unknown field" },
      { field: "input_url", description: "a gs://, s3:// or https:// URL of at most 2048 characters" },
      { field: "output_origin_id", description: "output_origin_id is required unless managed is true" },
      { field: 'metadata["note"]', description: "values are strings" },
      { field: "outputs[1].drm", description: "DRM systems (widevine, fairplay, playready) are not supported by Kiln" },
      { field: "thumbnails[0].mode", description: "animated thumbnails are not supported by Kiln" },
      { field: "outputs[0].video[0].codec", description: "h264 cannot be packaged as webm; webm takes vp9, av1" },
      { field: "outputs[1].video[0].width", description: expect.stringContaining("128") },
      { field: "clip.end_seconds", description: "end_seconds must be at least 0.001 s after start_seconds ({0, 0} is no clip)" },
    ]);
    expect(body.message).toBe("frobnicate: unknown field (and 8 more)");
    expect(body.details[0].debug.message).toBe(body.message);
  });

  it("clips the job to ClipConfig: Get shows it, the native job and its order carry it; {0, 0} and an unset start read as Transcodely means them", async () => {
    const { key } = await seedOrg();
    const created = await rpc("Create", key, managedJob({ clip: { startSeconds: 1.5, endSeconds: 3.25 } }));
    expect(created.status, created.text).toBe(200);
    const id = created.json.job.id;
    expect(created.json.job.clip).toEqual({ start_seconds: 1.5, end_seconds: 3.25 });
    expect((await rpc("Get", key, { id })).json.job.clip).toEqual({ start_seconds: 1.5, end_seconds: 3.25 });
    expect((await call(`/v1/jobs/${id}`, { key })).json.clip).toEqual({ start_seconds: 1.5, end_seconds: 3.25 });
    expect((await orderNumber<Order & { clip?: unknown }>(id)).clip).toEqual({ start_seconds: 1.5, end_seconds: 3.25 });
    // protojson leaves a zero out: {end_seconds: 2} starts at 0.
    expect((await rpc("Create", key, managedJob({ clip: { end_seconds: 2 } }))).json.job.clip).toEqual({ start_seconds: 0, end_seconds: 2 });
    expect((await rpc("Create", key, managedJob({ clip: { start_seconds: 0, end_seconds: 0 } }))).json.job.clip).toBeNull();
    // A start with no end is an empty clip, refused like any other.
    const endless = await rpc("Create", key, managedJob({ clip: { start_seconds: 5 } }));
    expect(endless.status).toBe(400);
    expect(connectError(endless.json).details[0].debug.field_violations).toEqual([
      { field: "clip.end_seconds", description: "end_seconds must be at least 0.001 s after start_seconds ({0, 0} is no clip)" },
    ]);
  });

  it("fails a clip past the input's end at the probe with input_clip_out_of_range, as Transcodely does", async () => {
    const { key } = await seedOrg();
    const created = await rpc("Create", key, managedJob({ clip: { start_seconds: 2, end_seconds: 5 } }));
    const id = created.json.job.id;
    // The seed's input lasts 2 s: the clip starts at its end.
    expect((await probe(encoderFor(await orderNumber<Order>(id)))).directive).toBe("cancel");
    expect((await rpc("Get", key, { id })).json.job).toMatchObject({ status: "failed", error_code: "input_clip_out_of_range", clip: { start_seconds: 2, end_seconds: 5 } });
  });

  it("replays an Idempotency-Key with the same job; the body's key wins over the SDK's header", async () => {
    const { key } = await seedOrg();
    const first = await rpc("Create", key, managedJob(), { "idempotency-key": "retry-me" });
    const again = await rpc("Create", key, managedJob(), { "idempotency-key": "retry-me" });
    expect(again.status).toBe(200);
    expect(again.json.job.id).toBe(first.json.job.id);
    const conflict = await rpc("Create", key, managedJob({ priority: "premium" }), { "idempotency-key": "retry-me" });
    expect(conflict.status).toBe(409);
    expect(connectError(conflict.json)).toMatchObject({ code: "already_exists", details: [{ debug: { code: "idempotency_conflict" } }] });
    const body = await rpc("Create", key, managedJob({ idempotency_key: "from-body" }), { "idempotency-key": crypto.randomUUID() });
    const bodyAgain = await rpc("Create", key, managedJob({ idempotency_key: "from-body" }), { "idempotency-key": crypto.randomUUID() });
    expect(bodyAgain.json.job.id).toBe(body.json.job.id);
    expect(body.json.job.id).not.toBe(first.json.job.id);
  });
});

describe("Transcodely JobService: errors", () => {
  it("answers unauthenticated without a key or with a wrong one", async () => {
    const missing = await rpc("Get", null, { id: "job_abc" });
    expect(missing.status).toBe(401);
    expect(connectError(missing.json)).toEqual({
      code: "unauthenticated",
      message: "Authorization header with a Bearer API key is required",
      details: [{ type: "transcodely.v1.ErrorDetails", value: expect.any(String), debug: { code: "token_missing", message: "Authorization header with a Bearer API key is required", field_violations: [] } }],
    });
    const wrong = await rpc("Get", "sk_test_nope", { id: "job_abc" });
    expect(wrong.status).toBe(401);
    expect(connectError(wrong.json)).toMatchObject({ code: "unauthenticated", message: "API key is invalid or revoked", details: [{ debug: { code: "token_invalid" } }] });
  });

  it("answers not_found with JOB_NOT_FOUND for an unknown job and another organization's", async () => {
    const { key } = await seedOrg();
    const other = await seedOrg();
    const missing = await rpc("Get", key, { id: "job_aaaaaaaaaaaaaaaaaaaa" });
    expect(missing.status).toBe(404);
    expect(connectError(missing.json)).toEqual({
      code: "not_found",
      message: "No job job_aaaaaaaaaaaaaaaaaaaa",
      details: [{ type: "transcodely.v1.ErrorDetails", value: expect.any(String), debug: { code: "JOB_NOT_FOUND", message: "No job job_aaaaaaaaaaaaaaaaaaaa", field_violations: [] } }],
    });
    const theirs = (await rpc("Create", other.key, managedJob())).json.job;
    for (const method of ["Get", "Cancel", "Confirm"]) {
      const res = await rpc(method, key, { id: theirs.id });
      expect(res.status, method).toBe(404);
      expect(connectError(res.json)).toMatchObject({ code: "not_found", message: `No job ${theirs.id}`, details: [{ debug: { code: "JOB_NOT_FOUND" } }] });
    }
    const list = await rpc("List", key, {});
    expect(list.json.jobs.map((j: { id: string }) => j.id)).not.toContain(theirs.id);
  });

  it("answers invalid_argument for a bad id, failed_precondition for a Confirm outside awaiting_confirmation", async () => {
    const { key } = await seedOrg();
    const bad = await rpc("Get", key, { id: "nope" });
    expect(bad.status).toBe(400);
    expect(connectError(bad.json).details[0].debug).toEqual({ code: "validation_error", message: "id: a job id (job_…)", field_violations: [{ field: "id", description: "a job id (job_…)" }] });
    const job = (await rpc("Create", key, managedJob())).json.job;
    const confirm = await rpc("Confirm", key, { id: job.id });
    expect(confirm.status).toBe(400);
    expect(connectError(confirm.json)).toEqual({
      code: "failed_precondition",
      message: "Cannot confirm a job that is pending",
      details: [{ type: "transcodely.v1.ErrorDetails", value: expect.any(String), debug: { code: "invalid_state", message: "Cannot confirm a job that is pending", field_violations: [] } }],
    });
  });

  it("answers invalid_argument, not a 500, for a message nested deeper than any request, in JSON and under Connect's framing", async () => {
    const { key } = await seedOrg();
    // Found by the fuzz suite: reading field names recursed once per level and overflowed the stack.
    const deep = (depth: number) => `{"id":"job_aaaaaaaaaaaaaaaaaaaa","metadata":{"a":"b"},"outputs":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    for (const method of ["Create", "Get", "Cancel", "Confirm", "List", "Watch"]) {
      const res = await call(`${JOB}/${method}`, { key, rawBody: deep(20_000) });
      expect(res.status, `${method}: ${res.text.slice(0, 200)}`).toBe(400);
      expect(connectError(res.json)).toMatchObject({ code: "invalid_argument", message: "the request message nests more than 32 levels deep", details: [{ debug: { code: "validation_error" } }] });
    }
    const framed = await exports.default.fetch(
      new Request(`https://kiln.test${JOB}/Watch`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/connect+json" },
        body: (() => {
          const json = new TextEncoder().encode(deep(20_000));
          const out = new Uint8Array(5 + json.length);
          new DataView(out.buffer).setUint32(1, json.length);
          out.set(json, 5);
          return out;
        })(),
      }),
    );
    const frames = envelopes(new Uint8Array(await framed.arrayBuffer()));
    expect(frames).toEqual([{ flags: 2, json: { error: expect.objectContaining({ code: "invalid_argument", message: "the request message nests more than 32 levels deep" }) } }]);
    // As deep as the limit is still read: refused for what it says, not for its depth.
    const atLimit = await call(`${JOB}/Create`, { key, rawBody: `{"input_url":"https://media.example.com/in.mp4","outputs":[${"[".repeat(30)}${"]".repeat(30)}]}` });
    expect(atLimit.status).toBe(400);
    expect(atLimit.json.message).not.toMatch(/levels deep/);
  });

  it("reads X-Organization-ID like /v1 and answers other paths and methods unimplemented", async () => {
    const extra = await seedBareOrg();
    const { key, orgId } = await seedOrg(undefined, [extra]);
    const stranger = await seedOrg();
    // A key of two organizations must say which; one of none of its organizations is refused.
    const unnamed = await rpc("List", key, {});
    expect(unnamed.status).toBe(400);
    expect(connectError(unnamed.json)).toMatchObject({ code: "invalid_argument", details: [{ debug: { code: "organization_required" } }] });
    const denied = await rpc("List", key, {}, { "x-organization-id": stranger.orgId });
    expect(denied.status).toBe(403);
    expect(connectError(denied.json).code).toBe("permission_denied");
    const job = (await rpc("Create", key, managedJob(), { "x-organization-id": extra })).json.job;
    expect((await rpc("List", key, {}, { "x-organization-id": extra })).json.jobs.map((j: { id: string }) => j.id)).toEqual([job.id]);
    expect((await rpc("List", key, {}, { "x-organization-id": orgId })).json.jobs).toEqual([]);
    const unknown = await rpc("Frobnicate", key, {}, { "x-organization-id": orgId });
    expect(unknown.status).toBe(501);
    expect(connectError(unknown.json).code).toBe("unimplemented");
    const get = await call(`${JOB}/Get`, { key, headers: { "x-organization-id": orgId } });
    expect(get.status).toBe(501);
  });
});

describe("Transcodely JobService: Get, List, Cancel, Confirm", () => {
  it("shows a finished job whole, with a stable output_url and a fresh signed_url", async () => {
    const { key } = await seedOrg();
    const created = (await rpc("Create", key, managedJob())).json.job;
    const order = await orderNumber<Order>(created.id);
    const bytes = await runToCompletion(order);
    const job = (await rpc("Get", key, { id: created.id })).json.job;
    expect(Object.keys(job)).toEqual(JOB_KEYS);
    expect(job).toMatchObject({
      status: "completed",
      progress: 100,
      input_metadata: { duration_ms: 2000, width: 320, height: 180, codec: "h264", bitrate_kbps: 400, framerate: 25, file_size_bytes: 100_000 },
      total_estimated_cost: expect.any(Number),
      total_actual_cost: expect.any(Number),
      execution: { probe_duration_ms: expect.any(Number), encode_duration_ms: expect.any(Number), total_duration_ms: expect.any(Number) },
      probed_at: expect.stringMatching(RFC3339),
      started_at: expect.stringMatching(RFC3339),
      completed_at: expect.stringMatching(RFC3339),
      confirmed_at: null,
    });
    const output = job.outputs[0];
    expect(output).toMatchObject({
      status: "completed",
      output_url: `kiln://jobs/${created.id}/outputs/${output.id}`,
      file_size_bytes: bytes.length,
      output_size_bytes: bytes.length,
      duration_seconds: 2,
      width: 1280,
      height: 720,
      progress: 100,
      completed_at: expect.stringMatching(RFC3339),
    });
    const download = await exports.default.fetch(new Request(output.signed_url));
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);
  });

  it("shows a /v1 job through Get in Transcodely's shape", async () => {
    const { key } = await seedOrg();
    const native = (await call("/v1/jobs", { key, body: videoJob({ metadata: { n: 3 }, priority: "economy" }) })).json;
    const res = await rpc("Get", key, { id: native.id });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.job)).toEqual(JOB_KEYS);
    expect(res.json.job).toMatchObject({ id: native.id, input_url: "https://media.example.com/in.mp4", priority: "economy", metadata: { n: "3" }, output_origin: null });
    expect(res.json.job.outputs[0]).toMatchObject({ type: "mp4", video: { codec: "h264", resolution: "unspecified", quality: "unspecified" } });
  });

  it("lists with status, statuses, time and metadata filters and cursor pages, never with signed_url", async () => {
    const { key } = await seedOrg();
    const a = (await rpc("Create", key, managedJob({ metadata: { team: "red", tier: "1" } }))).json.job;
    const b = (await rpc("Create", key, managedJob({ metadata: { team: "red", tier: "2" } }))).json.job;
    const c = (await rpc("Create", key, managedJob({ metadata: { team: "blue" } }))).json.job;
    await rpc("Cancel", key, { id: b.id });

    const all = await rpc("List", key, {});
    expect(all.status).toBe(200);
    expect(Object.keys(all.json)).toEqual(["jobs", "pagination"]);
    expect(all.json.jobs.map((j: { id: string }) => j.id)).toEqual([c.id, b.id, a.id]);
    expect(all.json.pagination).toEqual({ next_cursor: "", total_count: 3 });
    for (const job of all.json.jobs) {
      expect(Object.keys(job)).toEqual(JOB_KEYS);
      for (const output of job.outputs) expect(output).not.toHaveProperty("signed_url");
      for (const result of job.thumbnail_results) expect(result).not.toHaveProperty("signed_url");
    }

    const ids = (res: { json: { jobs: { id: string }[] } }) => res.json.jobs.map((j) => j.id);
    expect(ids(await rpc("List", key, { status: "canceled" }))).toEqual([b.id]);
    expect(ids(await rpc("List", key, { status: "JOB_STATUS_CANCELED" }))).toEqual([b.id]);
    expect(ids(await rpc("List", key, { statuses: ["pending", "canceled"], status: "failed" }))).toEqual([c.id, b.id, a.id]);
    expect(ids(await rpc("List", key, { metadata: { team: "red" } }))).toEqual([b.id, a.id]);
    expect(ids(await rpc("List", key, { metadata: { team: "red", tier: "1" } }))).toEqual([a.id]);
    expect(ids(await rpc("List", key, { created_after: b.created_at, created_before: b.created_at }))).toEqual([b.id]);
    expect(ids(await rpc("List", key, { createdAfter: "2999-01-01T00:00:00Z" }))).toEqual([]);

    const first = await rpc("List", key, { pagination: { limit: 2 } });
    expect(ids(first)).toEqual([c.id, b.id]);
    expect(first.json.pagination).toEqual({ next_cursor: expect.any(String), total_count: 3 });
    const second = await rpc("List", key, { pagination: { limit: 2, cursor: first.json.pagination.next_cursor } });
    expect(ids(second)).toEqual([a.id]);
    expect(second.json.pagination.next_cursor).toBe("");

    const bad = await rpc("List", key, { statuses: ["done"], pagination: { limit: 500 }, created_after: "yesterday" });
    expect(bad.status).toBe(400);
    expect(connectError(bad.json).details[0].debug.field_violations).toEqual([
      { field: "statuses[0]", description: "one of pending, probing, awaiting_confirmation, processing, completed, failed, canceled, partial" },
      { field: "pagination.limit", description: "0–100 (0: the default, 20)" },
      { field: "created_after", description: "an RFC 3339 timestamp such as 2025-02-28T10:00:00Z" },
    ]);
  });

  it("cancels a job and answers it canceled; a second cancel is failed_precondition", async () => {
    const { key } = await seedOrg();
    const job = (await rpc("Create", key, managedJob())).json.job;
    const res = await rpc("Cancel", key, { id: job.id });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.job)).toEqual(JOB_KEYS);
    expect(res.json.job).toMatchObject({ id: job.id, status: "canceled", completed_at: expect.stringMatching(RFC3339), total_actual_cost: null });
    expect(res.json.job.outputs[0].status).toBe("canceled");
    const again = await rpc("Cancel", key, { id: job.id });
    expect(again.status).toBe(400);
    expect(connectError(again.json).code).toBe("failed_precondition");
  });

  it("confirms a delayed-start job waiting with its estimate, and it runs", async () => {
    const { key } = await seedOrg();
    const job = (await rpc("Create", key, managedJob({ delayed_start: true }))).json.job;
    expect(job).toMatchObject({ delayed_start: true, status: "pending" });
    const first = await orderNumber<Order>(job.id, 1);
    expect(first.probe_only).toBe(true);
    expect((await probe(encoderFor(first))).directive).toBe("cancel");
    const waiting = (await rpc("Get", key, { id: job.id })).json.job;
    expect(waiting).toMatchObject({ status: "awaiting_confirmation", total_estimated_cost: expect.any(Number), probed_at: expect.stringMatching(RFC3339), confirmed_at: null });

    const confirmed = await rpc("Confirm", key, { id: job.id });
    expect(confirmed.status).toBe(200);
    expect(confirmed.json.job).toMatchObject({ id: job.id, status: "processing", delayed_start: true, confirmed_at: expect.stringMatching(RFC3339) });
    const second = await orderNumber<Order>(job.id, 2);
    expect(second.probe_only).toBe(false);
  });
});

describe("Transcodely JobService: Watch", () => {
  it("streams {result: {job, event, server_time}} lines from snapshot to completed", async () => {
    const { key } = await seedOrg();
    const job = (await rpc("Create", key, managedJob())).json.job;
    const order = await orderNumber<Order>(job.id);
    const res = await watchRequest(key, job.id, false);
    expect(res.status).toBe(200);
    const text = res.text();
    await runToCompletion(order, 250);
    const lines = (await text).trim().split("\n").map((l) => JSON.parse(l));
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(["result"]);
      expect(Object.keys(line.result)).toEqual(["job", "event", "server_time"]);
      expect(line.result.server_time).toMatch(RFC3339);
      expect(Object.keys(line.result.job)).toEqual(JOB_KEYS);
    }
    const events = lines.map((l) => l.result.event);
    expect(events[0]).toBe("snapshot");
    expect(events).toContain("progress");
    expect(events).toContain("status_change");
    expect(events.at(-1)).toBe("completed");
    const last = lines.at(-1).result.job;
    expect(last).toMatchObject({ status: "completed", progress: 100 });
    expect(last.outputs[0].signed_url).toMatch(/^https?:\/\/.+sig=/);
  });

  it("leaves out Kiln's playable event, which Transcodely does not have", async () => {
    const { key } = await seedOrg();
    // An HLS package plays once it completes at the latest: the native Watch says playable then.
    const job = (await rpc("Create", key, managedJob({ outputs: [{ type: "hls", video: [{ codec: "h264", resolution: "720p" }] }] }))).json.job;
    const order = await orderNumber<Order>(job.id);
    const native = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { authorization: `Bearer ${key}` } }));
    const res = await watchRequest(key, job.id, false);
    const [nativeText, text] = [native.text(), res.text()];
    await runToCompletion(order);
    expect((await nativeText).trim().split("\n").map((l) => JSON.parse(l).event)).toContain("playable");
    const events = (await text).trim().split("\n").map((l) => JSON.parse(l).result.event);
    expect(events.at(-1)).toBe("completed");
    expect(events).not.toContain("playable");
  });

  it("frames events as Connect envelopes and ends with the end-of-stream envelope", async () => {
    const { key } = await seedOrg();
    const job = (await rpc("Create", key, managedJob())).json.job;
    const order = await orderNumber<Order>(job.id);
    const res = await watchRequest(key, job.id, true);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/connect+json");
    const body = res.arrayBuffer();
    await runToCompletion(order, 250);
    const frames = envelopes(new Uint8Array(await body));
    const end = frames.pop()!;
    expect(end).toEqual({ flags: 2, json: {} });
    for (const frame of frames) {
      expect(frame.flags).toBe(0);
      expect(Object.keys(frame.json)).toEqual(["job", "event", "server_time"]);
    }
    expect(frames[0]!.json.event).toBe("snapshot");
    expect(frames.at(-1)!.json).toMatchObject({ event: "completed", job: { id: job.id, status: "completed" } });
  });

  it("reports a Watch of an unknown job in the end-of-stream envelope under Connect, as a 404 in JSON", async () => {
    const { key } = await seedOrg();
    const res = await watchRequest(key, "job_bbbbbbbbbbbbbbbbbbbb", true);
    expect(res.status).toBe(200);
    const frames = envelopes(new Uint8Array(await res.arrayBuffer()));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.flags).toBe(2);
    expect(frames[0]!.json.error).toMatchObject({ code: "not_found", message: "No job job_bbbbbbbbbbbbbbbbbbbb", details: [{ debug: { code: "JOB_NOT_FOUND" } }] });
    const json = await watchRequest(key, "job_bbbbbbbbbbbbbbbbbbbb", false);
    expect(json.status).toBe(404);
    expect(connectError(await json.json()).code).toBe("not_found");
  });
});
