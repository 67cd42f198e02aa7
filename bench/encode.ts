// `npm run bench:encode`: what the encoder costs on top of ffmpeg (by hand, not in CI).
//
// 1. video: a whole encoder job for a 20 s 1080p clip → 720p h264 mp4 (work order in,
//    import over HTTP, probe, encode, export to a local signed-URL sink, every event
//    posted) ÷ the same ffmpeg command (buildEncodeCommand + ffmpegArgv) run bare on a
//    local copy. Goal ≤ 1.10.
// 2. ladder: the adaptive_video HLS command (one decode, split to every rung) ÷ one
//    separate ffmpeg per rung, each decoding the input again. Goal ≤ 0.70.
//
// Each scenario runs BENCH_RUNS times (default 3), alternating which side goes first,
// and the medians are compared. The video scenario first runs one job and one bare
// ffmpeg that are not counted: the encoder is a long-running service, and its first job
// pays for a cold process (the import's code not yet compiled), which no later job does.
// After each job the bench waits a second: the encoder starts its next warm ffprobes
// when a job ends, and that must not share the CPU with the next measured run.
// BENCH_WARM_PROBES=0 runs the encoder without warm ffprobes. The last line,
// ratio=<encoder ÷ bare ffmpeg>, is the number to watch.
import childProcess, { type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { EncodeSpec, EncoderEvent } from "../encoder/contract";
import type { FfmpegCommand } from "../encoder/ffmpeg/command";
import { buildEncodeCommand } from "../encoder/ffmpeg/encode";
import { displaySize } from "../encoder/ffmpeg/framing";
import { planLadder } from "../encoder/ffmpeg/hls";
import { probeFile } from "../encoder/ffmpeg/probe";
import { ffmpegArgv } from "../encoder/ffmpeg/runner";
import { fileIndexComesFirst } from "../encoder/media/mp4-layout";
import { startEncoder, startMediaServer, startSink } from "../test/encoder/harness";
import { benchClip, clean, median, runBare, sec, table } from "./shared";

const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const VIDEO_GOAL = 1.1;
const LADDER_GOAL = 0.7;
const JOB_TIMEOUT_MS = 30 * 60_000;
/** Long enough for the warm ffprobes a job's end starts to finish starting. */
const REFILL_SETTLE_MS = 1_000;

const videoSpec: EncodeSpec = { kind: "video", format: "mp4", codec: "h264", height: 720, quality: "medium" };
const ladderSpec: EncodeSpec = { kind: "adaptive_video", format: "hls", quality: "medium" };

// ---------------------------------------------------------------------------------------
// Child-process trace: which ffmpeg/ffprobe runs the encoder made inside a job and how
// long each took. Wrapping the builtin module's exports (and syncing the ESM bindings)
// reaches the encoder's `import { spawn, execFile }` without touching its code. Only
// timestamps are recorded; the bench's own bare runs use the unwrapped spawn.

interface Proc {
  what: string;
  start: number;
  end: number;
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
  const proc = { what: procKind(file, args), start: performance.now(), end: Number.NaN };
  child.once("close", () => {
    proc.end = performance.now();
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
  /** Seconds per stage, in pipeline order. */
  stages: Record<string, number>;
  procs: Proc[];
  /** ffprobes the job took from the encoder's warm ones. */
  warmProbes: number;
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
  const videoCommand = buildEncodeCommand(videoSpec, source, "out");
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
  console.log(`input layout: ${faststart ? "moov before mdat (faststart): the job probes it while it arrives" : "moov after mdat: the job probes it once it has arrived"}`);
  console.log(`video: ffmpeg ${ffmpegArgv(videoCommand).join(" ")}`);
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
    const ffmpeg = ffmpegRuns.reduce((s, p) => s + p.end - p.start, 0);
    const ffmpegStart = Math.min(...ffmpegRuns.map((p) => p.start));
    const ffmpegEnd = Math.max(...ffmpegRuns.map((p) => p.end));
    return {
      total,
      procs,
      warmProbes,
      importDone,
      // Back to back, so they add up to the total. A faststart input is probed while it
      // is still arriving: the import then ends inside the first stage, or after it.
      stages: {
        "POST → probe done (import, probe)": probeDone,
        "probe done → ffmpeg started": ffmpegStart - probeDone,
        "encode: ffmpeg": ffmpeg,
        "ffmpeg done → export started (finish, listing)": exportStart - ffmpegEnd,
        "export ∥ output ffprobe (sha256, sign, PUT)": exportDone - exportStart,
        "finish (rm workdir, last event)": total - exportDone,
      },
    };
  };

  const bareVideo = async (): Promise<number> => {
    clean(work, videoCommand);
    const s = await runBare(videoCommand, work);
    if (!existsSync(path.join(work, videoCommand.main))) throw new Error("bare ffmpeg left no output");
    return s;
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
  const warmBare = await bareVideo();
  console.log(`warm-up, not counted: encoder ${sec(warmJob.total)} s (its ffmpeg ${sec(warmJob.stages["encode: ffmpeg"]!)} s), bare ffmpeg ${sec(warmBare)} s`);
  const enc: EncoderRun[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      enc.push(await encoderRun());
      bare.push(await bareVideo());
    } else {
      bare.push(await bareVideo());
      enc.push(await encoderRun());
    }
    console.log(`video run ${i + 1}/${runs}: encoder ${sec(enc[i]!.total)} s (its ffmpeg ${sec(enc[i]!.stages["encode: ffmpeg"]!)} s), bare ffmpeg ${sec(bare[i]!)} s`);
    if (process.env.BENCH_TRACE) {
      for (const p of enc[i]!.procs) console.log(`  ${sec(p.start).padStart(6)} → ${sec(p.end).padStart(6)} s  ${p.what}`);
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

  // Where the encoder's time goes, median per stage over the runs.
  console.log();
  console.log("encoder job, median per stage:");
  const stageNames = Object.keys(enc[0]!.stages);
  const stageRows = [["stage", "seconds", "share"]];
  const encTotal = median(enc.map((r) => r.total));
  for (const name of stageNames) {
    const m = median(enc.map((r) => r.stages[name]!));
    stageRows.push([name, sec(m), `${((m / encTotal) * 100).toFixed(1)}%`]);
  }
  stageRows.push(["total", sec(encTotal), "100%"]);
  console.log(table(stageRows));
  console.log(`the import was done at ${sec(median(enc.map((r) => r.importDone)))} s (median), the probe at ${sec(median(enc.map((r) => r.stages["POST → probe done (import, probe)"]!)))} s`);
  const kinds = [...new Set(enc.flatMap((r) => r.procs.map((p) => p.what)))];
  console.log(
    "child processes, median per job: " +
      kinds
        .map((k) => {
          const per = enc.map((r) => r.procs.filter((p) => p.what === k));
          return `${k} ×${median(per.map((ps) => ps.length))} ${sec(median(per.map((ps) => ps.reduce((s, p) => s + p.end - p.start, 0))))} s`;
        })
        .join(", ") +
      `; warm ffprobes ×${median(enc.map((r) => r.warmProbes))} (of ${encoder.warmProbes.size} kept ready)`,
  );

  const bareMedian = median(bare);
  const ladderMedian = median(ladder);
  const splitMedian = median(split.map((t) => t.reduce((s, x) => s + x, 0)));
  const ratio = encTotal / bareMedian;
  const ladderRatio = ladderMedian / splitMedian;
  const inJobFfmpeg = median(enc.map((r) => r.stages["encode: ffmpeg"]!));
  // Each pair ran back to back, so a burst of other work on the machine hits both sides.
  const pairedRatio = median(enc.map((r, i) => r.total / bare[i]!));
  const pairedLadder = median(ladder.map((l, i) => l / split[i]!.reduce((s, x) => s + x, 0)));
  // The same command inside and outside the job: far from 1.00 means the machine was busy.
  const noise = median(enc.map((r, i) => r.stages["encode: ffmpeg"]! / bare[i]!));
  // What the job adds around its ffmpeg, which load on the machine disturbs far less than the encode.
  const overhead = median(enc.map((r) => r.total - r.stages["encode: ffmpeg"]!));

  console.log();
  console.log(
    table([
      ["scenario", "median s", "runs (s)"],
      ["video: encoder job (POST → job_completed)", sec(encTotal), enc.map((r) => sec(r.total)).join(" ")],
      ["video: ffmpeg inside the job", sec(inJobFfmpeg), enc.map((r) => sec(r.stages["encode: ffmpeg"]!)).join(" ")],
      ["video: bare ffmpeg, same command", sec(bareMedian), bare.map(sec).join(" ")],
      ["video: job time outside its ffmpeg", sec(overhead), enc.map((r) => sec(r.total - r.stages["encode: ffmpeg"]!)).join(" ")],
      [`ladder: one ffmpeg, ${rungs.length} rungs`, sec(ladderMedian), ladder.map(sec).join(" ")],
      [`ladder: ${rungs.length} separate ffmpeg runs (sum)`, sec(splitMedian), split.map((t) => sec(t.reduce((s, x) => s + x, 0))).join(" ")],
      ["decode only (ffmpeg -i input -f null)", sec(median(decode)), decode.map(sec).join(" ")],
      ...rungs.map((r, i) => [`  separate: ${r.name}${i === 0 && source.hasAudio ? " + audio" : ""}`, sec(median(split.map((t) => t[i]!))), split.map((t) => sec(t[i]!)).join(" ")]),
    ]),
  );
  console.log();
  console.log(
    table([
      ["ratio (of medians)", "value", "goal", "", "median of pairs"],
      ["encoder ÷ bare ffmpeg (video)", ratio.toFixed(2), `≤ ${VIDEO_GOAL.toFixed(2)}`, ratio <= VIDEO_GOAL ? "ok" : "MISSED", pairedRatio.toFixed(2)],
      [`one-decode ladder ÷ ${rungs.length} separate runs`, ladderRatio.toFixed(2), `≤ ${LADDER_GOAL.toFixed(2)}`, ladderRatio <= LADDER_GOAL ? "ok" : "MISSED", pairedLadder.toFixed(2)],
      ["noise check: job's ffmpeg ÷ bare ffmpeg", noise.toFixed(2), "≈ 1.00", Math.abs(noise - 1) <= 0.05 ? "ok" : "NOISY", ""],
      ["(bare + job's time outside ffmpeg) ÷ bare", ((bareMedian + overhead) / bareMedian).toFixed(2), `≤ ${VIDEO_GOAL.toFixed(2)}`, "", ""],
    ]),
  );
  const floor = (splitMedian - (rungs.length - 1) * median(decode)) / splitMedian;
  console.log(`(saving only the ${rungs.length - 1} extra decodes would give ${floor.toFixed(2)}; load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")})`);
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
