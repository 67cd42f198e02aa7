import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncodeSpec, EncoderEvent } from "../../encoder/contract";
import { probeFile } from "../../encoder/ffmpeg/probe";
import { clipPath } from "./clips";
import { audioStream, ffprobe, videoStream } from "./ffprobe";
import { startEncoder, startSink } from "./harness";

// A faststart input is probed and encoded while it is still arriving. The origin here
// sends the first 40% of the file, pauses, then sends the rest (or hangs up).

const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-growing-work-"));
process.env.KILN_WORK_DIR = workDir;
const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-growing-media-"));
const FASTSTART = "faststart.mp4";

/**
 * 8 s at a constant 2 Mb/s: larger than the front and end an MPEG-TS's timing is read
 * from, and longer than the 5 s of media ffprobe reads of it before answering (its
 * analyzeduration), so the probe can finish before the last bytes arrive.
 */
const TS = "cbr.ts";
const TS_SECONDS = 8;
const MKV = "clip.mkv";

interface Pace {
  pauseMs: number;
  /** Hang up after the pause instead of sending the rest. */
  drop?: boolean;
  file?: string;
  /** Answers a range request with the range (default: with the whole file, as a server that ignores ranges). */
  ranges?: boolean;
  /** The part of the file sent before the pause; default 0.4. */
  cut?: number;
}
const paces: Record<string, Pace> = {
  "/paced.mp4": { pauseMs: 2_000 },
  "/stalled.mp4": { pauseMs: 1_500 },
  "/dropped.mp4": { pauseMs: 1_500, drop: true },
  "/paced.ts": { pauseMs: 2_000, file: TS, ranges: true, cut: 0.8 },
  "/no-ranges.ts": { pauseMs: 1_000, file: TS },
  // Far enough into the file for x264 to have output frames (its lookahead) before the pause.
  "/paced.mkv": { pauseMs: 2_000, file: MKV, cut: 0.8 },
};
/** Range requests each route was sent. */
const rangesAsked = new Map<string, string[]>();
/** Output ids of the ffmpeg runs seen reading their stdin while an origin held the rest of a file back. */
const readingDuringPause = new Set<string>();

/** Output ids in the command lines of running ffmpeg processes that read their input from stdin. */
function ffmpegReadingStdin(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (!path.basename(argv[0] ?? "").startsWith("ffmpeg") || !argv.includes("pipe:0")) continue;
    found.push(...argv.flatMap((arg) => /o_job_[a-z_]+/.exec(arg)?.[0] ?? []));
  }
  return found;
}

let origin: Server;
let originUrl: string;
let sink: Awaited<ReturnType<typeof startSink>>;
/** Waits 5 s (the default) for bytes still to come. */
let patient: Awaited<ReturnType<typeof startEncoder>>;
/** Waits 200 ms: the origin's pause is longer. */
let hasty: Awaited<ReturnType<typeof startEncoder>>;
/** Keeps no ffprobe started ahead: it starts one for the probe. */
let cold: Awaited<ReturnType<typeof startEncoder>>;

beforeAll(async () => {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", clipPath("landscape"), "-c", "copy", "-movflags", "+faststart", path.join(scratch, FASTSTART)]);
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", `testsrc2=s=320x180:r=30:d=${TS_SECONDS}`, "-f", "lavfi", "-i", `sine=f=440:d=${TS_SECONDS}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "2M", "-minrate", "2M", "-maxrate", "2M", "-bufsize", "1M",
    "-x264-params", "nal-hrd=cbr", "-c:a", "aac", "-muxrate", "2300k", path.join(scratch, TS),
  ]);
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", clipPath("landscape"), "-c", "copy", path.join(scratch, MKV)]);
  const files = new Map([FASTSTART, TS, MKV].map((name) => [name, readFileSync(path.join(scratch, name))]));
  origin = createServer((req, res) => {
    const pace = paces[req.url ?? ""];
    if (!pace) return res.writeHead(404).end();
    const bytes = files.get(pace.file ?? FASTSTART)!;
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (range) rangesAsked.set(req.url!, [...(rangesAsked.get(req.url!) ?? []), req.headers.range!]);
    if (range && pace.ranges) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      res.writeHead(206, { "content-type": "video/mp2t", "content-length": to - from + 1, "content-range": `bytes ${from}-${to}/${bytes.length}` });
      return res.end(bytes.subarray(from, to + 1));
    }
    const cut = Math.floor(bytes.length * (pace.cut ?? 0.4));
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length });
    res.write(bytes.subarray(0, cut));
    const watch = setInterval(() => ffmpegReadingStdin().forEach((id) => readingDuringPause.add(id)), 50);
    setTimeout(() => {
      clearInterval(watch);
      if (pace.drop) res.destroy();
      else res.end(bytes.subarray(cut));
    }, pace.pauseMs);
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  sink = await startSink();
  patient = await startEncoder();
  hasty = await startEncoder({ growingInputWaitMs: 200 });
  cold = await startEncoder({ warmProbes: 0 });
});
afterAll(async () => {
  await patient.close();
  await hasty.close();
  await cold.close();
  await sink.close();
  await new Promise<void>((resolve) => origin.close(() => resolve()));
});

const spec: EncodeSpec = { kind: "video", format: "mp4", codec: "h264", width: 320, quality: "low" };
const eventsOf = (jobId: string) => sink.events.filter((e) => e.job_id === jobId);
const milestones = (jobId: string) => eventsOf(jobId).filter((e) => e.type !== "progress" && e.type !== "heartbeat").map((e) => `${e.type}:${"stage" in e ? e.stage : ""}`);

async function run(encoder: typeof patient, jobId: string, route: string, taskSpec = spec) {
  await encoder.call("POST", "/work", sink.order(jobId, `${originUrl}${route}`, [{ task_id: "t", output_id: `o_${jobId}`, spec: taskSpec }]));
  return sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)), 60_000);
}

/** The job's uploaded output, saved as a file, and ffprobe's description of it. */
function uploadedOutput(jobId: string) {
  const done = eventsOf(jobId).find((e) => e.type === "task_completed" && e.stage === "encode") as Extract<EncoderEvent, { type: "task_completed" }>;
  const file = path.join(scratch, `${jobId}.mp4`);
  writeFileSync(file, sink.uploads.get(done.output!.main)!.bytes);
  const probed = ffprobe(file);
  expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
  return { file, probed };
}

/** The job's output, checked with ffprobe: all 3 s of the clip at 320x180, with its audio. */
function expectWholeOutput(jobId: string) {
  const { file, probed } = uploadedOutput(jobId);
  expect(audioStream(probed)).toBeTruthy();
  expect(Number(probed.format.duration)).toBeGreaterThan(2.9);
  expect(Number(probed.format.duration)).toBeLessThan(3.1);
  const frames = execFileSync("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file], { encoding: "utf8" });
  expect(Number(frames.trim())).toBe(90);
}

describe("a faststart input still arriving", () => {
  it.each([
    ["an ffprobe started ahead", "job_paced", () => patient, 2],
    ["an ffprobe started for it", "job_paced_cold", () => cold, 0],
  ])("is probed by %s and encoded before its last bytes arrive, with the facts of the whole file", async (_how, jobId, encoder, warmUsed) => {
    const takenBefore = encoder().warmProbes.taken;
    expect((await run(encoder(), jobId, "/paced.mp4")).type).toBe("job_completed");
    // One for the input, one for the MP4 output's verification.
    expect(encoder().warmProbes.taken - takenBefore).toBe(warmUsed);
    const order = milestones(jobId);
    expect(order.indexOf("task_started:encode")).toBeGreaterThan(-1);
    expect(order.indexOf("task_started:encode")).toBeLessThan(order.indexOf("task_completed:import"));
    expectWholeOutput(jobId);

    // The metadata is what a probe of the whole file says, though the probe saw 40% of it.
    const whole = await probeFile(FASTSTART, scratch);
    const metadata = eventsOf(jobId).find((e) => e.type === "metadata") as Extract<EncoderEvent, { type: "metadata" }>;
    expect(metadata.input_metadata).toEqual(whole.metadata);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("is encoded from a seek point before its last bytes arrive", async () => {
    expect((await run(patient, "job_seek", "/paced.mp4", { ...spec, start: 1 })).type).toBe("job_completed");
    expect(milestones("job_seek").indexOf("task_started:encode")).toBeLessThan(milestones("job_seek").indexOf("task_completed:import"));
    const { probed } = uploadedOutput("job_seek");
    expect(Number(probed.format.duration)).toBeGreaterThan(1.9);
    expect(Number(probed.format.duration)).toBeLessThan(2.1);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("reads again, from the whole file, what came later than the encode would wait", async () => {
    expect((await run(hasty, "job_stalled", "/stalled.mp4")).type).toBe("job_completed");
    const order = milestones("job_stalled");
    expect(order.indexOf("task_started:encode")).toBeLessThan(order.indexOf("task_completed:import"));
    expectWholeOutput("job_stalled");
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("fails input_unreachable when the import breaks off under the encode, leaving nothing behind", async () => {
    const failed = (await run(patient, "job_dropped", "/dropped.mp4")) as Extract<EncoderEvent, { type: "task_failed" }>;
    expect(failed).toMatchObject({ type: "task_failed", stage: "import", error: { code: "input_unreachable" } });
    expect(milestones("job_dropped")).toContain("task_started:encode");
    expect(milestones("job_dropped")).not.toContain("task_completed:import");
    expect(readdirSync(workDir)).toEqual([]);
    // The encoder is free again.
    await expect.poll(() => patient.running.size).toBe(0);
  });
});

describe("an MPEG-TS or Matroska input still arriving", () => {
  /** The output ffprobe describes, checked for `seconds` of 320-wide video with its audio, every frame there. */
  function expectOutput(jobId: string, seconds: number) {
    const { file, probed } = uploadedOutput(jobId);
    expect(audioStream(probed)).toBeTruthy();
    expect(Math.abs(Number(probed.format.duration) - seconds)).toBeLessThan(0.1);
    const frames = execFileSync("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file], { encoding: "utf8" });
    // A frame more where the audio starts before the video, as when the file is read whole.
    expect(Math.abs(Number(frames.trim()) - seconds * 30)).toBeLessThanOrEqual(1);
  }
  const metadataOf = (jobId: string) => (eventsOf(jobId).find((e) => e.type === "metadata") as Extract<EncoderEvent, { type: "metadata" }>).input_metadata;
  /** Whether an ffmpeg making the job's output was reading the input from its stdin while the origin held its last bytes back. */
  const encodedWhileArriving = (jobId: string) => readingDuringPause.has(`o_${jobId}`);

  it.each([
    ["an MPEG-TS, its timing read from its end fetched ahead,", "job_ts", "/paced.ts", TS, TS_SECONDS],
    ["a Matroska file", "job_mkv", "/paced.mkv", MKV, 3],
  ])("%s is probed and encoded through ffmpeg's stdin before its last bytes arrive, with the facts of the whole file", async (_what, jobId, route, name, seconds) => {
    expect((await run(patient, jobId, route)).type).toBe("job_completed");
    expect(encodedWhileArriving(jobId)).toBe(true);
    expectOutput(jobId, seconds);
    expect(metadataOf(jobId)).toEqual((await probeFile(name, scratch)).metadata);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("an MPEG-TS from a server that ignores ranges waits for its last bytes, then is read whole", async () => {
    expect((await run(patient, "job_ts_whole", "/no-ranges.ts")).type).toBe("job_completed");
    expect(rangesAsked.get("/no-ranges.ts")).toHaveLength(1);
    expect(encodedWhileArriving("job_ts_whole")).toBe(false);
    expectOutput("job_ts_whole", TS_SECONDS);
    expect(metadataOf("job_ts_whole")).toEqual((await probeFile(TS, scratch)).metadata);
  });

  it("a Matroska encode that seeks into the input waits for the whole file (a pipe cannot seek)", async () => {
    expect((await run(patient, "job_mkv_seek", "/paced.mkv", { ...spec, start: 1 })).type).toBe("job_completed");
    // Probed as it arrived; encoded once it had.
    const order = milestones("job_mkv_seek");
    expect(order.indexOf("task_completed:probe")).toBeLessThan(order.indexOf("task_completed:import"));
    expect(encodedWhileArriving("job_mkv_seek")).toBe(false);
    expectOutput("job_mkv_seek", 2);
  });
});
