import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncoderEvent, OutputSpec, TranscodeOrderInput } from "../../encoder/contract";
import { audioStream, ffprobe, videoStream } from "./ffprobe";
import { startEncoder, startMediaServer, startSink } from "./harness";
import { hlsMediaFiles, parseM3u8 } from "./packages";

/*
 * A clipped outputs job through the real encoder: one 4 s input whose every frame has
 * its own brightness (frame N is a flat picture of luma 16 + 2N at 25 fps), so the
 * first frame of an output names the instant of the source it came from.
 */

const FPS = 25;
const lumaAt = (seconds: number) => 16 + 2 * Math.round(seconds * FPS);

let media: Awaited<ReturnType<typeof startMediaServer>>;
let sink: Awaited<ReturnType<typeof startSink>>;
let encoder: Awaited<ReturnType<typeof startEncoder>>;
const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-clip-media-"));
const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-clip-work-"));
process.env.KILN_WORK_DIR = workDir;

beforeAll(async () => {
  const ramp = path.join(scratch, "ramp.mp4");
  // Keyframes only every 2 s: the clip's start at 1 s must be decoded to, not cut at a keyframe.
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", `color=c=gray:s=320x180:r=${FPS}:d=4,format=yuv420p,geq=lum='16+2*N':cb=128:cr=128`,
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4",
    "-c:v", "libx264", "-preset", "ultrafast", "-g", String(2 * FPS), "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", ramp,
  ]);
  writeFileSync(
    path.join(scratch, "en.vtt"),
    "WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nBefore\n\n00:00:00.500 --> 00:00:01.500\nAcross\n\n00:00:02.000 --> 00:00:02.500\nInside\n\n00:00:03.500 --> 00:00:04.000\nAfter\n",
  );
  media = await startMediaServer({ "ramp.mp4": ramp, "en.vtt": path.join(scratch, "en.vtt") });
  sink = await startSink();
  encoder = await startEncoder({ concurrency: 2, heartbeatMs: 1000 });
});
afterAll(async () => {
  await encoder.close();
  await sink.close();
  await media.close();
});

type Completed = Extract<EncoderEvent, { type: "task_completed" }>;

async function runClipped(jobId: string, tasks: TranscodeOrderInput["tasks"], clip: TranscodeOrderInput["clip"]) {
  const order = { ...sink.order(jobId, media.url("ramp.mp4"), tasks), clip };
  const res = await encoder.call("POST", "/work", order);
  expect(res.status).toBe(202);
  await sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)), 120_000);
  return sink.events.filter((e) => e.job_id === jobId);
}

/** The uploaded files, written back to disk under one root, for ffmpeg and ffprobe. */
function materialise(paths: string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "kiln-clip-out-"));
  for (const p of paths) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), sink.uploads.get(p)!.bytes);
  }
  return root;
}

/** The mean luma of a file's first frame (the Y plane, as decoded; no range conversion). */
function firstFrameLuma(file: string): number {
  const frame = execFileSync("ffmpeg", ["-v", "error", "-i", file, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]);
  const { width, height } = videoStream(ffprobe(file))!;
  const pixels = width! * height!;
  let sum = 0;
  for (let i = 0; i < pixels; i++) sum += frame[i]!;
  return sum / pixels;
}

const out = (type: OutputSpec["type"], extra: Partial<OutputSpec> = {}): OutputSpec => ({ kind: "output", type, video: [{ codec: "h264" }], ...extra });

describe("a clipped outputs job through the encoder", { timeout: 150_000 }, () => {
  it("cuts the mp4, the HLS package (audio, subtitles) and the thumbnails to the clip, from one decode", async () => {
    const events = await runClipped(
      "job_clip",
      [
        { task_id: "t_mp4", output_id: "out_mp4", spec: out("mp4") },
        {
          task_id: "t_hls",
          output_id: "out_hls",
          spec: out("hls", {
            audio: [{ codec: "aac", language: "en" }],
            segments: { duration: 1 },
            subtitles: [{ url: media.url("en.vtt"), language: "en" }],
          }),
        },
        { task_id: "t_thumbs", output_id: "out_thumbs", spec: { kind: "thumbnail", format: "png", frames: { mode: "times", times: [{ seconds: 0 }, { seconds: 1 }] } } },
      ],
      { start_seconds: 1, end_seconds: 3 },
    );
    expect(events.at(-1)!.type).toBe("job_completed");
    expect(events.filter((e) => e.type === "task_failed")).toEqual([]);
    const completed = new Map(events.filter((e): e is Completed => e.type === "task_completed" && e.stage === "encode").map((e) => [e.task_id!, e.output!]));
    expect([...completed.keys()].sort()).toEqual(["t_hls", "t_mp4", "t_thumbs"]);
    const root = materialise([...sink.uploads.keys()].filter((p) => p.startsWith("out_")));

    // The mp4: 2 s of video and audio, its first frame the source's at 1 s.
    const mp4 = path.join(root, "out_mp4.mp4");
    const probed = ffprobe(mp4);
    expect(Number(probed.format.duration)).toBeCloseTo(2, 1);
    expect(Number(videoStream(probed)!.duration)).toBeGreaterThan(2 - 2 / FPS);
    expect(Number(videoStream(probed)!.duration)).toBeLessThan(2 + 2 / FPS);
    expect(Number(audioStream(probed)!.duration)).toBeCloseTo(2, 1);
    expect(firstFrameLuma(mp4)).toBeCloseTo(lumaAt(1), 0);
    expect(completed.get("t_mp4")!.duration_ms).toBeGreaterThan(1950);
    expect(completed.get("t_mp4")!.duration_ms).toBeLessThan(2050);

    // The HLS package: segments adding up to 2 s, the first one starting at the source's 1 s.
    const variant = parseM3u8(sink.uploads.get("out_hls/master.m3u8")!.bytes.toString("utf8")).playlists![0]!.uri;
    const media_ = parseM3u8(sink.uploads.get(`out_hls/${variant}`)!.bytes.toString("utf8"));
    expect(media_.endList).toBe(true);
    expect(media_.segments.reduce((sum, s) => sum + s.duration, 0)).toBeCloseTo(2, 1);
    expect(Number(ffprobe(path.join(root, "out_hls/master.m3u8")).format.duration)).toBeCloseTo(2, 0);
    const firstSegment = hlsMediaFiles(`out_hls/${variant}`, media_);
    expect(firstSegment.every((f) => sink.uploads.has(f))).toBe(true);
    expect(firstFrameLuma(path.join(root, "out_hls", variant))).toBeCloseTo(lumaAt(1), 0);
    expect(completed.get("t_hls")!.duration_ms).toBeGreaterThan(1900);
    expect(completed.get("t_hls")!.duration_ms).toBeLessThan(2100);
    // The subtitles are on the clip's timeline: what fell outside it is gone.
    const subtitles = sink.uploads.get("out_hls/subtitles/en_0.vtt")!.bytes.toString("utf8");
    expect(subtitles).toContain("00:00:00.000 --> 00:00:00.500\nAcross");
    expect(subtitles).toContain("00:00:01.000 --> 00:00:01.500\nInside");
    expect(subtitles).not.toMatch(/Before|After/);

    // The thumbnails' times count from the clip's start: 0 s is the source's 1 s, 1 s its 2 s.
    expect(firstFrameLuma(path.join(root, "out_thumbs.001.png"))).toBeCloseTo(lumaAt(1), 0);
    expect(firstFrameLuma(path.join(root, "out_thumbs.002.png"))).toBeCloseTo(lumaAt(2), 0);
  });

  it("clamps an end past the input's to the input's end", async () => {
    const events = await runClipped("job_clip_clamped", [{ task_id: "t_mp4", output_id: "out_clamped", spec: out("mp4") }], { start_seconds: 3, end_seconds: 60 });
    expect(events.at(-1)!.type).toBe("job_completed");
    const root = materialise(["out_clamped.mp4"]);
    expect(Number(ffprobe(path.join(root, "out_clamped.mp4")).format.duration)).toBeCloseTo(1, 1);
    expect(firstFrameLuma(path.join(root, "out_clamped.mp4"))).toBeCloseTo(lumaAt(3), 0);
  });

  it("fails at the probe with input_clip_out_of_range when the clip starts at or past the input's end, encoding nothing", async () => {
    const events = await runClipped("job_clip_late", [{ task_id: "t_mp4", output_id: "out_late", spec: out("mp4") }], { start_seconds: 4, end_seconds: 6 });
    const failed = events.at(-1)!;
    expect(failed).toMatchObject({ type: "task_failed", stage: "probe", task_id: null, error: { code: "input_clip_out_of_range" } });
    // The metadata went first, so the Worker can say what the input is.
    expect(events.some((e) => e.type === "metadata")).toBe(true);
    expect(events.some((e) => e.type === "task_started" && e.stage === "encode")).toBe(false);
    expect(sink.uploads.has("out_late.mp4")).toBe(false);
  });

  it("refuses an order that pairs a clip with a kind task", async () => {
    const order = { ...sink.order("job_clip_kind", media.url("ramp.mp4"), [{ task_id: "t", output_id: "o", spec: { kind: "video", format: "mp4", codec: "h264" } }]), clip: { start_seconds: 1, end_seconds: 2 } };
    expect((await encoder.call("POST", "/work", order)).status).toBe(400);
  });
});
