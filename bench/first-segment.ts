// `npm run bench:first-segment`: how soon a 3-rung HLS ladder plays (by hand, not in CI).
//
// Against the whole local stack (wrangler dev + the encoder, as `npm start` runs them),
// an outputs job turns the 20 s 1080p30 clip, served on loopback, into one hls output
// of 1080p, 720p and 480p (+ audio). Timed from the moment the job is submitted:
//   - first segment: every rung's first segment fetchable through the job's signed
//     master URL (the master, each variant playlist and its first segment answer 200),
//     checked when the job's Watch says `playable` (followed, not polled: the bench adds
//     no load beside the encode);
//   - completed: the job completed, its whole package stored (what a caller waited for
//     before packages were published as they are encoded);
// and, in the same run, bare ffmpeg with the same command (buildRenditionsCommand +
// ffmpegArgv, its playlists written as EVENT ones) on a local copy of the clip: from
// spawn to every variant playlist naming a segment on local disk, and to its exit.
// BENCH_RUNS (default 3) runs of each, alternating which goes first; medians compared.
// Goal: first segment ≤ 5 s, and ≤ 1.5 s beyond bare ffmpeg's. The last line,
// seconds=<submit → every rung's first segment fetchable>, is the number to watch.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { OutputSpec } from "../encoder/contract";
import { buildRenditionsCommand } from "../encoder/ffmpeg/renditions";
import { playlistEntries } from "../encoder/ffmpeg/playlists";
import { probeFile } from "../encoder/ffmpeg/probe";
import { ffmpegArgv } from "../encoder/ffmpeg/runner";
import { type WatchEvent, bootStack, serveFiles, watchJob } from "../test/e2e/harness";
import { benchClip, median, sec, table } from "./shared";

const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const GOAL_S = 5;
const GOAL_BEYOND_BARE_S = 1.5;
const POLL_MS = 50;
const JOB_TIMEOUT_MS = 20 * 60_000;

const ladder = { type: "hls", video: [{ codec: "h264", resolution: "1080p" }, { codec: "h264", resolution: "720p" }, { codec: "h264", resolution: "480p" }] } as const;

const clip = benchClip();
const media = await serveFiles({ "clip.mp4": clip });
const stack = await bootStack();
const headers = { authorization: `Bearer ${stack.devKey}`, "content-type": "application/json" };

async function getText(url: string): Promise<string | null> {
  const res = await fetch(url).catch(() => null);
  if (!res?.ok) {
    await res?.body?.cancel();
    return null;
  }
  return res.text();
}

/** Whether every variant the master names has a first segment that answers 200, through the signed URLs. */
async function firstSegmentsFetchable(masterUrl: string): Promise<boolean> {
  const master = await getText(masterUrl);
  if (!master) return false;
  const variants = playlistEntries(master).playlists.map((uri) => new URL(uri, masterUrl).toString());
  if (variants.length < ladder.video.length) return false;
  const ready = await Promise.all(
    variants.map(async (variantUrl) => {
      const playlist = await getText(variantUrl);
      const first = playlist ? playlistEntries(playlist).segments[0] : undefined;
      if (!first) return false;
      const res = await fetch(new URL(first, variantUrl)).catch(() => null);
      await res?.body?.cancel();
      return res?.ok === true;
    }),
  );
  return ready.every(Boolean);
}

/**
 * One job through the stack: submit → every rung's first segment fetchable, and →
 * completed. The job is followed over its Watch, not polled, so the bench adds no load
 * of its own beside the encode: at `playable` the first segments are checked through the
 * signed URLs (polled only if one does not answer yet), at `completed` the job is done.
 */
async function viaStack(): Promise<{ firstS: number; completedS: number; encodeStartedS: number; playableS: number }> {
  const submitted = performance.now();
  const res = await fetch(`${stack.url}/v1/jobs`, { method: "POST", headers, body: JSON.stringify({ input: media.url("clip.mp4"), outputs: [ladder] }) });
  const job = (await res.json()) as { id: string };
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(job)}`);
  const watch = await watchJob(stack, job.id);
  const next = async (wanted: (e: WatchEvent) => boolean) => {
    for (;;) {
      const event = watch.events.find((e) => wanted(e) || e.event === "completed");
      if (event) return event;
      if (performance.now() - submitted > JOB_TIMEOUT_MS) throw new Error(`job ${job.id} took too long`);
      await sleep(POLL_MS);
    }
  };
  // A job playable before its Watch opened shows it in the snapshot.
  const playable = await next((e) => e.event === "playable" || e.job.outputs[0]?.playable_at != null);
  const url = playable.job.outputs[0]?.output_url as string | undefined;
  if (!url) throw new Error(`job ${job.id} has no URL at ${playable.event}; logs in ${stack.logFile}`);
  while (!(await firstSegmentsFetchable(url))) await sleep(POLL_MS);
  const firstS = (performance.now() - submitted) / 1000;
  const completed = await next(() => false);
  if (completed.job.status !== "completed") throw new Error(`job ${job.id} ended ${completed.job.status}; logs in ${stack.logFile}`);
  const completedS = (performance.now() - submitted) / 1000;
  await watch.closed;
  // Where the time went, by the job's own clock: from its creation to its encode starting and to its package playing.
  const view = completed.job as { created_at: string; tasks: { kind: string; started_at: string | null }[]; outputs: { playable_at: string | null }[] };
  const since = (iso: string | null | undefined) => (iso ? (Date.parse(iso) - Date.parse(view.created_at)) / 1000 : NaN);
  return { firstS, completedS, encodeStartedS: since(view.tasks.find((t) => t.kind === "encode")?.started_at), playableS: since(view.outputs[0]?.playable_at) };
}

/** Bare ffmpeg, the job's own command: spawn → every variant playlist names a segment on disk, and → exit. */
async function bare(): Promise<{ firstS: number; exitS: number }> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), "kiln-bench-first-"));
  copyFileSync(clip, path.join(cwd, "input"));
  const probed = await probeFile("input", cwd);
  const spec: OutputSpec = { kind: "output", ...ladder, video: [...ladder.video] };
  const command = buildRenditionsCommand([{ outputId: "out", spec, progressive: true }], { ...probed.source, file: "input" });
  const rungs = command.layouts[0]!.variants.map((v) => path.join(cwd, "out", v.name, "index.m3u8"));
  try {
    const started = performance.now();
    const child = spawn("ffmpeg", ffmpegArgv(command), { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr = (stderr + c).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    let done = false;
    void exited.then(() => (done = true));
    let firstS: number | null = null;
    while (!done && firstS === null) {
      const listed = rungs.every((file) => {
        try {
          return playlistEntries(readFileSync(file, "utf8")).segments.length > 0;
        } catch {
          return false;
        }
      });
      if (listed) firstS = (performance.now() - started) / 1000;
      else await sleep(POLL_MS / 5);
    }
    const code = await exited;
    if (code !== 0) throw new Error(`bare ffmpeg exited with ${code}:\n${stderr}`);
    const exitS = (performance.now() - started) / 1000;
    return { firstS: firstS ?? exitS, exitS };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

let exitCode = 0;
try {
  console.log(`bench:first-segment: 20 s 1080p30 → hls 1080p/720p/480p, ${runs} run(s) each, stack at ${stack.url} (logs in ${stack.logFile})`);
  // Not counted: the first job warms the Worker, the encoder's code and the page cache.
  await viaStack();
  const stacked: Awaited<ReturnType<typeof viaStack>>[] = [];
  const bareRuns: { firstS: number; exitS: number }[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      stacked.push(await viaStack());
      bareRuns.push(await bare());
    } else {
      bareRuns.push(await bare());
      stacked.push(await viaStack());
    }
    const [kiln, plain] = [stacked.at(-1)!, bareRuns.at(-1)!];
    console.log(
      `run ${i + 1}: first segment ${sec(kiln.firstS)} s (bare ${sec(plain.firstS)} s; job created → encode started ${sec(kiln.encodeStartedS)} s, → playable_at ${sec(kiln.playableS)} s), ` +
        `completed ${sec(kiln.completedS)} s (bare exit ${sec(plain.exitS)} s)`,
    );
  }
  const first = median(stacked.map((r) => r.firstS));
  const completed = median(stacked.map((r) => r.completedS));
  const bareFirst = median(bareRuns.map((r) => r.firstS));
  const bareExit = median(bareRuns.map((r) => r.exitS));
  console.log(
    table([
      ["median of " + runs, "every rung's first segment", "whole package"],
      ["Kiln: submit → fetchable / completed", `${sec(first)} s`, `${sec(completed)} s`],
      ["bare ffmpeg: spawn → on local disk / exit", `${sec(bareFirst)} s`, `${sec(bareExit)} s`],
      ["beyond bare ffmpeg", `${sec(first - bareFirst)} s`, `${sec(completed - bareExit)} s`],
    ]),
  );
  console.log(`goal: first segment ≤ ${GOAL_S} s (${first <= GOAL_S ? "met" : "missed"}), ≤ ${GOAL_BEYOND_BARE_S} s beyond bare ffmpeg (${first - bareFirst <= GOAL_BEYOND_BARE_S ? "met" : "missed"})`);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`seconds=${sec(first)}`);
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await media.close();
  await stack.stop();
}
process.exit(exitCode);
