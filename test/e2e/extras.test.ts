import { existsSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import { type E2EStack, bootStack, download, ffprobeJson, jobWithStatus, saveTemp, serveFiles, sha256 } from "./harness";

/** Thumbnails, delayed start and costs through the whole local stack with the real encoder. */

let stack: E2EStack;
let media: Awaited<ReturnType<typeof serveFiles>>;

beforeAll(async () => {
  stack = await bootStack();
  media = await serveFiles({ "clip.mp4": clipPath("landscape") });
});
afterAll(async () => {
  await media?.close();
  await stack?.stop();
});

const waitForStatus = (id: string, statuses: string[]) => jobWithStatus(stack, id, statuses);

/** The encoder's working directories in use: a job's exists only while an attempt runs. */
const workDirs = () => (existsSync(stack.workDir) ? readdirSync(stack.workDir) : []);

interface Cue {
  from: string;
  to: string;
  file: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function parseStoryboard(text: string): Cue[] {
  expect(text.startsWith("WEBVTT")).toBe(true);
  return [...text.matchAll(/(\d{2}:\d{2}:\d{2}\.\d{3}) --> (\d{2}:\d{2}:\d{2}\.\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)/g)].map((m) => ({
    from: m[1]!,
    to: m[2]!,
    file: m[3]!,
    x: Number(m[4]),
    y: Number(m[5]),
    w: Number(m[6]),
    h: Number(m[7]),
  }));
}

describe("thumbnails", () => {
  it("makes stills at a time and a percentage and a sprite sheet whose storyboard cues lie inside it", async () => {
    const created = await stack.api("/v1/jobs", {
      body: {
        input: media.url("clip.mp4"),
        kind: "video",
        options: { format: "mp4", width: 320, quality: "very_low" },
        thumbnails: [
          { times: [1, "50%"], format: "png", width: 320 },
          { interval: 0.5, sprite: true, columns: 4 },
        ],
      },
    });
    expect(created.status).toBe(201);
    expect(created.json.tasks.map((t: { kind: string }) => t.kind)).toEqual(["probe", "import", "video", "thumbnail", "thumbnail", "export"]);
    const job = await waitForStatus(created.json.id, ["completed", "failed", "partial"]);
    expect(job.status, JSON.stringify(job.error ?? job.outputs.map((o: { error: unknown }) => o.error))).toBe("completed");
    const [, stills, sprite] = job.outputs;

    // Stills: the output URL is the first file's, signed for its directory; the second sits beside it.
    expect(stills).toMatchObject({ type: "thumbnail", facts: { width: 320, height: 180, codec: "png", files: 2 } });
    const firstUrl = stills.output_url as string;
    expect(firstUrl).toMatch(/\.001\.png$/);
    for (const url of [firstUrl, firstUrl.replace(/\.001\.png$/, ".002.png")]) {
      const probed = ffprobeJson(saveTemp(await download(url), "still.png"));
      expect(probed.streams[0]).toMatchObject({ codec_name: "png", width: 320, height: 180 });
    }
    expect(sha256(await download(firstUrl))).toBe(stills.facts.sha256);

    // Sprite: the URL is the storyboard's; each cue names the sheet relative to it, as a player resolves it.
    expect(sprite).toMatchObject({ type: "thumbnail", facts: { width: 640, height: 180, codec: "mjpeg", files: 2 } });
    const storyboardUrl = sprite.output_url as string;
    const cues = parseStoryboard((await download(storyboardUrl)).toString());
    expect(cues).toHaveLength(6);
    expect(cues[0]!.from).toBe("00:00:00.000");
    expect(cues.at(-1)!.to).toBe("00:00:03.000");
    const sheetUrl = new URL(cues[0]!.file, storyboardUrl).toString();
    const sheet = ffprobeJson(saveTemp(await download(sheetUrl), "sheet.jpg")).streams[0];
    expect(sheet).toMatchObject({ codec_name: "mjpeg", width: 640, height: 180 });
    for (const cue of cues) {
      expect(cue.file).toBe(cues[0]!.file);
      expect(cue.x + cue.w).toBeLessThanOrEqual(sheet.width);
      expect(cue.y + cue.h).toBeLessThanOrEqual(sheet.height);
    }
    expect(new Set(cues.map((c) => `${c.x},${c.y}`)).size).toBe(6);

    // Costs and usage follow from the outputs.
    expect(job.total_estimated_cost).toBeGreaterThan(0);
    expect(job.total_actual_cost).toBeGreaterThan(0);
    expect(job.usage.gb_out).toBeGreaterThan(0);
    expect(job.usage.video_minutes_out).toBeCloseTo(0.05, 2);
  });
});

describe("delayed start", () => {
  it("probes, shows the estimate and encodes nothing until confirmed; then completes with its actual cost", async () => {
    const created = await stack.api("/v1/jobs", {
      body: { input: media.url("clip.mp4"), kind: "video", options: { format: "mp4", width: 320, quality: "very_low" }, delayed_start: true, priority: "premium" },
    });
    const waiting = await waitForStatus(created.json.id, ["awaiting_confirmation", "failed"]);
    expect(waiting.status).toBe("awaiting_confirmation");
    expect(waiting.input_metadata).toMatchObject({ width: 640, height: 360 });
    // 3 s of sd h264 at 0.004/min, premium ×2.
    expect(waiting.total_estimated_cost).toBe(0.0004);
    expect(waiting.execution.probe_duration_ms).toBeGreaterThan(0);

    // Nothing is encoded while it waits: the encode task never started, no output exists,
    // and the encoder holds no working directory for it.
    await new Promise((r) => setTimeout(r, 1500));
    const still = (await stack.api(`/v1/jobs/${created.json.id}`)).json;
    expect(still.status).toBe("awaiting_confirmation");
    expect(still.tasks.find((t: { kind: string }) => t.kind === "video")).toMatchObject({ status: "waiting", started_at: null, progress: 0 });
    expect(still.outputs[0]).toMatchObject({ status: "pending", output_url: null, file_size_bytes: null });
    expect(workDirs().filter((d) => d.includes(created.json.id))).toEqual([]);

    const confirmed = await stack.api(`/v1/jobs/${created.json.id}/confirm`, { method: "POST" });
    expect(confirmed.json.status).toBe("processing");
    const done = await waitForStatus(created.json.id, ["completed", "failed", "partial"]);
    expect(done.status).toBe("completed");
    expect(done.confirmed_at).not.toBeNull();
    expect(done.total_actual_cost).toBeCloseTo(0.0004, 4);
    expect(done.execution.encode_duration_ms).toBeGreaterThan(0);
    expect(done.execution.total_duration_ms).toBeGreaterThan(0);
    const probed = ffprobeJson(saveTemp(await download(done.outputs[0].output_url), "out.mp4"));
    expect(probed.streams.find((s: { codec_type: string }) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
  });

  it("cancels from awaiting_confirmation and stays canceled", async () => {
    const created = await stack.api("/v1/jobs", {
      body: { input: media.url("clip.mp4"), kind: "image", options: { format: "png" }, delayed_start: true },
    });
    await waitForStatus(created.json.id, ["awaiting_confirmation"]);
    const canceled = await stack.api(`/v1/jobs/${created.json.id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(200);
    expect(canceled.json).toMatchObject({ status: "canceled", total_actual_cost: 0 });
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await stack.api(`/v1/jobs/${created.json.id}`)).json;
    expect(after.status).toBe("canceled");
    expect(after.outputs[0]).toMatchObject({ status: "canceled", output_url: null });
    expect(after.tasks.find((t: { kind: string }) => t.kind === "image").started_at).toBeNull();
  });
});
