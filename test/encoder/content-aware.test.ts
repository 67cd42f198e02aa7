import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncoderEvent, OutputSpec } from "../../encoder/contract";
import type { SourceInfo } from "../../encoder/ffmpeg/command";
import { CAP_RANGE, MAX_CRF_OFFSET, buildComplexityProbeCommand, contentAwareAdjustment, planProbeSamples } from "../../encoder/ffmpeg/complexity";
import { buildRenditionsCommand, planVariants, streamingPeak } from "../../encoder/ffmpeg/renditions";
import { measureComplexity } from "../../encoder/pipeline/content-aware";
import { ffprobe, videoStream } from "./ffprobe";
import { startEncoder, startMediaServer, startSink } from "./harness";

/**
 * Content-aware (per-title) encoding: the probe's arithmetic and the per-rung choices
 * (pure), then real ffmpeg on two lavfi clips at the ends of the scale: a flat colour
 * and testsrc2 under heavy temporal noise.
 */

const source = (width: number, height: number, durationS: number): SourceInfo => ({ file: "input", width, height, durationS, fps: 25, hasVideo: true, hasAudio: false });
const out = (type: OutputSpec["type"], video: OutputSpec["video"], extra: Partial<OutputSpec> = {}): OutputSpec => ({ kind: "output", type, video, ...extra });
const simple = { complexity: 0, bitsPerPixel: 0.002, crfOffset: 4, capScale: 0.5 };
const complex = { complexity: 100, bitsPerPixel: 1.6, crfOffset: -4, capScale: 2 };

describe("complexity probe (pure)", () => {
  it("samples evenly spaced seconds inside the source, shorter ones for short sources", () => {
    expect(planProbeSamples(30)).toEqual([
      { startS: 4.5, lengthS: 1 },
      { startS: 14.5, lengthS: 1 },
      { startS: 24.5, lengthS: 1 },
    ]);
    expect(planProbeSamples(1.5)).toEqual([
      { startS: 0, lengthS: 0.5 },
      { startS: 0.5, lengthS: 0.5 },
      { startS: 1, lengthS: 0.5 },
    ]);
    for (const s of planProbeSamples(5)) expect(s.startS + s.lengthS).toBeLessThanOrEqual(5);
  });

  it("encodes the samples, seeked one by one and downscaled to a fixed short side, with x264 at a fixed CRF", () => {
    const cmd = buildComplexityProbeCommand(source(1920, 1080, 20));
    expect([cmd.width, cmd.height, cmd.frames, cmd.durationS]).toEqual([384, 216, 72, 3]);
    expect(cmd.args.filter((a) => a === "-i")).toHaveLength(3);
    expect(cmd.args.slice(0, 5)).toEqual(["-ss", "2.833", "-t", "1", "-i"]);
    const graph = cmd.args[cmd.args.indexOf("-filter_complex") + 1]!;
    expect(graph).toContain("[0:v:0]fps=24,scale=384:216,setsar=1,format=yuv420p[p0]");
    expect(graph).toContain("[p0][p1][p2]concat=n=3:v=1:a=0[probe]");
    expect(cmd.args.join(" ")).toContain("-c:v libx264 -preset veryfast -crf 23 -f h264 complexity_probe.h264");
    // A portrait source keeps its shape.
    expect(buildComplexityProbeCommand(source(360, 640, 2))).toMatchObject({ width: 216, height: 384 });
  });

  it("samples a clipped job's clip, not the whole source", () => {
    const cmd = buildComplexityProbeCommand(source(1920, 1080, 20), { start: 10, durationS: 3, cut: true });
    const seeks = cmd.args.flatMap((a, i) => (a === "-ss" ? [Number(cmd.args[i + 1])] : []));
    expect(seeks).toEqual([10, 11, 12]);
    expect(cmd.durationS).toBe(3);
  });

  it("maps bits per pixel to a bounded score, CRF offset and cap scale, monotonically", () => {
    const probe = { width: 384, height: 216, frames: 72 };
    const bytesFor = (bpp: number) => (bpp * 72 * 384 * 216) / 8;
    expect(contentAwareAdjustment(bytesFor(0.1), probe)).toEqual({ complexity: 50, bitsPerPixel: 0.1, crfOffset: 0, capScale: 1 });
    expect(contentAwareAdjustment(0, probe)).toMatchObject({ complexity: 0, crfOffset: MAX_CRF_OFFSET, capScale: 1 / CAP_RANGE });
    expect(contentAwareAdjustment(bytesFor(50), probe)).toMatchObject({ complexity: 100, crfOffset: -MAX_CRF_OFFSET, capScale: CAP_RANGE });
    const ladder = [0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 2].map((bpp) => contentAwareAdjustment(bytesFor(bpp), probe));
    for (let i = 1; i < ladder.length; i++) {
      expect(ladder[i]!.complexity).toBeGreaterThanOrEqual(ladder[i - 1]!.complexity);
      expect(ladder[i]!.crfOffset).toBeLessThanOrEqual(ladder[i - 1]!.crfOffset);
      expect(ladder[i]!.capScale).toBeGreaterThanOrEqual(ladder[i - 1]!.capScale);
    }
  });
});

describe("per-title choices per rung (pure)", () => {
  const src = source(1920, 1080, 20);
  const ladder = out("hls", [{ codec: "h264", resolution: "1080p" }, { codec: "h264", resolution: "720p", quality: "premium" }]);

  it("moves every rung's CRF by the offset and scales its peak cap", () => {
    const plain = planVariants(ladder, src);
    const easy = planVariants(ladder, src, simple);
    const hard = planVariants(ladder, src, complex);
    expect(plain.map((v) => [v.crf, v.maxrate, v.contentAware])).toEqual([
      [23, 5_000_000, false],
      [20, streamingPeak({ width: 1280, height: 720 }, "high"), false],
    ]);
    expect(easy.map((v) => [v.crf, v.maxrate, v.contentAware])).toEqual([
      [27, 2_500_000, true],
      [24, Math.round(plain[1]!.maxrate! * 0.5), true],
    ]);
    expect(hard.map((v) => [v.crf, v.maxrate])).toEqual([
      [19, 10_000_000],
      [16, plain[1]!.maxrate! * 2],
    ]);
    const args = buildRenditionsCommand([{ outputId: "o", spec: ladder, contentAware: simple }], src).args.join(" ");
    expect(args).toContain("-crf:v:0 27 -maxrate:v:0 2500000 -bufsize:v:0 5000000");
  });

  it("caps a file output too, scales the offset to vp9/av1 CRF steps and keeps CRFs in range", () => {
    const [mp4] = planVariants(out("mp4", [{ codec: "h264", resolution: "720p" }]), src, simple);
    expect([mp4!.crf, mp4!.maxrate]).toEqual([27, 1_400_000]);
    // Without content_aware a file in constant quality has no cap.
    expect(planVariants(out("mp4", [{ codec: "h264", resolution: "720p" }]), src)[0]!.maxrate).toBeNull();
    const [vp9] = planVariants(out("webm", [{ codec: "vp9", resolution: "720p" }]), src, simple);
    expect(vp9!.crf).toBe(33 + 6);
    expect(buildRenditionsCommand([{ outputId: "w", spec: out("webm", [{ codec: "vp9", resolution: "720p" }]), contentAware: simple }], src).args.join(" ")).toContain("-crf:v:0 39 -b:v:0 1400000");
    const [economyVp9] = planVariants(out("webm", [{ codec: "vp9", quality: "economy" }]), src, { ...simple, crfOffset: 40 });
    expect(economyVp9!.crf).toBe(63);
    const [av1] = planVariants(out("mp4", [{ codec: "av1", quality: "premium" }]), src, complex);
    expect(av1!.crf).toBe(30 - 6);
  });

  it("leaves a rung's own bitrate or crf alone", () => {
    const variants = planVariants(out("hls", [{ codec: "h264", height: 720, bitrate: 1500 }, { codec: "h264", height: 480, h264: { crf: 21 } }, { codec: "h264", height: 360 }]), src, simple);
    expect(variants.map((v) => [v.crf, v.bitrate, v.contentAware])).toEqual([
      [null, 1_500_000, false],
      [21, null, false],
      [27, null, true],
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// Real ffmpeg: a flat clip and a busy one.

const clipDir = path.join(os.tmpdir(), "kiln-test-clips");
/** ≤ 5 s, ≤ 640×360, like the shared clips; cached per machine. */
function lavfiClip(name: string, filter: string): string {
  const file = path.join(clipDir, `${name}.mp4`);
  if (existsSync(file)) return file;
  mkdirSync(clipDir, { recursive: true });
  const tmp = `${file}.part.${process.pid}.mp4`;
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", filter, "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", tmp]);
  execFileSync("mv", [tmp, file]);
  return file;
}
const flatClip = () => lavfiClip("flat", "color=c=0x3060a0:size=640x360:rate=25:duration=4");
const busyClip = () => lavfiClip("busy", "testsrc2=size=640x360:rate=25:duration=4,noise=alls=30:allf=t+u");
const clipSource: SourceInfo = source(640, 360, 4);

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function workDirWith(clip: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-content-aware-"));
  dirs.push(dir);
  symlinkSync(clip, path.join(dir, "input"));
  return dir;
}

describe("complexity probe on real clips", () => {
  it("scores a flat picture far below a noisy one and leaves nothing behind", async () => {
    const signal = new AbortController().signal;
    const flatDir = workDirWith(flatClip());
    const busyDir = workDirWith(busyClip());
    const flat = await measureComplexity(clipSource, { cwd: flatDir, signal });
    const busy = await measureComplexity(clipSource, { cwd: busyDir, signal });
    expect(flat.complexity).toBeLessThan(10);
    expect(busy.complexity).toBeGreaterThan(60);
    expect(flat.crfOffset).toBeGreaterThan(busy.crfOffset);
    expect(flat.capScale).toBeLessThan(busy.capScale);
    expect(flat.bitsPerPixel).toBeLessThan(busy.bitsPerPixel);
    expect(flat.probeMs).toBeGreaterThan(0);
    expect(execFileSync("ls", [flatDir], { encoding: "utf8" }).trim()).toBe("input");
  });
});

let media: Awaited<ReturnType<typeof startMediaServer>>;
let sink: Awaited<ReturnType<typeof startSink>>;
let encoder: Awaited<ReturnType<typeof startEncoder>>;
process.env.KILN_WORK_DIR = mkdtempSync(path.join(os.tmpdir(), "kiln-content-aware-work-"));

beforeAll(async () => {
  media = await startMediaServer({ "flat.mp4": flatClip(), "busy.mp4": busyClip() });
  sink = await startSink();
  encoder = await startEncoder({ concurrency: 2, heartbeatMs: 1000 });
});
afterAll(async () => {
  await encoder.close();
  await sink.close();
  await media.close();
});

type Completed = Extract<EncoderEvent, { type: "task_completed" }>;

async function runOrder(jobId: string, clip: string, tasks: { task_id: string; output_id: string; spec: OutputSpec }[]) {
  const res = await encoder.call("POST", "/work", sink.order(jobId, media.url(clip), tasks));
  expect(res.status).toBe(202);
  await sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)), 240_000);
  const events = sink.events.filter((e) => e.job_id === jobId);
  expect(events.at(-1)!.type).toBe("job_completed");
  return new Map(events.filter((e): e is Completed => e.type === "task_completed" && e.stage === "encode").map((e) => [e.task_id!, e.output!]));
}

/** The upload written back to disk, for ffprobe and for the encoder settings x264 writes into its stream. */
function saved(p: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-content-aware-out-")), path.basename(p));
  dirs.push(path.dirname(file));
  writeFileSync(file, sink.uploads.get(p)!.bytes);
  return file;
}
const x264Settings = (file: string) => /x264 - core.*$/m.exec(readFileSync(file).toString("latin1"))?.[0] ?? "";

describe("content-aware outputs through the encoder", () => {
  const tasks = (prefix: string) => [
    { task_id: `task_${prefix}_ca`, output_id: `out_${prefix}_ca`, spec: out("mp4", [{ codec: "h264" }], { content_aware: { mode: "per_title" } }) },
    { task_id: `task_${prefix}_plain`, output_id: `out_${prefix}_plain`, spec: out("mp4", [{ codec: "h264" }]) },
    { task_id: `task_${prefix}_hls`, output_id: `out_${prefix}_hls`, spec: out("hls", [{ codec: "h264", height: 360 }, { codec: "h264", height: 240 }], { content_aware: { mode: "per_title" } }) },
  ];

  it("gives the flat clip a higher CRF and lower caps than the busy one, reports them, and encodes with them", async () => {
    const flat = await runOrder("job_ca_flat", "flat.mp4", tasks("flat"));
    const busy = await runOrder("job_ca_busy", "busy.mp4", tasks("busy"));

    const flatDecision = flat.get("task_flat_ca")!.content_aware!;
    const busyDecision = busy.get("task_busy_ca")!.content_aware!;
    expect(flat.get("task_flat_plain")!.content_aware).toBeUndefined();
    expect(flatDecision.complexity).toBeLessThan(busyDecision.complexity);
    const [flatRung] = flatDecision.variants;
    const [busyRung] = busyDecision.variants;
    expect(flatRung).toMatchObject({ name: "h264_360p", codec: "h264", width: 640, height: 360, adjusted: true });
    expect(flatRung!.crf!).toBeGreaterThan(23);
    expect(busyRung!.crf!).toBeLessThan(23);
    expect(flatRung!.maxrate_kbps!).toBeLessThan(busyRung!.maxrate_kbps!);
    // Every rung of a ladder gets the title's adjustment; the probe ran once for the job.
    const hls = busy.get("task_busy_hls")!.content_aware!;
    expect(hls.variants.map((v) => [v.height, v.crf])).toEqual([
      [360, busyRung!.crf],
      [240, busyRung!.crf],
    ]);
    expect(hls.probe_ms).toBe(busyDecision.probe_ms);

    // What x264 wrote into each stream is what was reported.
    const flatFile = saved(flat.get("task_flat_ca")!.main);
    const busyFile = saved(busy.get("task_busy_ca")!.main);
    expect(x264Settings(flatFile)).toContain(`crf=${flatRung!.crf}.0`);
    expect(x264Settings(flatFile)).toContain(`vbv_maxrate=${flatRung!.maxrate_kbps}`);
    expect(x264Settings(busyFile)).toContain(`crf=${busyRung!.crf}.0`);
    expect(x264Settings(saved(busy.get("task_busy_plain")!.main))).toContain("crf=23.0");

    const flatProbed = ffprobe(flatFile);
    const busyProbed = ffprobe(busyFile);
    expect(videoStream(flatProbed)).toMatchObject({ codec_name: "h264", width: 640, height: 360 });
    expect(Number(flatProbed.format.bit_rate)).toBeLessThan(Number(busyProbed.format.bit_rate));
    // The busy clip's cap holds: its content-aware file stays under the cap the plain one ignores.
    expect(Number(busyProbed.format.bit_rate)).toBeLessThan(Number(ffprobe(saved(busy.get("task_busy_plain")!.main)).format.bit_rate));
  }, 240_000);
});
