import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type S3Server, startS3Server } from "../worker/s3-server";
import { type E2EStack, bootStack, download, ffprobeJson, saveTemp, until } from "./harness";

/*
 * Every example of the Transcodely Job seed (002) replayed through the whole local stack:
 * the same requests, changing only the base URL, the key, the organization and origin
 * ids and the input (a 2 s 320×180 clip in a loopback S3 bucket, which is also the
 * output origin). Each job is followed to its end through the dialect's own Get and its
 * output ffprobed where the job wrote it.
 */
let stack: E2EStack;
let s3: S3Server;
let origin: { id: string; name: string };
const BUCKET = "tc-e2e";
const INPUT_KEY = "uploads/video.mp4";
const aws = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const TERMINAL = ["completed", "failed", "canceled", "partial"];

/** A 2-second 320×180 H.264 clip, the seed's input made small. */
function smallClip(): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-tc-")), "video.mp4");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25", file]);
  return file;
}

beforeAll(async () => {
  [stack, s3] = await Promise.all([bootStack(), startS3Server([BUCKET])]);
  const put = await aws.fetch(`${s3.url}/${BUCKET}/${INPUT_KEY}`, { method: "PUT", body: readFileSync(smallClip()), headers: { "content-type": "video/mp4" } });
  expect(put.status).toBe(200);
  // The output origin, made through /v1 (OriginService is another part of the dialect).
  const created = await stack.api("/v1/origins", {
    body: { name: "Production S3 Bucket", provider: "s3", bucket: BUCKET, endpoint: s3.url, credentials: S3_TEST_CREDENTIALS, permissions: ["read", "write"] },
  });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  origin = created.json;
}, 180_000);
afterAll(async () => {
  await s3?.close();
  await stack?.stop();
});

/** The seed's curl: POST, the Bearer key, X-Organization-ID and a JSON body. */
function transcodely(method: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${stack.url}/transcodely.v1.JobService/${method}`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.devKey}`, "x-organization-id": stack.devOrg, "content-type": "application/json", ...headers },
    body: body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

async function call(method: string, body: unknown) {
  const res = await transcodely(method, body);
  return { status: res.status, json: (await res.json()) as any };
}

const getJob = async (id: string) => (await call("Get", { id })).json.job;
const jobEnded = (id: string, statuses = TERMINAL) => until(`job ${id} to be ${statuses.join("/")}`, () => getJob(id), (job) => statuses.includes(job.status), 120_000);

/** The seed's Create body with the input and output origin made local. */
const seedCreate = () => ({
  input_url: `s3://${BUCKET}/${INPUT_KEY}`,
  output_origin_id: origin.id,
  outputs: [{ type: "mp4", video: [{ codec: "h264", resolution: "1080p", quality: "standard" }] }],
  priority: "standard",
});

/** What the job wrote, read from the bucket by its output_url, ffprobed. */
async function probeOutput(outputUrl: string) {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(outputUrl);
  expect(match, outputUrl).not.toBeNull();
  expect(match![1]).toBe(BUCKET);
  const res = await aws.fetch(`${s3.url}/${BUCKET}/${match![2]}`);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const probed = ffprobeJson(saveTemp(bytes, "out.mp4"));
  const video = probed.streams.find((s: { codec_type: string }) => s.codec_type === "video");
  return { bytes, probed, video };
}

/** A finished mp4 output of the 320×180 clip: H.264, the source's size (1080p is capped at it), 2 s. */
async function expectRealOutput(output: any) {
  const { bytes, probed, video } = await probeOutput(output.output_url);
  expect(video.codec_name).toBe("h264");
  expect([video.width, video.height]).toEqual([320, 180]);
  expect(Number(probed.format.duration)).toBeCloseTo(2, 0);
  expect(output.file_size_bytes).toBe(bytes.length);
  // The signed URL is the same object, fetchable without credentials.
  expect((await download(output.signed_url)).equals(bytes)).toBe(true);
}

describe("Transcodely's Job examples, replayed", () => {
  let createdId: string;

  it("Create: answers {job} pending, with the output origin as the seed shows it", async () => {
    const res = await transcodely("Create", seedCreate());
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(Object.keys(body)).toEqual(["job"]);
    const { job } = body;
    createdId = job.id;
    expect(job).toMatchObject({
      id: expect.stringMatching(/^job_/),
      input_url: `s3://${BUCKET}/${INPUT_KEY}`,
      input_origin: null,
      output_origin: { id: origin.id, name: "Production S3 Bucket", provider: "s3", path: "", bucket: BUCKET },
      status: "pending",
      progress: 0,
      priority: "standard",
      input_metadata: null,
      metadata: {},
      delayed_start: false,
      currency: "EUR",
      execution: null,
      created_at: expect.stringMatching(RFC3339),
      updated_at: expect.stringMatching(RFC3339),
    });
    // The seed's keys in the seed's order; Kiln plans the outputs at creation, so they show at once.
    expect(Object.keys(job).slice(0, 25)).toEqual([
      "id", "input_url", "input_origin", "output_origin", "status", "progress", "priority", "input_metadata", "outputs", "thumbnails",
      "total_estimated_cost", "total_actual_cost", "error_code", "error_message", "webhook_url", "metadata", "delayed_start", "currency",
      "execution", "created_at", "updated_at", "probed_at", "started_at", "completed_at", "confirmed_at",
    ]);
    expect(job.outputs).toEqual([expect.objectContaining({ id: expect.stringMatching(/^out_/), type: "mp4", status: "pending", video: { codec: "h264", resolution: "1080p", quality: "standard" }, output_url: "" })]);
  });

  it("Get: follows the job to completed and shows it as the seed does; the output is real", async () => {
    const job = await jobEnded(createdId);
    const res = await call("Get", { id: createdId });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual(["job"]);
    expect(job).toMatchObject({
      id: createdId,
      input_url: `s3://${BUCKET}/${INPUT_KEY}`,
      input_origin: null,
      output_origin: { id: origin.id, name: "Production S3 Bucket", provider: "s3", path: "", bucket: BUCKET },
      status: "completed",
      progress: 100,
      priority: "standard",
      input_metadata: { duration_ms: expect.any(Number), width: 320, height: 180, codec: "h264", bitrate_kbps: expect.any(Number), framerate: 25, file_size_bytes: expect.any(Number) },
      total_estimated_cost: expect.any(Number),
      total_actual_cost: expect.any(Number),
      error_code: "",
      error_message: "",
      webhook_url: "",
      metadata: {},
      delayed_start: false,
      currency: "EUR",
      execution: { probe_duration_ms: expect.any(Number), encode_duration_ms: expect.any(Number), total_duration_ms: expect.any(Number) },
      created_at: expect.stringMatching(RFC3339),
      updated_at: expect.stringMatching(RFC3339),
      probed_at: expect.stringMatching(RFC3339),
      started_at: expect.stringMatching(RFC3339),
      completed_at: expect.stringMatching(RFC3339),
      confirmed_at: null,
    });
    expect(job.input_metadata.duration_ms).toBeGreaterThanOrEqual(1900);
    expect(job.outputs).toHaveLength(1);
    const output = job.outputs[0];
    expect(output).toMatchObject({
      id: expect.stringMatching(/^out_/),
      type: "mp4",
      status: "completed",
      video: { codec: "h264", resolution: "1080p", quality: "standard" },
      output_url: `s3://${BUCKET}/${output.id}.mp4`,
      file_size_bytes: expect.any(Number),
      signed_url: expect.stringMatching(/^http/),
    });
    await expectRealOutput(output);
  });

  let confirmedId: string;
  let canceledId: string;

  it("Confirm: a delayed-start job waits after its probe, then Confirm answers it processing", async () => {
    const created = await call("Create", { ...seedCreate(), delayed_start: true });
    expect(created.status).toBe(200);
    confirmedId = created.json.job.id;
    const waiting = await jobEnded(confirmedId, ["awaiting_confirmation", ...TERMINAL]);
    expect(waiting).toMatchObject({ status: "awaiting_confirmation", total_estimated_cost: expect.any(Number), confirmed_at: null });
    // With the encoder stopped the confirmed job stays processing: what List's example filters on.
    await stack.killEncoder();
    const res = await transcodely("Confirm", { id: confirmedId });
    expect(res.status).toBe(200);
    const { job } = (await res.json()) as any;
    expect(job).toMatchObject({
      id: confirmedId,
      input_url: `s3://${BUCKET}/${INPUT_KEY}`,
      status: "processing",
      progress: 0,
      priority: "standard",
      delayed_start: true,
      created_at: expect.stringMatching(RFC3339),
      updated_at: expect.stringMatching(RFC3339),
      confirmed_at: expect.stringMatching(RFC3339),
    });
  });

  it("List: the seed's status filter and page, without signed URLs", async () => {
    const res = await transcodely("List", { status: "processing", pagination: { limit: 20 } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(Object.keys(body)).toEqual(["jobs", "pagination"]);
    expect(body.jobs.map((j: { id: string }) => j.id)).toEqual([confirmedId]);
    expect(body.jobs[0]).toMatchObject({ id: confirmedId, input_url: `s3://${BUCKET}/${INPUT_KEY}`, status: "processing", progress: expect.any(Number), priority: "standard", created_at: expect.stringMatching(RFC3339), updated_at: expect.stringMatching(RFC3339) });
    expect(body.jobs[0].outputs[0]).not.toHaveProperty("signed_url");
    expect(body.pagination).toEqual({ next_cursor: "", total_count: 1 });
    const all = (await call("List", {})).json;
    expect(all.jobs.map((j: { id: string }) => j.id)).toEqual([confirmedId, createdId]);
  });

  it("Cancel: a pending job answers canceled, with completed_at", async () => {
    const created = await call("Create", seedCreate());
    canceledId = created.json.job.id;
    const res = await transcodely("Cancel", { id: canceledId });
    expect(res.status).toBe(200);
    const { job } = (await res.json()) as any;
    expect(job).toMatchObject({
      id: canceledId,
      input_url: `s3://${BUCKET}/${INPUT_KEY}`,
      status: "canceled",
      progress: 0,
      priority: "standard",
      created_at: expect.stringMatching(RFC3339),
      updated_at: expect.stringMatching(RFC3339),
      completed_at: expect.stringMatching(RFC3339),
    });
    expect((await getJob(canceledId)).status).toBe("canceled");
  });

  it("the confirmed job runs once the encoder is back, to a real output", async () => {
    await stack.startEncoder();
    const job = await jobEnded(confirmedId);
    expect(job).toMatchObject({ status: "completed", progress: 100, delayed_start: true, confirmed_at: expect.stringMatching(RFC3339) });
    await expectRealOutput(job.outputs[0]);
  });

  it("Watch: newline-delimited {result} from snapshot to completed, and the same events as Connect envelopes", async () => {
    const created = await call("Create", seedCreate());
    const id = created.json.job.id;
    const connectBody = new TextEncoder().encode(JSON.stringify({ id }));
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), Buffer.from(connectBody)]);
    framed.writeUInt32BE(connectBody.length, 1);
    const [ndjson, connect] = await Promise.all([
      transcodely("Watch", { id }),
      transcodely("Watch", framed, { "content-type": "application/connect+json", "connect-protocol-version": "1" }),
    ]);
    expect(ndjson.status).toBe(200);
    expect(connect.status).toBe(200);
    expect(connect.headers.get("content-type")).toBe("application/connect+json");
    const [text, bytes] = await Promise.all([ndjson.text(), connect.arrayBuffer().then((b) => Buffer.from(b))]);

    const lines = text.trim().split("\n").map((line) => JSON.parse(line));
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(["result"]);
      expect(line.result).toMatchObject({ job: { id, status: expect.any(String), progress: expect.any(Number) }, event: expect.any(String), server_time: expect.stringMatching(RFC3339) });
    }
    const events = lines.map((l) => l.result.event);
    expect(events[0]).toBe("snapshot");
    expect(events.at(-1)).toBe("completed");
    expect(events.slice(1, -1).every((e) => ["progress", "status_change", "heartbeat"].includes(e))).toBe(true);
    const last = lines.at(-1).result.job;
    expect(last).toMatchObject({ status: "completed", progress: 100 });

    const frames: { flags: number; json: any }[] = [];
    for (let i = 0; i < bytes.length; ) {
      const length = bytes.readUInt32BE(i + 1);
      frames.push({ flags: bytes[i]!, json: JSON.parse(bytes.subarray(i + 5, i + 5 + length).toString()) });
      i += 5 + length;
    }
    expect(frames.at(-1)).toEqual({ flags: 2, json: {} });
    expect(frames[0]!.json.event).toBe("snapshot");
    expect(frames.at(-2)!.json).toMatchObject({ event: "completed", job: { id, status: "completed" } });

    const job = await jobEnded(id);
    expect(job.status).toBe("completed");
    await expectRealOutput(job.outputs[0]);
  });

  it("answers errors in Connect's form", async () => {
    const missing = await call("Get", { id: "job_doesnotexist00000000" });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: "not_found", details: [{ type: "transcodely.v1.ErrorDetails", debug: { code: "JOB_NOT_FOUND" } }] });
    const invalid = await call("Create", { ...seedCreate(), outputs: [{ type: "webm", video: [{ codec: "h264" }] }] });
    expect(invalid.status).toBe(400);
    expect(invalid.json.details[0].debug.field_violations).toEqual([{ field: "outputs[0].video[0].codec", description: "h264 cannot be packaged as webm; webm takes vp9, av1" }]);
    const unauthenticated = await fetch(`${stack.url}/transcodely.v1.JobService/Get`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: createdId }) });
    expect(unauthenticated.status).toBe(401);
    expect(((await unauthenticated.json()) as any).code).toBe("unauthenticated");
    const precondition = await call("Confirm", { id: createdId });
    expect(precondition.status).toBe(400);
    expect(precondition.json.code).toBe("failed_precondition");
    // The dialect's jobs are ordinary jobs.
    expect((await stack.api(`/v1/jobs/${createdId}`)).json).toMatchObject({ id: createdId, status: "completed", dialect: "transcodely" });
  });

  it("Create with a clip: the output in the bucket covers the clip alone", async () => {
    const created = await call("Create", { ...seedCreate(), clip: { start_seconds: 0.5, end_seconds: 1.5 } });
    expect(created.status, JSON.stringify(created.json)).toBe(200);
    const job = await jobEnded(created.json.job.id);
    expect(job).toMatchObject({ status: "completed", clip: { start_seconds: 0.5, end_seconds: 1.5 } });
    // The input is still the whole 2 s clip; the output is its second in the middle.
    expect(job.input_metadata.duration_ms).toBeGreaterThanOrEqual(1900);
    const { probed, video } = await probeOutput(job.outputs[0].output_url);
    expect([video.codec_name, video.width, video.height]).toEqual(["h264", 320, 180]);
    expect(Number(probed.format.duration)).toBeGreaterThan(0.95);
    expect(Number(probed.format.duration)).toBeLessThan(1.05);
    expect(job.outputs[0].duration_seconds).toBe(1);
  });
});
