// `npm run bench:encode`: what the encoder costs on top of ffmpeg (by hand, not in CI).
//
// 1. video: a 20 s 1080p clip → 720p h264 mp4, the same work on both sides, each timed
//    from "input available" (at the same loopback URL) to "output verified and stored":
//    - the encoder: a whole job (work order in, import over HTTP, probe, encode, verify
//      ∥ export to a local signed-URL sink, every event posted), POST → job_completed;
//    - bare: what a script around ffmpeg does: download the same bytes from the same
//      server, run ffmpeg with the argv the job ran (read from its spawn; only the
//      growing-input options dropped, since the file is whole), then ffprobe the output
//      ∥ PUT it to the same sink.
//    Both ffmpeg runs inherit this process's environment, get no -threads (x264 sizes
//    its threads from the same cores; the bench prints each run's peak thread count)
//    and run in a session of their own, as the runner starts them (with autogroup
//    scheduling a session shares the CPU as one). Goal ≤ 1.05. A ratio under 1.00 means the job did something the
//    script does not (it encodes a faststart input while it is still arriving, and
//    verifies with a warm ffprobe); the bench says which, with its figures.
// 2. ladder: the adaptive_video HLS command (one decode, split to every rung) ÷ one
//    separate ffmpeg per rung, each decoding the input again. Under 1.00 by design; goal
//    ≤ 0.70.
//
// Each scenario runs BENCH_RUNS times (default 3), alternating which side goes first,
// and the medians are compared. The video scenario first runs one job and one bare
// pipeline that are not counted: the encoder is a long-running service, and its first
// job pays for a cold process (the import's code not yet compiled), which no later job
// does. After each job the bench waits a second: the encoder starts its next warm
// ffprobes when a job ends, and that must not share the CPU with the next measured run.
// BENCH_WARM_PROBES=0 runs the encoder without warm ffprobes. The last line,
// ratio=<encoder ÷ bare pipeline>, is the number to watch.
import childProcess, { type ChildProcess } from "node:child_process";
import { copyFileSync, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { EncodeSpec, EncoderEvent } from "../encoder/contract";
import type { FfmpegCommand } from "../encoder/ffmpeg/command";
import { buildEncodeCommand } from "../encoder/ffmpeg/encode";
import { displaySize } from "../encoder/ffmpeg/framing";
import { planLadder } from "../encoder/ffmpeg/hls";
import { probeFile } from "../encoder/ffmpeg/probe";
import { fileIndexComesFirst } from "../encoder/media/mp4-layout";
import { startEncoder, startMediaServer, startSink } from "../test/encoder/harness";
import { benchClip, clean, median, peakThreads, runArgv, runBare, sec, table } from "./shared";

const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const VIDEO_GOAL = 1.05;
const LADDER_GOAL = 0.7;
const JOB_TIMEOUT_MS = 30 * 60_000;
/** Long enough for the warm ffprobes a job's end starts to finish starting. */
const REFILL_SETTLE_MS = 1_000;

const videoSpec: EncodeSpec = { kind: "video", format: "mp4", codec: "h264", height: 720, quality: "medium" };
const ladderSpec: EncodeSpec = { kind: "adaptive_video", format: "hls", quality: "medium" };

// ---------------------------------------------------------------------------------------
// Child-process trace: which ffmpeg/ffprobe runs the encoder made inside a job and how
// long each took. Wrapping the builtin module's exports (and syncing the ESM bindings)
// reaches the encoder's `import { spawn, execFile }` without touching its code. Times,
// argv and ffmpeg's thread count are recorded; the bench's own bare runs use the
// unwrapped spawn.

interface Proc {
  what: string;
  start: number;
  end: number;
  argv: string[];
  /** The most threads it had at once (ffmpeg runs only). */
  threads: number;
}
const traced: Proc[] = [];
let tracing = false;
const realSpawn = childProcess.spawn;
const realExecFile = childProcess.execFile;

function procKind(file: unknown, args: unknown): string {
  const argv = Array.isArray(args) ? (args as string[]) : [];
  const tool = path.basename(String(file));
  if (tool.includes("ffprobe")) {
    if (argv.includes("-show_frames")) return "ffprobe head check";
    if (argv.includes("-show_packets")) return "ffprobe tail check";
    return "ffprobe streams";
  }
  return tool;
}

function track(child: ChildProcess, file: unknown, args: unknown): void {
  if (!tracing) return;
  const what = procKind(file, args);
  const proc = { what, start: performance.now(), end: Number.NaN, argv: Array.isArray(args) ? [...(args as string[])] : [], threads: 0 };
  const threads = what === "ffmpeg" ? peakThreads(child.pid) : null;
  child.once("close", () => {
    proc.end = performance.now();
    proc.threads = threads?.stop() ?? 0;
    traced.push(proc);
  });
}

(childProcess as { spawn: unknown }).spawn = function (this: unknown, ...args: unknown[]) {
  const child = (realSpawn as (...a: unknown[]) => ChildProcess).apply(this, args);
  track(child, args[0], args[1]);
  return child;
};
(childProcess as { execFile: unknown }).execFile = function (this: unknown, ...args: unknown[]) {
  const child = (realExecFile as (...a: unknown[]) => ChildProcess).apply(this, args);
  track(child, args[0], args[1]);
  return child;
};
syncBuiltinESMExports();

function valueAfter(args: string[], flag: string): string {
  const i = args.indexOf(flag);
  if (i < 0 || i + 1 >= args.length) throw new Error(`the ladder command has no ${flag}`);
  return args[i + 1]!;
}

/**
 * One ffmpeg per rung, derived from the ladder command's own arguments so the codec
 * settings are the same: that rung's branch of the filter graph as -vf, the same x264
 * preset/CRF, that rung's maxrate/bufsize, the same forced keyframes and HLS muxer
 * options, one variant per run. Audio (encoded once in the ladder) rides with the
 * first rung's run, so the total work is the same; only the decodes multiply.
 */
function perRungCommands(ladder: FfmpegCommand, rungNames: string[], hasAudio: boolean): FfmpegCommand[] {
  const a = ladder.args;
  const graph = valueAfter(a, "-filter_complex").split(";").slice(1);
  return rungNames.map((name, i) => {
    const branch = graph[i]!;
    const filters = branch.slice(`[s${i}]`.length, branch.length - `[v${i}]`.length);
    const withAudio = hasAudio && i === 0;
    const base = `rung_${name}`;
    const streamMap = withAudio ? `v:0,agroup:audio,name:${name} a:0,agroup:audio,name:audio` : `v:0,name:${name}`;
    return {
      args: [
        "-i", valueAfter(a, "-i"),
        "-map", "0:v:0", "-vf", filters,
        ...(withAudio ? ["-map", "0:a:0", "-c:a", valueAfter(a, "-c:a"), "-b:a", valueAfter(a, "-b:a")] : []),
        "-c:v", "libx264", "-preset", valueAfter(a, "-preset"), "-crf", valueAfter(a, "-crf"),
        "-maxrate:v:0", valueAfter(a, `-maxrate:v:${i}`), "-bufsize:v:0", valueAfter(a, `-bufsize:v:${i}`),
        "-force_key_frames", valueAfter(a, "-force_key_frames"),
        "-sc_threshold", "0",
        "-f", "hls",
        "-hls_time", valueAfter(a, "-hls_time"),
        "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4",
        "-hls_flags", "independent_segments",
        "-hls_fmp4_init_filename", "init_%v.mp4",
        "-hls_segment_filename", `${base}/%v/seg_%03d.m4s`,
        "-var_stream_map", streamMap,
        `${base}/%v/index.m3u8`,
      ],
      outputs: [`${base}/${name}/index.m3u8`],
      main: `${base}/${name}/index.m3u8`,
      durationS: ladder.durationS,
    };
  });
}

// ---------------------------------------------------------------------------------------

interface EncoderRun {
  total: number;
  /** When the import's completion was reported, in seconds from the POST. */
  importDone: number;
  /** When the job's ffmpeg started and how long it ran, in seconds. */
  ffmpegStart: number;
  ffmpeg: number;
  /** Seconds per stage, in pipeline order. */
  stages: Record<string, number>;
  procs: Proc[];
  /** The argv of the job's ffmpeg run, and the most threads it had. */
  argv: string[];
  threads: number;
  /** ffprobes the job took from the encoder's warm ones (started before the job). */
  warmProbes: number;
}

interface BareRun {
  total: number;
  download: number;
  ffmpeg: number;
  threads: number;
  verify: number;
  upload: number;
}

/** Input options that make ffmpeg follow a file still arriving: a whole file would only wait out the timeout at its end. */
function withoutFollow(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "-follow" || argv[i] === "-rw_timeout") i++;
    else out.push(argv[i]!);
  }
  return out;
}

const clip = benchClip();
const clipBytes = statSync(clip).size;
const work = mkdtempSync(path.join(os.tmpdir(), "kiln-bench-"));
copyFileSync(clip, path.join(work, "input"));

const media = await startMediaServer({ "clip.mp4": clip });
const sink = await startSink();
const encoder = await startEncoder(process.env.BENCH_WARM_PROBES ? { warmProbes: Number(process.env.BENCH_WARM_PROBES) } : {});
let exitCode = 0;

try {
  // The same probe the job runs, so the builders see the same source.
  const probed = await probeFile("input", work);
  const source = { ...probed.source, file: "input" };
  const ladderCommand = buildEncodeCommand(ladderSpec, source, "ladder");
  const rungs = planLadder(ladderSpec as Extract<EncodeSpec, { kind: "adaptive_video" }>, displaySize(source));
  // What one extra decode of the input costs: the most a shared decode can save per rung.
  const decodeOnly: FfmpegCommand = { args: ["-i", "input", "-map", "0:v:0", "-f", "null", "-"], outputs: [], main: "-", durationS: source.durationS };
  const separate = perRungCommands(ladderCommand, rungs.map((r) => r.name), source.hasAudio);

  console.log(
    `clip: ${source.width}x${source.height} ${source.fps} fps ${sec(source.durationS)} s, audio ${source.hasAudio}, ` +
      `${(clipBytes / 1e6).toFixed(1)} MB (${Math.round((clipBytes * 8) / source.durationS / 1000)} kb/s); ${runs} run(s) each, ${os.cpus().length} CPUs`,
  );
  const faststart = await fileIndexComesFirst(clip);
  console.log(`input layout: ${faststart ? "moov before mdat (faststart): the job probes and encodes it while it arrives" : "moov after mdat: the job probes it once it has arrived"}`);
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} (other work on the machine shows up as noise)`);
  console.log(`ladder: ${rungs.length} rungs (${rungs.map((r) => `${r.name} ${r.plan.width}x${r.plan.height} ≤${r.maxrate / 1e6} Mb/s`).join(", ")})`);
  console.log();

  let jobs = 0;
  const encoderRun = async (): Promise<EncoderRun> => {
    const jobId = `bench-${process.pid}-${++jobs}`;
    const order = sink.order(jobId, media.url("clip.mp4"), [{ task_id: "t1", output_id: "out", spec: videoSpec }]);
    traced.length = 0;
    tracing = true;
    const warmBefore = encoder.warmProbes.taken;
    const t0 = performance.now();
    const d0 = Date.now();
    const res = await encoder.call("POST", "/work", order);
    if (res.status !== 202) throw new Error(`the encoder answered ${res.status}: ${await res.text()}`);
    await sink.waitFor((e) => e.job_id === jobId && e.type === "job_completed", JOB_TIMEOUT_MS).catch(async (err: Error) => {
      const failed = sink.events.find((e) => e.job_id === jobId && e.type === "task_failed");
      throw failed ? new Error(`the job failed: ${JSON.stringify(failed)}`) : err;
    });
    const total = (performance.now() - t0) / 1000;
    tracing = false;
    const warmProbes = encoder.warmProbes.taken - warmBefore;
    await sleep(REFILL_SETTLE_MS);
    const events = sink.events.filter((e) => e.job_id === jobId);
    const failed = events.find((e) => e.type === "task_failed");
    if (failed) throw new Error(`the job failed: ${JSON.stringify(failed)}`);
    if (!sink.uploads.has("out.mp4")) throw new Error("the job completed without uploading out.mp4");

    // Event times (the encoder stamps `at` as it posts) on the bench's clock, in seconds from the POST.
    const at = (match: (e: EncoderEvent) => boolean): number => {
      const e = events.find(match);
      if (!e) throw new Error(`no such event in job ${jobId}`);
      return (Date.parse(e.at) - d0) / 1000;
    };
    const is = (type: EncoderEvent["type"], stage?: string) => (e: EncoderEvent) => e.type === type && (stage === undefined || ("stage" in e && e.stage === stage));
    const importDone = at(is("task_completed", "import"));
    const probeDone = at(is("task_completed", "probe"));
    const exportStart = at(is("task_started", "export"));
    const exportDone = at(is("task_completed", "export"));
    const procs = traced.map((p) => ({ ...p, start: (p.start - t0) / 1000, end: (p.end - t0) / 1000 }));
    const ffmpegRuns = procs.filter((p) => p.what === "ffmpeg");
    if (ffmpegRuns.length !== 1) throw new Error(`the job ran ffmpeg ${ffmpegRuns.length} times (an early read repeated?): not comparable`);
    const run = ffmpegRuns[0]!;
    const ffmpeg = run.end - run.start;
    return {
      total,
      procs,
      warmProbes,
      importDone,
      ffmpegStart: run.start,
      ffmpeg,
      argv: run.argv,
      threads: run.threads,
      // Back to back, so they add up to the total. A faststart input is probed while it
      // is still arriving: the import then ends inside the first stage, or after it.
      stages: {
        "POST → probe done (import, probe)": probeDone,
        "probe done → ffmpeg started": run.start - probeDone,
        "encode: ffmpeg": ffmpeg,
        "ffmpeg done → export started (finish, listing)": exportStart - run.end,
        "export ∥ output ffprobe (sha256, sign, PUT)": exportDone - exportStart,
        "finish (rm workdir, last event)": total - exportDone,
      },
    };
  };

  // The job's own argv, from the warm-up job: the bare side runs exactly what the job ran.
  let bareArgv: string[] = [];
  let bares = 0;
  const barePipeline = async (): Promise<BareRun> => {
    rmSync(path.join(work, "input"), { force: true });
    rmSync(path.join(work, "out.mp4"), { force: true });
    const t0 = performance.now();
    const res = await fetch(media.url("clip.mp4"));
    if (!res.ok || !res.body) throw new Error(`the media server answered ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(path.join(work, "input")));
    const download = (performance.now() - t0) / 1000;
    const { seconds: ffmpeg, threads } = await runArgv(bareArgv, work);
    const timed = async (step: () => Promise<void>) => {
      const s = performance.now();
      await step();
      return (performance.now() - s) / 1000;
    };
    const [verify, upload] = await Promise.all([
      timed(async () => {
        const { stdout: out } = await promisify(realExecFile)("ffprobe", ["-v", "error", "-show_format", "-show_streams", "-of", "json", "out.mp4"], { cwd: work, encoding: "utf8" });
        const video = (JSON.parse(out) as { streams: { codec_type: string; height: number }[] }).streams.find((st) => st.codec_type === "video");
        if (video?.height !== videoSpec.height) throw new Error(`bare ffmpeg's output is not ${videoSpec.height}p: ${out}`);
      }),
      timed(async () => {
        const put = await fetch(`${sink.base}/upload/bare-${++bares}.mp4`, { method: "PUT", headers: { "content-type": "video/mp4" }, body: readFileSync(path.join(work, "out.mp4")) });
        if (!put.ok) throw new Error(`the sink answered ${put.status}`);
      }),
    ]);
    return { total: (performance.now() - t0) / 1000, download, ffmpeg, threads, verify, upload };
  };
  const oneDecodeLadder = async (): Promise<number> => {
    clean(work, ladderCommand);
    const s = await runBare(ladderCommand, work);
    if (!existsSync(path.join(work, ladderCommand.main))) throw new Error("the ladder command left no master playlist");
    return s;
  };
  const separateRuns = async (): Promise<number[]> => {
    const times: number[] = [];
    for (const command of separate) {
      clean(work, command);
      times.push(await runBare(command, work));
      if (!existsSync(path.join(work, command.main))) throw new Error(`${command.main} was not written`);
    }
    return times;
  };

  const warmJob = await encoderRun();
  bareArgv = withoutFollow(warmJob.argv);
  const dropped = warmJob.argv.length - bareArgv.length;
  console.log(`video: ffmpeg ${bareArgv.join(" ")}`);
  console.log(`  (the job's argv${dropped ? `, less ${dropped / 2} growing-input option(s): the job's ffmpeg followed the file as it arrived` : ", unchanged"})`);
  const warmBare = await barePipeline();
  console.log(`warm-up, not counted: encoder ${sec(warmJob.total)} s (its ffmpeg ${sec(warmJob.ffmpeg)} s), bare pipeline ${sec(warmBare.total)} s (its ffmpeg ${sec(warmBare.ffmpeg)} s)`);
  const enc: EncoderRun[] = [];
  const bare: BareRun[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      enc.push(await encoderRun());
      bare.push(await barePipeline());
    } else {
      bare.push(await barePipeline());
      enc.push(await encoderRun());
    }
    const e = enc[i]!;
    const b = bare[i]!;
    if (withoutFollow(e.argv).join(" ") !== bareArgv.join(" ")) throw new Error(`the job's ffmpeg argv changed between runs:\n${e.argv.join(" ")}`);
    console.log(`video run ${i + 1}/${runs}: encoder ${sec(e.total)} s (its ffmpeg ${sec(e.ffmpeg)} s, ${e.threads} threads), bare pipeline ${sec(b.total)} s (its ffmpeg ${sec(b.ffmpeg)} s, ${b.threads} threads)`);
    if (process.env.BENCH_TRACE) {
      for (const p of e.procs) console.log(`  ${sec(p.start).padStart(6)} → ${sec(p.end).padStart(6)} s  ${p.what}`);
    }
  }

  const ladder: number[] = [];
  const split: number[][] = [];
  const decode: number[] = [];
  for (let i = 0; i < runs; i++) {
    decode.push(await runBare(decodeOnly, work));
    if (i % 2 === 0) {
      ladder.push(await oneDecodeLadder());
      split.push(await separateRuns());
    } else {
      split.push(await separateRuns());
      ladder.push(await oneDecodeLadder());
    }
    const sum = split[i]!.reduce((s, x) => s + x, 0);
    console.log(`ladder run ${i + 1}/${runs}: one decode ${sec(ladder[i]!)} s, ${rungs.length} separate runs ${sec(sum)} s (${split[i]!.map(sec).join(" + ")})`);
  }

  // Where each side's time goes, median per stage over the runs.
  const m = (xs: number[]) => median(xs);
  console.log();
  console.log("encoder job, median per stage:");
  const stageNames = Object.keys(enc[0]!.stages);
  const stageRows = [["stage", "seconds", "share"]];
  const encTotal = m(enc.map((r) => r.total));
  for (const name of stageNames) {
    const v = m(enc.map((r) => r.stages[name]!));
    stageRows.push([name, sec(v), `${((v / encTotal) * 100).toFixed(1)}%`]);
  }
  stageRows.push(["total", sec(encTotal), "100%"]);
  console.log(table(stageRows));
  console.log(`the import was done at ${sec(m(enc.map((r) => r.importDone)))} s (median), the probe at ${sec(m(enc.map((r) => r.stages["POST → probe done (import, probe)"]!)))} s`);
  const kinds = [...new Set(enc.flatMap((r) => r.procs.map((p) => p.what)))];
  console.log(
    "child processes, median per job: " +
      kinds
        .map((k) => {
          const per = enc.map((r) => r.procs.filter((p) => p.what === k));
          return `${k} ×${m(per.map((ps) => ps.length))} ${sec(m(per.map((ps) => ps.reduce((s, p) => s + p.end - p.start, 0))))} s`;
        })
        .join(", ") +
      `; warm ffprobes ×${m(enc.map((r) => r.warmProbes))} (of ${encoder.warmProbes.size} kept ready)`,
  );
  const bareTotal = m(bare.map((b) => b.total));
  console.log();
  console.log("bare pipeline, median per stage:");
  console.log(
    table([
      ["stage", "seconds", "share"],
      ...(["download", "ffmpeg", "verify", "upload"] as const).map((k) => {
        const v = m(bare.map((b) => b[k]));
        return [k === "verify" ? "verify: cold ffprobe (∥ upload)" : k === "upload" ? "upload: PUT to the sink (∥ verify)" : k, sec(v), `${((v / bareTotal) * 100).toFixed(1)}%`];
      }),
      ["total", sec(bareTotal), "100%"],
    ]),
  );

  const ladderMedian = m(ladder);
  const splitMedian = m(split.map((t) => t.reduce((s, x) => s + x, 0)));
  const ratio = encTotal / bareTotal;
  const ladderRatio = ladderMedian / splitMedian;
  const encFfmpeg = m(enc.map((r) => r.ffmpeg));
  const bareFfmpeg = m(bare.map((b) => b.ffmpeg));
  // Each pair ran back to back, so a burst of other work on the machine hits both sides.
  const pairedRatio = m(enc.map((r, i) => r.total / bare[i]!.total));
  const pairedLadder = m(ladder.map((l, i) => l / split[i]!.reduce((s, x) => s + x, 0)));
  // The same command inside and outside the job: far from 1.00 means the machine was busy.
  const noise = m(enc.map((r, i) => r.ffmpeg / bare[i]!.ffmpeg));
  // What each side spends around its ffmpeg, which load on the machine disturbs far less than the encode.
  const encAround = m(enc.map((r) => r.total - r.ffmpeg));
  const bareAround = m(bare.map((b) => b.total - b.ffmpeg));

  console.log();
  console.log(
    table([
      ["scenario", "median s", "runs (s)"],
      ["video: encoder job (POST → job_completed)", sec(encTotal), enc.map((r) => sec(r.total)).join(" ")],
      ["video: bare pipeline (download → verified, stored)", sec(bareTotal), bare.map((b) => sec(b.total)).join(" ")],
      ["video: ffmpeg inside the job", sec(encFfmpeg), enc.map((r) => sec(r.ffmpeg)).join(" ")],
      ["video: ffmpeg in the bare pipeline, same argv", sec(bareFfmpeg), bare.map((b) => sec(b.ffmpeg)).join(" ")],
      ["video: job time outside its ffmpeg", sec(encAround), enc.map((r) => sec(r.total - r.ffmpeg)).join(" ")],
      ["video: bare time outside its ffmpeg", sec(bareAround), bare.map((b) => sec(b.total - b.ffmpeg)).join(" ")],
      [`ladder: one ffmpeg, ${rungs.length} rungs`, sec(ladderMedian), ladder.map(sec).join(" ")],
      [`ladder: ${rungs.length} separate ffmpeg runs (sum)`, sec(splitMedian), split.map((t) => sec(t.reduce((s, x) => s + x, 0))).join(" ")],
      ["decode only (ffmpeg -i input -f null)", sec(m(decode)), decode.map(sec).join(" ")],
      ...rungs.map((r, i) => [`  separate: ${r.name}${i === 0 && source.hasAudio ? " + audio" : ""}`, sec(m(split.map((t) => t[i]!))), split.map((t) => sec(t[i]!)).join(" ")]),
    ]),
  );
  console.log(`ffmpeg threads (peak): the job's ${enc.map((r) => r.threads).join(" ")}, bare ${bare.map((b) => b.threads).join(" ")}; neither gets -threads or its own environment`);
  console.log();
  console.log(
    table([
      ["ratio (of medians)", "value", "goal", "", "median of pairs"],
      ["encoder ÷ bare pipeline (video)", ratio.toFixed(2), `≤ ${VIDEO_GOAL.toFixed(2)}`, ratio <= VIDEO_GOAL ? "ok" : "MISSED", pairedRatio.toFixed(2)],
      [`one-decode ladder ÷ ${rungs.length} separate runs`, ladderRatio.toFixed(2), `≤ ${LADDER_GOAL.toFixed(2)}`, ladderRatio <= LADDER_GOAL ? "ok" : "MISSED", pairedLadder.toFixed(2)],
      ["noise check: job's ffmpeg ÷ bare ffmpeg", noise.toFixed(2), "≈ 1.00", Math.abs(noise - 1) <= 0.05 ? "ok" : "NOISY", ""],
      // What the noise check cannot disturb: both sides given the bare ffmpeg's time, only the work around it differs.
      ["(bare + job's time outside ffmpeg − bare's) ÷ bare", ((bareTotal + encAround - bareAround) / bareTotal).toFixed(2), `≤ ${VIDEO_GOAL.toFixed(2)}`, "", ""],
      ["encoder ÷ bare ffmpeg alone (no transfer, no verify)", (encTotal / bareFfmpeg).toFixed(2), "", "", ""],
    ]),
  );
  const floor = (splitMedian - (rungs.length - 1) * m(decode)) / splitMedian;
  console.log(`(saving only the ${rungs.length - 1} extra decodes would give ${floor.toFixed(2)}; load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")})`);

  // Every ratio under 1.00 says why, from this run's own figures.
  if (ladderRatio < 1) {
    console.log(
      `why ladder_ratio < 1.00: by design, not a fault of the measure: the ladder decodes the input once and splits it to ${rungs.length} rungs, ` +
        `the separate runs decode it ${rungs.length} times (one decode here ${sec(m(decode))} s); the rest is encoding either way.`,
    );
  }
  if (ratio < 1) {
    const download = m(bare.map((b) => b.download));
    const startedEarly = m(enc.map((r) => r.importDone - r.ffmpegStart));
    const reasons = [
      startedEarly > 0
        ? `the job started ffmpeg ${sec(startedEarly)} s before its import ended (a faststart input is encoded as it arrives), where the script waits for the whole download (${sec(download)} s)`
        : null,
      m(enc.map((r) => r.warmProbes)) > 0
        ? `the job read its input and output with ${m(enc.map((r) => r.warmProbes))} ffprobe(s) started before it (warm: their start-up is not in the job), where the script starts ffprobe cold (its verification took ${sec(m(bare.map((b) => b.verify)))} s)`
        : null,
      noise < 0.97 ? `the job's own ffmpeg ran ${sec(bareFfmpeg - encFfmpeg)} s faster than the same argv bare (noise check ${noise.toFixed(2)}: other load on the machine hit the bare runs)` : null,
    ].filter((r): r is string => r !== null);
    console.log(
      `why ratio < 1.00: the job did the same work in less time than the script around ffmpeg: ${reasons.length ? reasons.join("; ") : "no difference this bench can name stands out: treat it as noise"}. ` +
        `Outside ffmpeg the job spent ${sec(encAround)} s, the script ${sec(bareAround)} s.`,
    );
  }
  console.log(`ladder_ratio=${ladderRatio.toFixed(2)} rungs=${rungs.length}`);
  console.log(`ratio=${ratio.toFixed(2)}`);
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
  // Not awaited: keep-alive sockets would hold the servers open for seconds.
  void Promise.all([encoder.close(), sink.close(), media.close()]);
}
process.exit(exitCode);
