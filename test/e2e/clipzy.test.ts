import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { styleStages } from "../../encoder/contract";
import { styleJsonSchema } from "../../encoder/style/style-json";
import { type E2EStack, bootStack, download, ffprobeJson, saveTemp, until, verifyHook, webhookReceiver } from "./harness";

/*
 * Clipzy's flow through the whole local stack, as its docs' clients make it: upload a
 * template and a source (multipart, Bearer key), the job the upload creates walks the
 * stages in order, its result carries a StyleJSON valid against the public schema and
 * an output URL whose file ffprobe reads as the template's frame, and the webhook
 * delivers the envelope. A non-video upload and a corrupt video fail as documented.
 */
let stack: E2EStack;
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-clipzy-e2e-"));

function ffmpeg(...args: string[]): void {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);
}

/** A 4 s 16:9 source at ordinary levels, and a warm, loud 9:16 template at 30 fps cut at 2 s. */
function makeClips(): { source: string; template: string; corrupt: string; notes: string } {
  const source = path.join(scratch, "source.mp4");
  ffmpeg(
    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4",
    "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=4,volume=-18dB",
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest", source,
  );
  const template = path.join(scratch, "template.mov");
  ffmpeg(
    "-f", "lavfi", "-i", "testsrc2=size=180x320:rate=30:duration=2",
    "-f", "lavfi", "-i", "mandelbrot=size=180x320:rate=30,trim=duration=2",
    "-f", "lavfi", "-i", "sine=frequency=110:sample_rate=48000:duration=4,volume=-2dB",
    "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,colortemperature=temperature=3500,eq=saturation=1.6[v]",
    "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest", template,
  );
  // An MP4's first box, then noise: it is an MP4 by its first bytes and no video at all.
  const corrupt = path.join(scratch, "broken.mp4");
  writeFileSync(corrupt, Buffer.concat([readFileSync(source).subarray(0, 32), Buffer.alloc(8192, 0x5a)]));
  const notes = path.join(scratch, "notes.mp4");
  writeFileSync(notes, "these are meeting notes, not a video\n".repeat(20));
  return { source, template, corrupt, notes };
}

let clips: ReturnType<typeof makeClips>;

beforeAll(async () => {
  clips = makeClips();
  [stack, receiver] = await Promise.all([bootStack(), webhookReceiver()]);
});
afterAll(async () => {
  await receiver?.close();
  await stack?.stop();
});

/** Clipzy's upload as its docs' clients send it: multipart/form-data with `file` and optional fields. */
async function upload(file: string, fields: Record<string, string> = {}) {
  const form = new FormData();
  form.append("file", new Blob([readFileSync(file)]), path.basename(file));
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const res = await fetch(`${stack.url}/api/v1/videos/upload`, { method: "POST", headers: { Authorization: `Bearer ${stack.devKey}` }, body: form });
  return { status: res.status, json: (await res.json()) as any };
}

const get = async (p: string) => {
  const res = await fetch(`${stack.url}/api/v1${p}`, { headers: { Authorization: `Bearer ${stack.devKey}` } });
  return { status: res.status, json: (await res.json()) as any };
};

describe("Clipzy through the stack", { timeout: 300_000 }, () => {
  it("upload → job → stages in order → result, with a valid StyleJSON, a verified output and the webhook", async () => {
    const template = await upload(clips.template);
    expect(template.status, JSON.stringify(template.json)).toBe(201);
    expect(template.json).toMatchObject({ success: true, error: null, data: { filename: "template.mov", file_size_bytes: readFileSync(clips.template).length } });
    // Measured by ffprobe, not a stub.
    expect(template.json.data.metadata).toMatchObject({ width: 180, height: 320, frame_rate: 30, codec: "h264" });
    expect(template.json.data.metadata.duration_seconds).toBeCloseTo(4, 0);
    expect(template.json.data.video_id).toMatch(/^vid_/);

    const source = await upload(clips.source, { template_video_id: template.json.data.video_id, webhook_url: receiver.url });
    expect(source.status, JSON.stringify(source.json)).toBe(201);
    const jobId: string = source.json.data.job_id;
    expect(source.json.message).toBe(`Video uploaded successfully. Job created: ${jobId}`);

    // Watch the job walk its stages: each seen in order, progress never going back.
    const seen: string[] = [];
    let last = -1;
    const done = await until(
      "the Clipzy job to end",
      async () => {
        const job = (await get(`/jobs/${jobId}`)).json.data;
        expect(job.progress_percent).toBeGreaterThanOrEqual(last);
        last = job.progress_percent;
        if (job.current_stage && seen.at(-1) !== job.current_stage) seen.push(job.current_stage);
        if (job.status !== "processing") expect(job.current_stage).toBeNull();
        return job;
      },
      (job) => ["completed", "failed", "cancelled"].includes(job.status),
      240_000,
    );
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done.progress_percent).toBe(100);
    expect(done.template_video_id).toBe(template.json.data.video_id);
    // Polled every 100 ms, most stages are seen (the extraction itself is instant).
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual(styleStages.filter((s) => seen.includes(s)));

    const result = await get(`/jobs/${jobId}/result`);
    expect(result.status).toBe(200);
    const detail = result.json.data;
    const style = styleJsonSchema.parse(detail.style_json);
    expect(style.aspect_ratio).toBe("9:16");
    expect(style.frame_rate).toBe(30);
    expect(style.music_genre).toBeNull();
    expect(detail.error).toBeNull();
    expect(detail.processing_time_seconds).toBeGreaterThan(0);
    expect(detail.style_comparison.map((c: { dimension: string }) => c.dimension)).toEqual(expect.arrayContaining(["saturation", "temperature", "integrated_loudness"]));

    const file = saveTemp(await download(detail.output_video_url), "styled.mp4");
    const probed = ffprobeJson(file);
    const video = probed.streams.find((s: { codec_type: string }) => s.codec_type === "video");
    expect(video.codec_name).toBe("h264");
    expect(probed.streams.find((s: { codec_type: string }) => s.codec_type === "audio").codec_name).toBe("aac");
    expect(video.width * 16).toBe(video.height * 9);
    expect(video.r_frame_rate).toBe("30/1");

    const secret = (await stack.api("/v1/webhooks/secret")).json.secret;
    const hook = await until("the webhook", async () => receiver.received.find((r) => JSON.parse(r.body).data?.job_id === jobId), (h) => h !== undefined);
    const body = verifyHook(secret, hook!);
    expect(body).toMatchObject({ success: true, data: { job_id: jobId, status: "completed", output_video_url: expect.any(String) } });
    expect(styleJsonSchema.safeParse(body.data.style_json).success).toBe(true);
  });

  it("refuses a non-video upload with UNSUPPORTED_FORMAT and fails a corrupt video's job at its stage", async () => {
    const notes = await upload(clips.notes);
    expect(notes.status).toBe(422);
    expect(notes.json).toMatchObject({ success: false, error: { code: "UNSUPPORTED_FORMAT" } });

    const broken = await upload(clips.corrupt);
    expect(broken.status, JSON.stringify(broken.json)).toBe(201);
    const jobId: string = broken.json.data.job_id;
    await until("the corrupt video's job to fail", async () => (await get(`/jobs/${jobId}`)).json.data, (job) => job.status === "failed", 120_000);
    const result = await get(`/jobs/${jobId}/result`);
    expect(result.json).toMatchObject({ success: true, data: { status: "failed", style_json: null, output_video_url: null, error: { stage: "video_analysis" } } });
    expect(result.json.data.error.code).toMatch(/^INPUT_/);
    expect(result.json.data.error.message).toBeTruthy();
    // The encoder keeps serving: the stack still answers and runs jobs.
    expect((await fetch(`${stack.url}/api/v1/health`)).status).toBe(200);
  });
});
