import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncoderEvent, TranscodeOrderInput } from "../../encoder/contract";
import { type BadMedia, type JobKind, buildCorpus } from "./bad-media-corpus";
import { clipPath } from "./clips";
import { startEncoder, startMediaServer, startSink } from "./harness";

/**
 * The bad media corpus through the real encoder app: each file, for each job kind it
 * is meant for, must fail the job with its one specific code, within bounded time and
 * child memory, and the encoder must serve the next job right after.
 */

const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-bad-media-work-"));
process.env.KILN_WORK_DIR = workDir;

let media: Awaited<ReturnType<typeof startMediaServer>>;
let sink: Awaited<ReturnType<typeof startSink>>;
let encoder: Awaited<ReturnType<typeof startEncoder>>;

// Built at collection time: it.each needs the list (the build takes ~15 s of ffmpeg).
const corpusDir = mkdtempSync(path.join(os.tmpdir(), "kiln-bad-media-"));
const corpus: BadMedia[] = buildCorpus(corpusDir);
const runs = corpus.flatMap((m) => (Object.entries(m.expect) as [JobKind, string][]).map(([kind, code]) => ({ media: m, kind, code })));

beforeAll(async () => {
  const served: Record<string, string> = { "good.mp4": clipPath("small") };
  for (const m of corpus) served[`${m.name}/${path.basename(m.file)}`] = m.file;
  media = await startMediaServer(served);
  sink = await startSink();
  // One slot: the good job after each bad one is the very next the encoder runs.
  encoder = await startEncoder({ concurrency: 1 });
}, 60_000);

const measured: { name: string; kind: JobKind; wallS: number; rssMB: number; served: boolean }[] = [];
afterAll(async () => {
  await encoder?.close();
  await sink?.close();
  await media?.close();
  rmSync(corpusDir, { recursive: true, force: true });
  if (measured.length === 0) return;
  const wall = Math.max(...measured.map((m) => m.wallS));
  const rss = Math.max(...measured.map((m) => m.rssMB));
  const slowest = measured.reduce((a, b) => (b.wallS > a.wallS ? b : a));
  const hungriest = measured.reduce((a, b) => (b.rssMB > a.rssMB ? b : a));
  console.log(`bad media: slowest ${slowest.name}/${slowest.kind} ${slowest.wallS.toFixed(2)} s; largest child RSS ${hungriest.name}/${hungriest.kind} ${hungriest.rssMB.toFixed(0)} MB`);
  // Only what was measured: a run that missed its code is not in `measured`.
  const codes = measured.length === runs.length ? "all failed with specific codes" : `${measured.length} of ${runs.length} failed with their codes`;
  const served = measured.every((m) => m.served) ? "next job served after each" : `next job served after ${measured.filter((m) => m.served).length}`;
  console.log(`figures: bad media ${corpus.length} files, ${measured.length} job runs, ${codes}; max wall ${wall.toFixed(2)} s, max child RSS ${rss.toFixed(0)} MB; ${served}`);
});

/**
 * The peak resident memory of every child process of this one (the encoder runs in
 * it: its ffmpeg and ffprobe runs are our children), sampled from /proc while `work` runs.
 */
async function childPeakRss<T>(work: () => Promise<T>): Promise<{ value: T; peakBytes: number }> {
  const peaks = new Map<number, number>();
  const sample = () => {
    for (const task of safeList(`/proc/${process.pid}/task`)) {
      for (const pid of safeRead(`/proc/${process.pid}/task/${task}/children`).split(/\s+/).filter(Boolean).map(Number)) {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(safeRead(`/proc/${pid}/status`));
        if (hwm) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, Number(hwm[1]) * 1024));
      }
    }
  };
  const timer = setInterval(sample, 20);
  try {
    const value = await work();
    sample();
    return { value, peakBytes: Math.max(0, ...peaks.values()) };
  } finally {
    clearInterval(timer);
  }
}
const safeList = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};
const safeRead = (file: string) => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
};

const isFailure = (e: EncoderEvent): e is Extract<EncoderEvent, { type: "task_failed" }> => e.type === "task_failed";

/** Resolves with the job's events once it has ended: its last word (job_completed, or a failure of the job or, for style, of a stage). */
async function finished(jobId: string, kind: JobKind): Promise<EncoderEvent[]> {
  await sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && (e.task_id === null || kind === "style"))), 180_000);
  return sink.events.filter((e) => e.job_id === jobId);
}

function order(jobId: string, url: string, kind: JobKind) {
  if (kind === "style") return sink.styleOrder(jobId, url, null, null);
  const spec: TranscodeOrderInput["tasks"][number]["spec"] =
    kind === "video"
      ? { kind: "video", format: "mp4", codec: "h264" }
      : kind === "audio"
        ? { kind: "audio", format: "mp3" }
        : kind === "image"
          ? { kind: "image", format: "jpeg" }
          : { kind: "output", type: "mp4", video: [{ codec: "h264", resolution: "480p" }] };
  return sink.order(jobId, url, [{ task_id: `task_${jobId}`, output_id: `out_${jobId}`, spec }]);
}

describe("bad media corpus", () => {
  it("holds at least 25 files, each run through at least one job kind", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(25);
    expect(new Set(corpus.map((m) => m.name)).size).toBe(corpus.length);
    for (const m of corpus) expect(Object.keys(m.expect).length, m.name).toBeGreaterThan(0);
  });

  it("still fails a whole input longer than the order allows with input_too_large", async () => {
    // The lying header's check (its data read first) must not turn a real length into damage.
    const jobId = "job_over_duration";
    const tooLong = { ...order(jobId, media.url("good.mp4"), "video"), limits: { max_duration_s: 1 } };
    expect((await encoder.call("POST", "/work", tooLong)).status).toBe(202);
    const failures = (await finished(jobId, "video")).filter(isFailure);
    expect(failures.map((f) => f.error.code)).toEqual(["input_too_large"]);
    expect(failures[0]!.error.message).toMatch(/lasts 2 s; the limit is 1 s/);
  }, 120_000);

  it.each(runs.map((r) => [r.media.name, r.kind, r.code, r] as const))("%s as a %s job fails with %s, and the next job is served", async (name, kind, code, run) => {
    const jobId = `job_bad_${name.replace(/\W/g, "_")}_${kind}`;
    const url = media.url(`${name}/${path.basename(run.media.file)}`);
    const started = performance.now();
    const { value: events, peakBytes } = await childPeakRss(async () => {
      expect((await encoder.call("POST", "/work", order(jobId, url, kind))).status).toBe(202);
      return finished(jobId, kind);
    });
    const wallS = (performance.now() - started) / 1000;
    const failures = events.filter(isFailure);
    expect(failures.length, `${name}: ${run.media.what} as ${kind}: ${events.map((e) => e.type).join(", ")}`).toBeGreaterThan(0);
    expect(
      failures.map((f) => f.error.code),
      `${name} (${run.media.what}) as ${kind}: ${failures.map((f) => f.error.message).join(" | ")}`,
    ).toEqual(failures.map(() => code));
    for (const f of failures) expect(f.error.message.length).toBeGreaterThan(0);
    // Nothing was made of it.
    expect(events.some((e) => e.type === "task_completed" && e.stage === "encode")).toBe(false);
    const record = { name, kind, wallS, rssMB: peakBytes / 1024 ** 2, served: false };
    measured.push(record);

    // The next job: a still of a good clip, the cheapest job that goes through the same slot, import, probe, encode and export.
    const next = `${jobId}_next`;
    expect((await encoder.call("POST", "/work", order(next, media.url("good.mp4"), "image"))).status).toBe(202);
    const after = await finished(next, "image");
    expect(after.filter(isFailure), `the job after ${name}`).toEqual([]);
    expect(after.at(-1)?.type).toBe("job_completed");
    expect(after.some((e) => e.type === "task_completed" && e.stage === "encode")).toBe(true);
    expect(readdirSync(workDir)).toEqual([]);
    record.served = true;
  }, 400_000);
});
