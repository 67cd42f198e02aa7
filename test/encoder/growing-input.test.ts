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

interface Pace {
  pauseMs: number;
  /** Hang up after the pause instead of sending the rest. */
  drop?: boolean;
}
const paces: Record<string, Pace> = {
  "/paced.mp4": { pauseMs: 2_000 },
  "/stalled.mp4": { pauseMs: 1_500 },
  "/dropped.mp4": { pauseMs: 1_500, drop: true },
};

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
  const bytes = readFileSync(path.join(scratch, FASTSTART));
  origin = createServer((req, res) => {
    const pace = paces[req.url ?? ""];
    if (!pace) return res.writeHead(404).end();
    const cut = Math.floor(bytes.length * 0.4);
    res.writeHead(200, { "content-type": "video/mp4", "content-length": bytes.length });
    res.write(bytes.subarray(0, cut));
    setTimeout(() => (pace.drop ? res.destroy() : res.end(bytes.subarray(cut))), pace.pauseMs);
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
