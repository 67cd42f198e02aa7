import { readFileSync } from "node:fs";
import * as tus from "tus-js-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import {
  type E2EStack,
  bootStack,
  download,
  downloadHls,
  ffprobeJson,
  saveTemp,
  serveFiles,
  sha256,
  verifyHook,
  watchJob,
  webhookReceiver,
} from "./harness";

let stack: E2EStack;
let media: Awaited<ReturnType<typeof serveFiles>>;
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
let secret: string;

beforeAll(async () => {
  stack = await bootStack();
  media = await serveFiles({ "clip.mp4": clipPath("landscape") });
  receiver = await webhookReceiver();
  secret = (await stack.api("/v1/webhooks/secret")).json.secret;
});
afterAll(async () => {
  await receiver?.close();
  await media?.close();
  await stack?.stop();
});

/** Submits a job, watches it to the end over a WebSocket, and returns the final job. */
async function runJob(kind: string, options: Record<string, unknown>) {
  const created = await stack.api("/v1/jobs", { body: { input: media.url("clip.mp4"), kind, options, webhook_url: receiver.url } });
  expect(created.status).toBe(201);
  const watch = await watchJob(stack, created.json.id);
  await watch.closed;
  const names = watch.events.map((e) => e.event);
  expect(names[0]).toBe("snapshot");
  expect(names).toContain("progress");
  expect(names.at(-1)).toBe("completed");
  const progress = watch.events.map((e) => e.job.progress as number);
  expect(progress).toEqual([...progress].sort((a, b) => a - b));
  const job = watch.events.at(-1)!.job;
  expect(job.status).toBe("completed");
  expect(job.outputs).toHaveLength(1);

  // The webhook arrives signed with the org's secret.
  const deadline = Date.now() + 30_000;
  let hook;
  while (!(hook = receiver.received.find((h) => JSON.parse(h.body).data?.id === job.id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(hook).toBeDefined();
  const payload = verifyHook(secret, hook!);
  expect(payload).toMatchObject({ type: "job.completed", data: { id: job.id, status: "completed" } });
  return job;
}

async function fetchOutput(job: any, name: string) {
  const output = job.outputs[0];
  const bytes = await download(output.output_url);
  expect(bytes.length).toBe(output.file_size_bytes);
  expect(sha256(bytes)).toBe(output.facts.sha256);
  return ffprobeJson(saveTemp(bytes, name));
}

describe("every kind through the whole local stack", () => {
  it("video: mp4/h264 at 320 wide", async () => {
    const job = await runJob("video", { format: "mp4", codec: "h264", width: 320, quality: "low" });
    const probed = await fetchOutput(job, "out.mp4");
    expect(probed.format.format_name).toContain("mp4");
    const video = probed.streams.find((s: any) => s.codec_type === "video");
    expect(video).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    expect(probed.streams.some((s: any) => s.codec_type === "audio")).toBe(true);
    expect(Math.abs(Number(probed.format.duration) - 3)).toBeLessThan(0.1);
  });

  it("audio: mp3 extracted from the video", async () => {
    const job = await runJob("audio", { format: "mp3", quality: "low" });
    const probed = await fetchOutput(job, "out.mp3");
    expect(probed.streams).toHaveLength(1);
    expect(probed.streams[0]).toMatchObject({ codec_type: "audio", codec_name: "mp3" });
  });

  it("image: a webp frame at 1 s", async () => {
    const job = await runJob("image", { format: "webp", start: 1, width: 200 });
    const probed = await fetchOutput(job, "out.webp");
    expect(probed.streams[0]).toMatchObject({ codec_name: "webp", width: 200 });
  });

  it("animation: a gif of the first second", async () => {
    const job = await runJob("animation", { format: "gif", end: 1, width: 160, fps: 10 });
    const probed = await fetchOutput(job, "out.gif");
    expect(probed.streams[0]).toMatchObject({ codec_name: "gif", width: 160, height: 90 });
    expect(Number(probed.streams[0].nb_frames ?? probed.streams[0].duration_ts)).toBeGreaterThan(5);
  });

  it("adaptive_video: an HLS ladder a player can walk from the signed master URL", async () => {
    const job = await runJob("adaptive_video", { format: "hls" });
    const { master, variants } = await downloadHls(job.outputs[0].output_url);
    expect(master.playlists!.length).toBeGreaterThanOrEqual(2);
    const heights = variants.map((v) => (v.attributes.RESOLUTION as { height: number } | undefined)?.height).filter(Boolean) as number[];
    expect(Math.max(...heights)).toBeLessThanOrEqual(360);
    for (const variant of variants) {
      expect(variant.manifest.endList).toBe(true);
      expect(variant.segments.length).toBeGreaterThan(0);
      expect(variant.initBytes).not.toBeNull();
    }
    const top = variants.find((v) => (v.attributes.RESOLUTION as { height: number } | undefined)?.height === 360)!;
    const probed = ffprobeJson(saveTemp(Buffer.concat([top.initBytes!, ...top.segments]), "rung.mp4"));
    expect(probed.streams.find((s: any) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", height: 360 });
  });
});

describe("uploads from the user's machine", () => {
  it("tus-js-client uploads in chunks, is interrupted and resumes; the upload feeds a job whose output is fetched with Range", async () => {
    const bytes = readFileSync(clipPath("landscape"));
    const common = {
      endpoint: `${stack.url}/v1/uploads/tus`,
      headers: { authorization: `Bearer ${stack.devKey}` },
      chunkSize: 64 * 1024,
      metadata: { filename: "clip.mp4", filetype: "video/mp4" },
      retryDelays: [],
    };
    // First session: stopped by the client after two chunks, as a dropped connection would.
    let chunks = 0;
    const uploadUrl = await new Promise<string>((resolve, reject) => {
      const upload: tus.Upload = new tus.Upload(bytes, {
        ...common,
        onError: reject,
        onChunkComplete: () => {
          if (++chunks === 2) void upload.abort().then(() => resolve(upload.url!));
        },
      });
      upload.start();
    });
    const head = await fetch(uploadUrl, { method: "HEAD", headers: { authorization: `Bearer ${stack.devKey}`, "tus-resumable": "1.0.0" } });
    const offset = Number(head.headers.get("upload-offset"));
    expect(offset).toBe(2 * 64 * 1024);
    expect(offset).toBeLessThan(bytes.length);

    // Second session: resumes from the server's offset and finishes.
    await new Promise<void>((resolve, reject) => {
      new tus.Upload(bytes, { ...common, uploadUrl, onError: reject, onSuccess: () => resolve() }).start();
    });
    const uploadId = uploadUrl.split("/").pop()!;
    const upload = await stack.api(`/v1/uploads/${uploadId}`);
    expect(upload.json).toMatchObject({ id: uploadId, status: "ready", size_bytes: bytes.length });

    // The encoder probed the upload once it was ready: the real clip's facts.
    let probe: any;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
      probe = (await stack.api(`/v1/uploads/${uploadId}`)).json.probe;
      if (probe?.status !== "pending") break;
    }
    expect(probe).toMatchObject({ status: "completed", error: null });
    expect(probe.metadata).toMatchObject({ width: 640, height: 360, codec: "h264", has_audio: true, audio_codec: "aac", framerate: 30, file_size_bytes: bytes.length });
    expect(probe.metadata.duration_ms).toBeGreaterThan(2900);
    expect(probe.metadata.duration_ms).toBeLessThan(3100);

    const job = (await stack.api("/v1/jobs", { body: { input: uploadId, kind: "video", options: { format: "mp4", codec: "h264", width: 320, quality: "low" } } })).json;
    const watch = await watchJob(stack, job.id);
    await watch.closed;
    const done = watch.events.at(-1)!.job;
    expect(done.status).toBe("completed");
    const output = done.outputs[0];
    const ranged = await fetch(output.output_url, { headers: { range: "bytes=0-1023" } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes 0-1023/${output.file_size_bytes}`);
    expect((await ranged.arrayBuffer()).byteLength).toBe(1024);
    const whole = await download(output.output_url);
    expect(ffprobeJson(saveTemp(whole, "from-upload.mp4")).streams.find((s: any) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 320 });
  });
});
