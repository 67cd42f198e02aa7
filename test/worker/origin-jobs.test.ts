import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it, vi } from "vitest";
import { multipartCompletedSchema, signResponseSchema } from "../../encoder/contract";
import { app } from "../../worker/app";
import { call, seedOrg, videoJob, orderNumber } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/*
 * Jobs that read from and write to users' buckets, against a real S3 server on loopback
 * (s3rver, started by vitest.config.ts; it refuses unknown access key ids but does not
 * check signatures). Production mode lets origins and secrets use that one loopback
 * endpoint (TEST_ONLY_ALLOWED_S3_ENDPOINT). Every test makes its own buckets: s3rver on
 * Node 20 fails a listing that would be truncated (its continuation tokens use DES,
 * which OpenSSL 3 disables), and an origin's access check lists one key.
 */
const S3 = env.TEST_ONLY_ALLOWED_S3_ENDPOINT!;
const CREDENTIALS = S3_TEST_CREDENTIALS;
const s3 = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });

const unique = () => crypto.randomUUID().slice(0, 8);

/** A fresh, empty bucket. */
async function newBucket(): Promise<string> {
  const name = `kiln-${unique()}`;
  const res = await s3.fetch(`${S3}/${name}`, { method: "PUT" });
  expect(res.status).toBe(200);
  return name;
}

async function putObject(bucket: string, key: string, body: string): Promise<void> {
  const res = await s3.fetch(`${S3}/${bucket}/${key}`, { method: "PUT", body });
  expect(res.status).toBe(200);
}

/** A body as text, whatever its Content-Type says. */
const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

async function getObject(bucket: string, key: string): Promise<string> {
  const res = await s3.fetch(`${S3}/${bucket}/${key}`);
  expect(res.status).toBe(200);
  return text(res);
}

async function createOrigin(key: string, fields: { bucket?: string; path?: string; permissions?: string[]; provider?: string } = {}) {
  const res = await call("/v1/origins", {
    key,
    body: { name: "test", provider: "s3", bucket: fields.bucket ?? (await newBucket()), endpoint: S3, credentials: CREDENTIALS, permissions: ["read", "write"], ...fields },
  });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string; bucket: string; path: string | null };
}

async function createSecret(key: string, fields: Record<string, unknown> = {}) {
  const res = await call("/v1/secrets", { key, body: { name: `keys-${unique()}`, credentials: CREDENTIALS, endpoint: S3, ...fields } });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string; name: string };
}

async function createJob(key: string, body: Record<string, unknown>) {
  const res = await call("/v1/jobs", { key, body });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function expectRefused(key: string, body: Record<string, unknown>, status: number, code: string, message?: RegExp) {
  const res = await call("/v1/jobs", { key, body });
  expect(res.status, res.text).toBe(status);
  expect(res.json.error.code).toBe(code);
  if (message) expect(res.json.error.message).toMatch(message);
  return res.json;
}

const job = (extra: Record<string, unknown>) => {
  const { input: _input, ...rest } = videoJob();
  return { ...rest, ...extra };
};

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  input: { url: string };
  tasks: { task_id: string; output_id: string; spec: { subtitles?: { url: string; language: string }[] } }[];
}

const orderFor = (jobId: string, n = 1) => orderNumber<Order>(jobId, n);

async function waitForStatus(key: string, jobId: string, status: string) {
  let view: any;
  await vi.waitFor(async () => {
    view = (await call(`/v1/jobs/${jobId}`, { key })).json;
    expect(view.status).toBe(status);
  }, { timeout: 8000, interval: 50 });
  return view;
}

describe("creating a job that reads from or writes to a bucket", () => {
  it("takes input_origin_id + input_path and output_origin_id, and shows them", async () => {
    const { key } = await seedOrg();
    const input = await createOrigin(key, { path: "incoming", permissions: ["read"] });
    const output = await createOrigin(key, { permissions: ["write"] });
    const created = await createJob(key, job({ input_origin_id: input.id, input_path: "a/clip.mp4", output_origin_id: output.id }));
    expect(created).toMatchObject({ input: null, input_origin_id: input.id, input_path: "a/clip.mp4", output: null, output_origin_id: output.id });
    expect(created.outputs[0]).toMatchObject({ location: null, output_url: null });
  });

  it("finds the org's origin for s3://bucket/key by bucket, provider and path", async () => {
    const { key } = await seedOrg();
    const { bucket } = await createOrigin(key, { path: "incoming" });
    const created = await createJob(key, job({ input: `s3://${bucket}/incoming/clip.mp4`, output: `s3://${bucket}/incoming/renders/` }));
    expect(created).toMatchObject({ input: `s3://${bucket}/incoming/clip.mp4`, output: `s3://${bucket}/incoming/renders/` });
  });

  it("takes VTK's s3://{secret}@bucket/key for input and output", async () => {
    const { key } = await seedOrg();
    const secret = await createSecret(key);
    await createJob(key, job({ input: `s3://{${secret.name}}@kiln-in/clip.mp4`, output: `s3://{${secret.name}}@kiln-out/out/{job_id}/` }));
  });

  it("refuses an origin or secret that does not exist for this organization with 422", async () => {
    const mine = await seedOrg();
    const theirs = await seedOrg();
    const theirOrigin = await createOrigin(theirs.key);
    const theirSecret = await createSecret(theirs.key);
    const gone = await createOrigin(mine.key);
    expect((await call(`/v1/origins/${gone.id}`, { key: mine.key, method: "DELETE" })).status).toBe(200);

    await expectRefused(mine.key, job({ input_origin_id: "ori_doesnotexist00000000", input_path: "a.mp4" }), 422, "origin_not_found");
    await expectRefused(mine.key, job({ input_origin_id: theirOrigin.id, input_path: "a.mp4" }), 422, "origin_not_found");
    await expectRefused(mine.key, videoJob({ output_origin_id: theirOrigin.id }), 422, "origin_not_found");
    await expectRefused(mine.key, videoJob({ output_origin_id: gone.id }), 422, "origin_not_found");
    await expectRefused(mine.key, job({ input: `s3://${gone.bucket}/a.mp4` }), 422, "origin_not_found", /POST \/v1\/origins/);
    await expectRefused(mine.key, job({ input: `s3://${theirOrigin.bucket}/a.mp4` }), 422, "origin_not_found");
    await expectRefused(mine.key, job({ input: `s3://{${theirSecret.name}}@kiln-in/a.mp4` }), 422, "secret_not_found");
    await expectRefused(mine.key, videoJob({ output: "s3://{no-such-keys}@kiln-out/out/" }), 422, "secret_not_found");
  });

  it("refuses a key outside the origin's path and a scheme its provider does not speak", async () => {
    const { key } = await seedOrg();
    const { bucket } = await createOrigin(key, { path: "incoming" });
    await expectRefused(key, job({ input: `s3://${bucket}/elsewhere/a.mp4` }), 422, "origin_not_found");
    await expectRefused(key, job({ input: `s3://${bucket}/incoming-not/a.mp4` }), 422, "origin_not_found");
    await expectRefused(key, job({ input: `gs://${bucket}/incoming/a.mp4` }), 422, "origin_not_found");
    await expectRefused(key, videoJob({ output: `s3://${bucket}/` }), 422, "origin_not_found");
  });

  it("refuses an origin that is not granted what the job needs", async () => {
    const { key } = await seedOrg();
    const readOnly = await createOrigin(key, { permissions: ["read"] });
    const writeOnly = await createOrigin(key, { permissions: ["write"] });
    await expectRefused(key, videoJob({ output_origin_id: readOnly.id }), 422, "origin_permission_denied", /not granted write/);
    await expectRefused(key, job({ input_origin_id: writeOnly.id, input_path: "a.mp4" }), 422, "origin_permission_denied", /not granted read/);
    await expectRefused(key, job({ input: `s3://${writeOnly.bucket}/a.mp4` }), 422, "origin_permission_denied");
    await expectRefused(key, videoJob({ output: `s3://${readOnly.bucket}/renders/` }), 422, "origin_permission_denied");
  });

  it("refuses r2:// with a secret that has no endpoint", async () => {
    const { key } = await seedOrg();
    const secret = await createSecret(key, { endpoint: undefined });
    await expectRefused(key, videoJob({ output: `r2://{${secret.name}}@kiln-out/out/` }), 422, "validation_error", /endpoint/);
  });

  it("needs origins:get or secrets:get on what the job uses", async () => {
    const owner = await seedOrg();
    const origin = await createOrigin(owner.key);
    const secret = await createSecret(owner.key);
    const jobsOnly = await seedOrg([{ effect: "allow", actions: ["jobs:*"], resources: ["*"] }], [owner.orgId]);
    const headers = { "x-organization-id": owner.orgId };
    for (const body of [videoJob({ output_origin_id: origin.id }), videoJob({ output: `s3://${origin.bucket}/x/` }), videoJob({ output: `s3://{${secret.name}}@kiln-out/x/` })]) {
      const res = await call("/v1/jobs", { key: jobsOnly.key, headers, body });
      expect(res.status, res.text).toBe(403);
      expect(res.json.error.code).toBe("forbidden");
    }
  });

  it("looks origins up again on resubmit", async () => {
    const { key } = await seedOrg();
    const origin = await createOrigin(key);
    const first = await createJob(key, videoJob({ output_origin_id: origin.id }));
    await call(`/v1/origins/${origin.id}`, { key, method: "DELETE" });
    const res = await call(`/v1/jobs/${first.id}/resubmit`, { key, method: "POST" });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("origin_not_found");
  });

  const invalid: [string, Record<string, unknown>, string, string][] = [
    ["input and input_origin_id", videoJob({ input_origin_id: "ori_abc", input_path: "a.mp4" }), "validation_error", "input_origin_id"],
    ["input_origin_id without input_path", job({ input_origin_id: "ori_abc" }), "validation_error", "input_path"],
    ["input_path without input_origin_id", videoJob({ input_path: "a.mp4" }), "validation_error", "input_path"],
    ["an input_path with ..", job({ input_origin_id: "ori_abc", input_path: "a/../b.mp4" }), "validation_error", "input_path"],
    ["an input_path with a leading /", job({ input_origin_id: "ori_abc", input_path: "/a.mp4" }), "validation_error", "input_path"],
    ["an input_origin_id of the wrong form", job({ input_origin_id: "origin_1", input_path: "a.mp4" }), "validation_error", "input_origin_id"],
    ["neither input nor input_origin_id", job({}), "input_required", "input"],
    ["an s3:// input naming a folder", job({ input: "s3://kiln-in/folder/" }), "invalid_input", "input"],
    ["an s3:// input with a bad secret name", job({ input: "s3://{bad name}@kiln-in/a.mp4" }), "invalid_input", "input"],
    ["an output with an unknown variable", videoJob({ output: "s3://kiln-out/{name}/" }), "validation_error", "output"],
    ["an output with a .. segment", videoJob({ output: "s3://kiln-out/a/../b/" }), "validation_error", "output"],
    ["an exact output key with a path template", videoJob({ output: "s3://kiln-out/a.mp4", output_path_template: "{job_id}.mp4" }), "validation_error", "output_path_template"],
    ["an exact output key with thumbnails", videoJob({ output: "s3://kiln-out/a.mp4", thumbnails: [{ count: 1 }] }), "validation_error", "output"],
    ["an exact output key for an HLS package", job({ input: "https://media.example.com/in.mp4", kind: "adaptive_video", options: {}, output: "s3://kiln-out/a.m3u8" }), "validation_error", "output"],
    [
      "an exact output key for two outputs",
      { input: "https://media.example.com/in.mp4", outputs: [{ type: "mp4", video: [{ codec: "h264" }] }, { type: "webm", video: [{ codec: "vp9" }] }], output: "s3://kiln-out/a.mp4" },
      "validation_error",
      "output",
    ],
  ];
  it.each(invalid)("rejects %s (400 %s, before any lookup)", async (_label, body, code, path) => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
  });
});

describe("dispatching a job with a bucket input", { timeout: 20_000 }, () => {
  it("hands the encoder a presigned GET URL of the object under the origin's path", async () => {
    const { key } = await seedOrg();
    const origin = await createOrigin(key, { path: `incoming-${unique()}`, permissions: ["read"] });
    await putObject(origin.bucket, `${origin.path}/clip.mp4`, "fake media bytes");
    const created = await createJob(key, job({ input_origin_id: origin.id, input_path: "clip.mp4" }));
    const order = await orderFor(created.id);
    const url = new URL(order.input.url);
    expect(url.origin).toBe(S3);
    expect(url.pathname).toBe(`/${origin.bucket}/${origin.path}/clip.mp4`);
    expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^S3RVER\/\d{8}\/us-east-1\/s3\/aws4_request$/);
    expect(url.searchParams.get("X-Amz-Expires")).toBe(String(6 * 3600));
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    const res = await fetch(order.input.url);
    expect(res.status).toBe(200);
    expect(await text(res)).toBe("fake media bytes");
  });

  it("signs an s3://{secret}@ input with the secret's credentials and endpoint", async () => {
    const { key } = await seedOrg();
    const secret = await createSecret(key, { region: "eu-central-1" });
    const bucket = await newBucket();
    await putObject(bucket, "in/clip.mp4", "bytes via a secret");
    const created = await createJob(key, job({ input: `s3://{${secret.name}}@${bucket}/in/clip.mp4` }));
    const order = await orderFor(created.id);
    expect(order.input.url.startsWith(`${S3}/${bucket}/in/clip.mp4?`)).toBe(true);
    expect(new URL(order.input.url).searchParams.get("X-Amz-Credential")).toMatch(/^S3RVER\/\d{8}\/eu-central-1\/s3\/aws4_request$/);
    expect(await text(await fetch(order.input.url))).toBe("bytes via a secret");
  });

  it("presigns subtitle files named by bucket URI, and refuses one no origin holds", async () => {
    const { key } = await seedOrg();
    const origin = await createOrigin(key, { path: `subs-${unique()}`, permissions: ["read"] });
    await putObject(origin.bucket, `${origin.path}/en.vtt`, "WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n");
    const ladder = (source: string) => ({
      input: "https://media.example.com/in.mp4",
      outputs: [{ type: "hls", video: [{ codec: "h264", resolution: "480p" }], subtitle_tracks: [{ source, language: "en" }] }],
    });
    const created = await createJob(key, ladder(`s3://${origin.bucket}/${origin.path}/en.vtt`));
    const order = await orderFor(created.id);
    const subtitle = order.tasks[0]!.spec.subtitles![0]!;
    expect(subtitle.language).toBe("en");
    expect(subtitle.url.startsWith(`${S3}/${origin.bucket}/${origin.path}/en.vtt?`)).toBe(true);
    expect(new URL(subtitle.url).searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(await text(await fetch(subtitle.url))).toContain("Hello");

    const nowhere = await call("/v1/jobs", { key, body: ladder(`s3://${await newBucket()}/en.vtt`) });
    expect(nowhere.status).toBe(422);
    expect(nowhere.json.error.code).toBe("origin_not_found");
  });

  const deleted: [string, (key: string) => Promise<{ body: Record<string, unknown>; remove: () => Promise<unknown> }>, string][] = [
    [
      "the input origin",
      async (key) => {
        const origin = await createOrigin(key, { permissions: ["read"] });
        return { body: job({ input_origin_id: origin.id, input_path: "a.mp4" }), remove: () => call(`/v1/origins/${origin.id}`, { key, method: "DELETE" }) };
      },
      "origin_not_found",
    ],
    [
      "the output origin",
      async (key) => {
        const origin = await createOrigin(key, { permissions: ["write"] });
        return { body: videoJob({ output_origin_id: origin.id }), remove: () => call(`/v1/origins/${origin.id}`, { key, method: "DELETE" }) };
      },
      "origin_not_found",
    ],
    [
      "the input secret",
      async (key) => {
        const secret = await createSecret(key);
        return { body: job({ input: `s3://{${secret.name}}@kiln-in/a.mp4` }), remove: () => call(`/v1/secrets/${secret.id}`, { key, method: "DELETE" }) };
      },
      "secret_not_found",
    ],
  ];
  it.each(deleted)("fails the job before encoding when %s was deleted since creation", async (_label, setup, code) => {
    const { key } = await seedOrg();
    const { body, remove } = await setup(key);
    const created = await createJob(key, body);
    await orderFor(created.id);
    // A restart dispatches a fresh attempt, which looks the origin or secret up again.
    await call(`/v1/jobs/${created.id}/cancel`, { key, method: "POST" });
    await remove();
    expect((await call(`/v1/jobs/${created.id}/restart`, { key, method: "POST" })).status).toBe(200);
    const failed = await waitForStatus(key, created.id, "failed");
    expect(failed.error.code).toBe(code);
    expect((await (await fetch(`${env.ENCODER_URL}/orders/${created.id}`)).json()) as unknown[]).toHaveLength(1);
  });
});

/** Plays the encoder's export: asks for upload URLs, PUTs the bytes, reports the output. */
async function exportAs(order: Order, files: { output_id: string; path: string; body: string }[]) {
  const signed = await call(`/internal/jobs/${order.job_id}/sign`, {
    headers: { authorization: `Bearer ${order.lease_token}` },
    body: { job_id: order.job_id, attempt: order.attempt, files: files.map((f) => ({ output_id: f.output_id, path: f.path, content_type: "video/mp4", size_bytes: f.body.length })) },
  });
  return signed;
}

async function complete(order: Order, main: { output_id: string; path: string; body: string }) {
  let seq = 0;
  const send = (body: Record<string, unknown>) =>
    call(`/internal/jobs/${order.job_id}/events`, {
      headers: { authorization: `Bearer ${order.lease_token}` },
      body: { v: 1, job_id: order.job_id, attempt: order.attempt, seq: seq++, at: new Date().toISOString(), ...body },
    });
  const sha = "b".repeat(64);
  await send({ type: "task_started", stage: "import", task_id: null });
  await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
  await send({ type: "task_started", stage: "encode", task_id: order.tasks[0]!.task_id });
  await send({
    type: "task_completed",
    stage: "encode",
    task_id: order.tasks[0]!.task_id,
    output: {
      output_id: main.output_id,
      main: main.path,
      files: [{ path: main.path, content_type: "video/mp4", size_bytes: main.body.length, sha256: sha }],
      size_bytes: main.body.length,
      duration_ms: 1000,
      width: 640,
      height: 360,
      codec: "h264",
      sha256: sha,
    },
  });
  await send({ type: "job_completed" });
}

describe("exporting to a bucket", { timeout: 20_000 }, () => {
  it("signs PUTs at the path template's key in the origin, and shows the output's location and a presigned GET", async () => {
    const { key } = await seedOrg();
    const origin = await createOrigin(key, { path: "renders" });
    const created = await createJob(key, videoJob({ output_origin_id: origin.id, output_path_template: "{date}/{job_id}/{codec}-{resolution}.{format}" }));
    const order = await orderFor(created.id);
    const outputId = order.tasks[0]!.output_id;
    const file = { output_id: outputId, path: `${outputId}.mp4`, body: "encoded bytes" };
    const signed = await exportAs(order, [file]);
    expect(signed.status, signed.text).toBe(200);
    const expectedKey = `${origin.path}/${created.created_at.slice(0, 10)}/${created.id}/h264-640w.mp4`;
    const upload = signed.json.uploads[0];
    expect(upload).toMatchObject({ path: file.path, method: "PUT" });
    expect(upload.url.startsWith(`${S3}/${origin.bucket}/${expectedKey}?`)).toBe(true);
    expect(new URL(upload.url).searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect((await fetch(upload.url, { method: "PUT", body: file.body, headers: { "content-type": "video/mp4" } })).status).toBe(200);
    expect(await getObject(origin.bucket, expectedKey)).toBe(file.body);

    await complete(order, file);
    const view = await waitForStatus(key, created.id, "completed");
    expect(view.outputs[0].location).toBe(`s3://${origin.bucket}/${expectedKey}`);
    expect(view.outputs[0].output_url.startsWith(`${S3}/${origin.bucket}/${expectedKey}?`)).toBe(true);
    expect(await text(await fetch(view.outputs[0].output_url))).toBe(file.body);
  });

  it("plans a large file in parts on the origin (presigned UploadPart URLs) and completes it there", async () => {
    const MIB = 1024 * 1024;
    const bindings = { ...env, MULTIPART_THRESHOLD_BYTES: String(6 * MIB), MULTIPART_PART_BYTES: String(5 * MIB) };
    const internal = async (path: string, order: Order, body: unknown) => {
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request(`https://kiln.test/internal/jobs/${order.job_id}/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${order.lease_token}` },
          body: JSON.stringify(body),
        }),
        bindings,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    };
    const { key } = await seedOrg();
    const origin = await createOrigin(key, { path: "renders" });
    const created = await createJob(key, videoJob({ output_origin_id: origin.id }));
    const order = await orderFor(created.id);
    const outputId = order.tasks[0]!.output_id;
    const data = new Uint8Array(11 * MIB + 77).map((_, i) => (i * 31) % 251);
    const file = { output_id: outputId, path: `${outputId}.mp4`, content_type: "video/mp4", size_bytes: data.byteLength };
    const signedRes = await internal("sign", order, { job_id: order.job_id, attempt: order.attempt, multipart: true, files: [file] });
    expect(signedRes.status).toBe(200);
    const plan = signResponseSchema.parse(await signedRes.json()).uploads[0]!;
    if (plan.kind !== "multipart") throw new Error("expected a multipart plan");
    expect(plan.output_id).toBe(outputId);
    expect(plan.parts.map((p) => p.size_bytes)).toEqual([5 * MIB, 5 * MIB, MIB + 77]);
    const parts = [];
    for (const part of plan.parts) {
      const url = new URL(part.url);
      expect(url.href.startsWith(`${S3}/${origin.bucket}/renders/${file.path}?`)).toBe(true);
      expect([url.searchParams.get("partNumber"), url.searchParams.get("uploadId")]).toEqual([String(part.part_number), plan.upload_id]);
      const put = await fetch(part.url, { method: "PUT", body: data.slice(part.offset, part.offset + part.size_bytes) });
      expect(put.status).toBe(200);
      parts.push({ part_number: part.part_number, etag: put.headers.get("etag")! });
    }
    const target = { job_id: order.job_id, attempt: order.attempt, output_id: plan.output_id, path: plan.path, upload_id: plan.upload_id };
    const done = await internal("multipart/complete", order, { ...target, parts });
    expect(done.status).toBe(200);
    expect(multipartCompletedSchema.parse(await done.json())).toEqual({ path: file.path, size_bytes: data.byteLength });
    const stored = new Uint8Array(await (await s3.fetch(`${S3}/${origin.bucket}/renders/${file.path}`)).arrayBuffer());
    expect(stored.byteLength).toBe(data.byteLength);
    expect(stored.every((b, i) => b === data[i])).toBe(true);
  });

  it("gives no output_url for an output in a write-only origin, only its location", async () => {
    const { key } = await seedOrg();
    const { bucket } = await createOrigin(key, { permissions: ["write"] });
    const created = await createJob(key, videoJob({ output: `s3://${bucket}/renders/` }));
    const order = await orderFor(created.id);
    const outputId = order.tasks[0]!.output_id;
    const file = { output_id: outputId, path: `${outputId}.mp4`, body: "x" };
    const upload = (await exportAs(order, [file])).json.uploads[0];
    expect(new URL(upload.url).pathname).toBe(`/${bucket}/renders/${file.path}`);
    expect((await fetch(upload.url, { method: "PUT", body: file.body })).status).toBe(200);
    expect(await getObject(bucket, `renders/${file.path}`)).toBe(file.body);
    await complete(order, file);
    const view = await waitForStatus(key, created.id, "completed");
    expect(view.outputs[0].location).toBe(`s3://${bucket}/renders/${file.path}`);
    expect(view.outputs[0].output_url).toBeNull();
  });

  it("writes an exact key through a secret", async () => {
    const { key } = await seedOrg();
    const secret = await createSecret(key);
    const created = await createJob(key, videoJob({ output: `s3://{${secret.name}}@kiln-out/exact/{job_id}.mp4` }));
    const order = await orderFor(created.id);
    const outputId = order.tasks[0]!.output_id;
    const upload = (await exportAs(order, [{ output_id: outputId, path: `${outputId}.mp4`, body: "y" }])).json.uploads[0];
    expect(new URL(upload.url).pathname).toBe(`/kiln-out/exact/${created.id}.mp4`);
  });

  it("applies the template in managed storage under the job's prefix", async () => {
    const { key } = await seedOrg();
    const created = await createJob(key, videoJob({ output_path_template: "renditions/{quality}/{output_id}.{format}" }));
    const order = await orderFor(created.id);
    const outputId = order.tasks[0]!.output_id;
    const upload = (await exportAs(order, [{ output_id: outputId, path: `${outputId}.mp4`, body: "z" }])).json.uploads[0];
    expect(new URL(upload.url).pathname).toBe(`/storage/jobs/${created.id}/renditions/high/${outputId}.mp4`);
  });

  it("refuses files the template would put at one key, and an output the job does not have", async () => {
    const { key } = await seedOrg();
    const created = await createJob(key, videoJob({ output_path_template: "same.bin", thumbnails: [{ count: 1 }] }));
    const order = await orderFor(created.id);
    const [video, thumbnail] = created.outputs.map((o: { id: string }) => o.id);
    const clash = await exportAs(order, [
      { output_id: video, path: `${video}.mp4`, body: "a" },
      { output_id: thumbnail, path: `${thumbnail}.jpeg`, body: "b" },
    ]);
    expect(clash.status).toBe(400);
    expect(clash.json.error.message).toMatch(/already placed at jobs\/.*\/same\.bin/);
    const stranger = await exportAs(order, [{ output_id: "out_notinthisjob000000", path: "out_notinthisjob000000.mp4", body: "c" }]);
    expect(stranger.status).toBe(400);
  });

  it("answers 422 origin_not_found when the origin is deleted before export", async () => {
    const { key } = await seedOrg();
    const origin = await createOrigin(key);
    const created = await createJob(key, videoJob({ output_origin_id: origin.id }));
    const order = await orderFor(created.id);
    await call(`/v1/origins/${origin.id}`, { key, method: "DELETE" });
    const outputId = order.tasks[0]!.output_id;
    const signed = await exportAs(order, [{ output_id: outputId, path: `${outputId}.mp4`, body: "a" }]);
    expect(signed.status).toBe(422);
    expect(signed.json.error.code).toBe("origin_not_found");
  });
});
