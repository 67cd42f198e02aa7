import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type S3Server, startS3Server } from "../worker/s3-server";
import { type E2EStack, bootStack, download, downloadHls, ffprobeJson, saveTemp, serveFiles, until } from "./harness";
import { expectWaitingTasks, jobKeys, taskKeys } from "../shared/ittybit-seed";

/*
 * Every example of Ittybit's Create Job page (seed 003) replayed against the whole local
 * stack as its own code sends it: fetch to `<base>/jobs` with a Bearer key and the JSON
 * body, changing only the base URL, the key and the input URL (loopback media). Each
 * checks the documented 201 field by field, follows the job through GET /jobs/{id} and
 * ffprobes what it made.
 */
let stack: E2EStack;
let s3: S3Server;
let media: Awaited<ReturnType<typeof serveFiles>>;

const BUCKET = "my-bucket";
const CLIP_SECONDS = 6;
const aws = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });

/** A 6 s, 320×180 clip with sound (the image example seeks to 5 s), as MP4 and as MOV. */
function makeClips(): { mp4: string; mov: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-ittybit-"));
  const mp4 = path.join(dir, "clip.mp4");
  const mov = path.join(dir, "clip.mov");
  const lavfi = (source: string) => ["-f", "lavfi", "-i", source];
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    ...lavfi(`testsrc2=size=320x180:rate=15:duration=${CLIP_SECONDS}`),
    ...lavfi(`sine=frequency=440:sample_rate=48000:duration=${CLIP_SECONDS}`),
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "15", "-c:a", "aac", "-b:a", "64k", mp4,
  ]);
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", mp4, "-c", "copy", mov]);
  return { mp4, mov };
}

beforeAll(async () => {
  const clip = makeClips();
  [stack, s3, media] = await Promise.all([bootStack(), startS3Server([BUCKET]), serveFiles({ "upload.mov": clip.mov, "interview.mp4": clip.mp4, "video.mp4": clip.mp4 })]);
});
afterAll(async () => {
  await media?.close();
  await s3?.close();
  await stack?.stop();
});

/** The seed's JavaScript example, with Kiln's base URL and key. */
async function postJob(job: Record<string, unknown>) {
  const res = await fetch(`${stack.url}/jobs`, {
    method: "POST",
    headers: { Authorization: `Bearer ${stack.devKey}`, "Content-Type": "application/json" },
    body: JSON.stringify(job),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function getJob(id: string) {
  const res = await fetch(`${stack.url}/jobs/${id}`, { headers: { Authorization: `Bearer ${stack.devKey}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as any;
}


/** The seed's "Response 201", field by field, for a job of `kind` made from `job`. */
function expectCreated(created: { status: number; json: any }, job: Record<string, unknown>, output: string | null = null) {
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const body = created.json;
  expect(Object.keys(body)).toEqual(jobKeys);
  expect(body).toMatchObject({
    object: "job",
    kind: job.kind,
    input: job.input,
    output,
    options: job.options ?? {},
    metadata: {},
    status: "queued",
    error: null,
    started_at: null,
    finished_at: null,
  });
  expect(body.id).toMatch(/^job_[a-z0-9]+$/);
  expect(Number.isInteger(body.created_at)).toBe(true);
  expect(body.updated_at).toBe(body.created_at);
  expectWaitingTasks(body);
}

/** Follows the job through GET /jobs/{id} to its end, checks it succeeded in Ittybit's shape, and returns it with its result file. */
async function followToEnd(id: string, input: string) {
  const job = await until(`job ${id} to end`, () => getJob(id), (j) => ["succeeded", "failed", "cancelled"].includes(j.status), 120_000);
  expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
  expect(Object.keys(job)).toEqual(jobKeys);
  expect(job.error).toBeNull();
  for (const field of ["created_at", "started_at", "finished_at", "updated_at"]) expect(Number.isInteger(job[field]), field).toBe(true);
  expect(job.finished_at).toBeGreaterThanOrEqual(job.started_at);
  expect(job.started_at).toBeGreaterThanOrEqual(job.created_at);
  for (const task of job.tasks) {
    expect(Object.keys(task)).toEqual(taskKeys);
    expect(task).toMatchObject({ object: "task", status: "succeeded", progress: null, error: null });
    expect(Number.isInteger(task.started_at) && Number.isInteger(task.finished_at)).toBe(true);
  }
  const [probe, , encode, exported] = job.tasks;
  expect(probe.input).toEqual({ object: "external_file", url: input });
  expect(probe.output).toEqual({
    object: "file",
    kind: "video",
    url: input,
    format: input.split(".").pop(),
    width: 320,
    height: 180,
    duration: expect.closeTo(CLIP_SECONDS, 0),
  });
  const file = encode.output;
  expect(Object.keys(file)).toEqual(["object", "kind", "url", "format", "width", "height", "duration"]);
  expect(file.object).toBe("file");
  expect(exported.output).toMatchObject({ object: "file", format: file.format, width: file.width, height: file.height });
  return { job, file };
}

const probeUrl = async (url: string, name: string) => ffprobeJson(saveTemp(await download(url), name));
const videoStream = (probed: any) => probed.streams.find((s: any) => s.codec_type === "video");

describe("the seed's examples through the whole stack", () => {
  it("Video: converts and resizes to 1280×720 MP4", async () => {
    const job = { input: media.url("upload.mov"), kind: "video", options: { width: 1280, height: 720, format: "mp4", quality: "high" } };
    const created = await postJob(job);
    expectCreated(created, job);
    const { job: done, file } = await followToEnd(created.json.id, job.input);
    expect(file).toMatchObject({ kind: "video", format: "mp4", width: 1280, height: 720 });
    expect(Math.abs(file.duration - CLIP_SECONDS)).toBeLessThan(0.2);
    expect(new URL(done.output).pathname).toBe(new URL(file.url).pathname);
    const probed = await probeUrl(file.url, "video.mp4");
    expect(probed.format.format_name).toContain("mp4");
    expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 1280, height: 720 });
    expect(probed.streams.some((s: any) => s.codec_type === "audio")).toBe(true);
    expect(Math.abs(Number(probed.format.duration) - CLIP_SECONDS)).toBeLessThan(0.2);
  });

  it("Audio: extracts the track as MP3", async () => {
    const job = { input: media.url("interview.mp4"), kind: "audio", options: { format: "mp3", quality: "high" } };
    const created = await postJob(job);
    expectCreated(created, job);
    const { file } = await followToEnd(created.json.id, job.input);
    expect(file).toMatchObject({ kind: "audio", format: "mp3", width: null, height: null });
    expect(Math.abs(file.duration - CLIP_SECONDS)).toBeLessThan(0.2);
    const probed = await probeUrl(file.url, "audio.mp3");
    expect(probed.streams).toHaveLength(1);
    expect(probed.streams[0]).toMatchObject({ codec_type: "audio", codec_name: "mp3" });
    expect(Math.abs(Number(probed.format.duration) - CLIP_SECONDS)).toBeLessThan(0.2);
  });

  it("Image: a WebP poster frame at 5 s, 640 wide", async () => {
    const job = { input: media.url("video.mp4"), kind: "image", options: { start: 5, format: "webp", width: 640 } };
    const created = await postJob(job);
    expectCreated(created, job);
    const { file } = await followToEnd(created.json.id, job.input);
    expect(file).toMatchObject({ kind: "image", format: "webp", width: 640, height: 360, duration: null });
    const probed = await probeUrl(file.url, "poster.webp");
    expect(probed.streams).toHaveLength(1);
    expect(probed.streams[0]).toMatchObject({ codec_name: "webp", width: 640, height: 360 });
  });

  it("Adaptive video: an HLS package a player walks from the signed master URL", async () => {
    const job = { input: media.url("video.mp4"), kind: "adaptive_video", options: { format: "hls", quality: "high" } };
    const created = await postJob(job);
    expectCreated(created, job);
    const { job: done, file } = await followToEnd(created.json.id, job.input);
    expect(file).toMatchObject({ kind: "video", format: "hls" });
    expect(new URL(file.url).pathname).toMatch(/\.m3u8$/);
    expect(new URL(done.output).pathname).toBe(new URL(file.url).pathname);
    const { master, variants } = await downloadHls(file.url);
    expect(master.playlists!.length).toBeGreaterThanOrEqual(1);
    for (const variant of variants) {
      expect(variant.manifest.endList).toBe(true);
      expect(variant.segments.length).toBeGreaterThan(0);
    }
    const top = variants.reduce((a, b) => ((a.attributes.RESOLUTION?.height ?? 0) >= (b.attributes.RESOLUTION?.height ?? 0) ? a : b));
    expect(top.attributes.RESOLUTION).toEqual({ width: 320, height: 180 });
    const rung = ffprobeJson(saveTemp(Buffer.concat([...(top.initBytes ? [top.initBytes] : []), ...top.segments]), "rung.mp4"));
    expect(videoStream(rung)).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    const seconds = top.manifest.segments.reduce((sum: number, s: { duration: number }) => sum + s.duration, 0);
    expect(Math.abs(seconds - CLIP_SECONDS)).toBeLessThan(0.5);
  });

  it("Output to S3: writes the MP4 to the connection's bucket at the exact key", async () => {
    // The connection: an origin of the org for the bucket, with write access.
    const origin = await stack.api("/v1/origins", {
      body: { name: "my-bucket", provider: "s3", bucket: BUCKET, endpoint: s3.url, credentials: S3_TEST_CREDENTIALS, permissions: ["read", "write"] },
    });
    expect(origin.status, JSON.stringify(origin.json)).toBe(201);
    const job = { input: media.url("upload.mov"), kind: "video", output: "s3://my-bucket/processed/video.mp4" };
    const created = await postJob(job);
    expectCreated(created, job, "s3://my-bucket/processed/video.mp4");
    const { job: done, file } = await followToEnd(created.json.id, job.input);
    expect(done.output).toBe("s3://my-bucket/processed/video.mp4");
    // Defaults: MP4, H.264, the input's size; the file's URL is presigned on the bucket.
    expect(file).toMatchObject({ kind: "video", format: "mp4", width: 320, height: 180 });
    expect(new URL(file.url).searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    const stored = await aws.fetch(`${s3.url}/${BUCKET}/processed/video.mp4`);
    expect(stored.status).toBe(200);
    const probed = ffprobeJson(saveTemp(Buffer.from(await stored.arrayBuffer()), "s3.mp4"));
    expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    expect(Math.abs(Number(probed.format.duration) - CLIP_SECONDS)).toBeLessThan(0.2);
  });
});
