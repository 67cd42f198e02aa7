import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncoderEvent, ThumbnailEncodeSpec } from "../../encoder/contract";
import type { SourceInfo } from "../../encoder/ffmpeg/command";
import { MAX_FRAMES, MAX_SHEET_SIDE, buildThumbnailCommand, pickFrames, spriteGrid, storyboardVtt } from "../../encoder/ffmpeg/thumbnails";
import { clipPath } from "./clips";
import { encodeClip } from "./encode-clip";
import { ffprobe, videoStream } from "./ffprobe";
import { startEncoder, startMediaServer, startSink } from "./harness";

const landscape: SourceInfo = { file: "input", width: 640, height: 360, durationS: 3, fps: 30, hasVideo: true, hasAudio: true };
const thumbs = (frames: ThumbnailEncodeSpec["frames"], extra: Partial<ThumbnailEncodeSpec> = {}): ThumbnailEncodeSpec => ({ kind: "thumbnail", format: "jpeg", frames, ...extra });

interface Cue {
  from: number;
  to: number;
  file: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Reads a storyboard the way a player does: timings and the #xywh media fragment of each cue. */
function parseStoryboard(text: string): Cue[] {
  const seconds = (t: string) => {
    const [h, m, s] = t.split(":").map(Number);
    return h! * 3600 + m! * 60 + s!;
  };
  expect(text.startsWith("WEBVTT\n")).toBe(true);
  const cues: Cue[] = [];
  for (const block of text.split(/\n\n+/).slice(1).filter((b) => b.trim())) {
    const [timing, target] = block.trim().split("\n");
    const t = /^(\d{2}:\d{2}:\d{2}\.\d{3}) --> (\d{2}:\d{2}:\d{2}\.\d{3})$/.exec(timing!);
    const f = /^([^#\s]+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(target!);
    expect(t, timing).not.toBeNull();
    expect(f, target).not.toBeNull();
    cues.push({ from: seconds(t![1]!), to: seconds(t![2]!), file: f![1]!, x: Number(f![2]), y: Number(f![3]), w: Number(f![4]), h: Number(f![5]) });
  }
  return cues;
}

describe("frame choice (pure)", () => {
  it("takes times in seconds and percentages, in the order asked, clamped to the last frame", () => {
    const picks = pickFrames({ mode: "times", times: [{ seconds: 2 }, { percent: 50 }, { seconds: 9 }] }, landscape);
    expect(picks.map((p) => p.at)).toEqual([2, 1.5, 3 - 1.5 / 30]);
    // Each stands for the timeline up to the next instant.
    expect(picks.map((p) => [p.from, p.to])).toEqual([[2, 3 - 1.5 / 30], [1.5, 2], [3 - 1.5 / 30, 3]]);
  });

  it("steps an interval from 0 to the end, widening it past MAX_FRAMES frames", () => {
    expect(pickFrames({ mode: "interval", seconds: 1 }, landscape).map((p) => [p.at, p.from, p.to])).toEqual([[0, 0, 1], [1, 1, 2], [2, 2, 3]]);
    expect(pickFrames({ mode: "interval", seconds: 0.7 }, landscape).at(-1)).toMatchObject({ from: 2.8, to: 3 });
    const long = pickFrames({ mode: "interval", seconds: 0.5 }, { ...landscape, durationS: 600 });
    expect(long).toHaveLength(MAX_FRAMES);
    expect(long[1]!.at).toBe(6);
    expect(long.at(-1)!.to).toBe(600);
  });

  it("spreads a count over equal spans, each frame from the middle of its span", () => {
    expect(pickFrames({ mode: "count", count: 3 }, landscape).map((p) => [p.at, p.from, p.to])).toEqual([[0.5, 0, 1], [1.5, 1, 2], [2.5, 2, 3]]);
  });

  it("lays tiles out in rows and widens the grid before the sheet gets too tall", () => {
    expect(spriteGrid(6, { width: 160, height: 90 }, 4)).toEqual({ columns: 4, rows: 2, width: 640, height: 180 });
    expect(spriteGrid(3, { width: 160, height: 90 })).toEqual({ columns: 3, rows: 1, width: 480, height: 90 });
    const tall = spriteGrid(100, { width: 320, height: 480 }, 1);
    expect(tall.height).toBeLessThanOrEqual(MAX_SHEET_SIDE);
    expect(tall.columns * tall.rows).toBeGreaterThanOrEqual(100);
  });

  it("writes one cue per tile, in timeline order, each rectangle inside the sheet", () => {
    const picks = pickFrames({ mode: "times", times: [{ seconds: 2 }, { seconds: 0 }, { seconds: 1 }, { seconds: 1 }] }, landscape);
    const tile = { width: 100, height: 50 };
    const grid = spriteGrid(picks.length, tile, 3);
    const cues = parseStoryboard(storyboardVtt(picks, grid, tile, "o.sprite.jpg"));
    // The repeated instant keeps its first tile (index 2), and the cues follow the timeline.
    expect(cues.map((c) => [c.from, c.to, c.x, c.y])).toEqual([[0, 1, 100, 0], [1, 2, 200, 0], [2, 3, 0, 0]]);
    for (const c of cues) {
      expect(c.file).toBe("o.sprite.jpg");
      expect(c.x + c.w).toBeLessThanOrEqual(grid.width);
      expect(c.y + c.h).toBeLessThanOrEqual(grid.height);
    }
  });

  it("with a clip, picks frames on the clip's timeline and seeks each to the clip's start plus its instant", () => {
    const clip = { start: 1, durationS: 1.5, cut: true };
    const seeks = (cmd: { args: string[] }) => cmd.args.flatMap((a, i) => (a === "-ss" ? [Number(cmd.args[i + 1])] : []));
    // Seconds and percentages count from the clip's start, clamped to its last frame.
    const times = buildThumbnailCommand(thumbs({ mode: "times", times: [{ seconds: 0 }, { percent: 50 }, { seconds: 9 }] }), landscape, "o", clip);
    expect(seeks(times)).toEqual([1, 1.75, 1 + 1.5 - 1.5 / 30]);
    expect(times.args.filter((a) => a === "-i")).toHaveLength(3);
    // An interval spans the clip only; its storyboard's cues are on the clip's timeline.
    const sprite = buildThumbnailCommand(thumbs({ mode: "interval", seconds: 0.5 }, { sprite: {} }), landscape, "o", clip);
    expect(seeks(sprite)).toEqual([1, 1.5, 2]);
    expect(sprite.post).toMatchObject({ kind: "text" });
    expect(parseStoryboard((sprite.post as { text: string }).text).map((c) => [c.from, c.to])).toEqual([[0, 0.5], [0.5, 1], [1, 1.5]]);
  });

  it("names every file after the output and never lets a spec reach the filter graph as text", () => {
    const cmd = buildThumbnailCommand(thumbs({ mode: "count", count: 2 }, { width: 320 }), landscape, "out_a");
    expect(cmd.outputs).toEqual(["out_a.001.jpg", "out_a.002.jpg"]);
    expect(cmd.main).toBe("out_a.001.jpg");
    const sprite = buildThumbnailCommand(thumbs({ mode: "count", count: 2 }, { format: "png", sprite: {} }), landscape, "out_b");
    expect(sprite).toMatchObject({ outputs: ["out_b.sprite.png", "out_b.storyboard.vtt"], main: "out_b.storyboard.vtt", factsFrom: "out_b.sprite.png" });
    expect(sprite.args[sprite.args.indexOf("-filter_complex") + 1]).toContain("tile=2x1");
    expect(sprite.post).toMatchObject({ kind: "text", target: "out_b.storyboard.vtt" });
  });
});

describe("thumbnails with real ffmpeg", () => {
  it("takes stills at a time and at a percentage, each the very frame at that instant", async () => {
    const spec = thumbs({ mode: "times", times: [{ seconds: 1 }, { percent: 50 }] }, { format: "png", width: 320 });
    const { dir, cmd } = await encodeClip("landscape", spec, "out");
    expect(cmd.outputs).toHaveLength(2);
    for (const [i, at] of [1, 1.5].entries()) {
      const file = path.join(dir, cmd.outputs[i]!);
      expect(videoStream(ffprobe(file))).toMatchObject({ codec_name: "png", width: 320, height: 180 });
      // The same frame decoded and scaled by ffmpeg directly: the pixels must match exactly (PNG is lossless).
      const reference = execFileSync("ffmpeg", ["-v", "error", "-ss", String(at), "-i", clipPath("landscape"), "-frames:v", "1", "-vf", "scale=320:180,setsar=1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
      const ours = execFileSync("ffmpeg", ["-v", "error", "-i", file, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
      expect(ours.equals(reference), `frame at ${at} s`).toBe(true);
    }
  });

  it("writes jpeg stills spread by count at the source size when no size is given", async () => {
    const { dir, cmd } = await encodeClip("portrait", thumbs({ mode: "count", count: 3 }), "out");
    expect(readdirSync(dir).filter((f) => f.startsWith("out.")).sort()).toEqual(["out.001.jpg", "out.002.jpg", "out.003.jpg"]);
    for (const file of cmd.outputs) expect(videoStream(ffprobe(path.join(dir, file)))).toMatchObject({ codec_name: "mjpeg", width: 360, height: 640 });
  });

  it("tiles a sprite sheet whose storyboard cues lie inside it and cover the whole clip", async () => {
    const { dir, cmd } = await encodeClip("landscape", thumbs({ mode: "interval", seconds: 0.5 }, { sprite: { columns: 4 } }), "out");
    const sheet = videoStream(ffprobe(path.join(dir, cmd.factsFrom!)))!;
    expect(sheet).toMatchObject({ codec_name: "mjpeg", width: 640, height: 180 });
    const cues = parseStoryboard(readFileSync(path.join(dir, cmd.main), "utf8"));
    expect(cues).toHaveLength(6);
    expect(cues[0]!.from).toBe(0);
    expect(cues.at(-1)!.to).toBe(3);
    for (const [i, cue] of cues.entries()) {
      expect(cue).toMatchObject({ file: "out.sprite.jpg", w: 160, h: 90 });
      expect(cue.x + cue.w).toBeLessThanOrEqual(sheet.width!);
      expect(cue.y + cue.h).toBeLessThanOrEqual(sheet.height!);
      if (i > 0) expect(cue.from).toBe(cues[i - 1]!.to);
    }
    // Different instants make different tiles: the first and last tile are not the same picture.
    const tile = async (c: Cue) => sharp(path.join(dir, cmd.factsFrom!)).extract({ left: c.x, top: c.y, width: c.w, height: c.h }).raw().toBuffer();
    expect((await tile(cues[0]!)).equals(await tile(cues[5]!))).toBe(false);
  });

  it("makes a webp sprite sheet of a fixed tile size", async () => {
    const { dir, cmd } = await encodeClip("landscape", thumbs({ mode: "count", count: 5 }, { format: "webp", width: 96, height: 96, sprite: {} }), "out");
    const meta = await sharp(path.join(dir, cmd.factsFrom!)).metadata();
    expect(meta).toMatchObject({ format: "webp", width: 5 * 96, height: 96 });
  });
});

describe("thumbnail tasks and probe-only orders through the encoder service", { timeout: 60_000 }, () => {
  const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-thumbs-work-"));
  let media: Awaited<ReturnType<typeof startMediaServer>>;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let encoder: Awaited<ReturnType<typeof startEncoder>>;
  const eventsOf = (jobId: string) => sink.events.filter((e) => e.job_id === jobId);

  beforeAll(async () => {
    process.env.KILN_WORK_DIR = workDir;
    media = await startMediaServer({ "landscape.mp4": clipPath("landscape") });
    sink = await startSink();
    encoder = await startEncoder({ concurrency: 2, heartbeatMs: 200 });
  });
  afterAll(async () => {
    await encoder?.close();
    await sink?.close();
    await media?.close();
  });

  it("runs a thumbnail task beside a video task and exports the sheet and storyboard with the sheet's facts", async () => {
    await encoder.call("POST", "/work", sink.order("job_thumbs", media.url("landscape.mp4"), [
      { task_id: "t_v", output_id: "out_v", spec: { kind: "video", format: "mp4", codec: "h264", width: 320, quality: "very_low" } },
      { task_id: "t_s", output_id: "out_s", spec: thumbs({ mode: "interval", seconds: 1 }, { sprite: {} }) },
    ]));
    await sink.waitFor((e) => e.job_id === "job_thumbs" && e.type === "job_completed");
    const done = eventsOf("job_thumbs").filter((e): e is Extract<EncoderEvent, { type: "task_completed" }> => e.type === "task_completed" && e.task_id === "t_s");
    expect(done).toHaveLength(1);
    const facts = done[0]!.output!;
    expect(facts).toMatchObject({ output_id: "out_s", main: "out_s.storyboard.vtt", width: 480, height: 90, codec: "mjpeg", duration_ms: null });
    expect(facts.files.map((f) => [f.path, f.content_type]).sort()).toEqual([["out_s.sprite.jpg", "image/jpeg"], ["out_s.storyboard.vtt", "text/vtt"]]);
    const cues = parseStoryboard(sink.uploads.get("out_s.storyboard.vtt")!.bytes.toString());
    expect(cues.map((c) => [c.from, c.to, c.x])).toEqual([[0, 1, 0], [1, 2, 160], [2, 3, 320]]);
    const sheetFile = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-sheet-")), "sheet.jpg");
    writeFileSync(sheetFile, sink.uploads.get("out_s.sprite.jpg")!.bytes);
    expect(videoStream(ffprobe(sheetFile))).toMatchObject({ width: 480, height: 90 });
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("imports and probes a probe-only order, then stops: no encode, no export, the probe's completion is its last event", async () => {
    const order = { ...sink.order("job_probe_only", media.url("landscape.mp4"), [
      { task_id: "t_v", output_id: "out_po", spec: { kind: "video", format: "mp4", codec: "h264" } },
    ]), probe_only: true };
    await encoder.call("POST", "/work", order);
    await sink.waitFor((e) => e.job_id === "job_probe_only" && e.type === "task_completed" && e.stage === "probe");
    await expect.poll(() => encoder.running.has("job_probe_only"), { timeout: 10_000 }).toBe(false);
    const milestones = eventsOf("job_probe_only").filter((e) => e.type !== "progress" && e.type !== "heartbeat").map((e) => `${e.type}:${"stage" in e ? e.stage : ""}`);
    expect(milestones).toEqual(["task_started:import", "task_completed:import", "task_started:probe", "metadata:", "task_completed:probe"]);
    expect([...sink.uploads.keys()].filter((k) => k.startsWith("out_po"))).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("stops before encoding when the probe's completion is answered cancel", async () => {
    sink.setDirective((e) => (e.job_id === "job_paused" && e.type === "task_completed" && e.stage === "probe" ? "cancel" : "continue"));
    await encoder.call("POST", "/work", sink.order("job_paused", media.url("landscape.mp4"), [
      { task_id: "t_v", output_id: "out_p", spec: { kind: "video", format: "mp4", codec: "h264" } },
    ]));
    const failed = await sink.waitFor((e) => e.job_id === "job_paused" && e.type === "task_failed" && e.task_id === null);
    expect((failed as Extract<EncoderEvent, { type: "task_failed" }>).error.code).toBe("canceled");
    sink.setDirective(() => "continue");
    expect(eventsOf("job_paused").some((e) => e.type === "task_started" && e.stage === "encode")).toBe(false);
  });
});
