// `npm run bench:throughput`: how many jobs a minute the whole local stack (wrangler dev
// and encoder processes, as `npm start` runs them) finishes, and how busy it keeps the
// CPU while jobs wait (by hand, not in CI).
//
// BENCH_THROUGHPUT_JOBS (default 40) mixed jobs on small real clips (640x360, 3 s: an
// h264 MP4 with two thumbnail sets, an HLS ladder, an MP3, a WebP still, a GIF) are
// submitted at once, first to a stack with 1 encoder process, then to a fresh stack with
// 2 behind one ENCODER_URL list. Each phase prints jobs per minute (all submitted → all
// ended) and CPU use sampled from /proc every 250 ms: the whole machine's, split into
// the encoder process trees' (ffmpeg, ffprobe included), wrangler's (the Worker and its
// local D1, R2, Queues) and the rest, over the time jobs were queued
// (some job neither ended nor held by an encoder: waiting in the Worker for a slot)
// and over the whole drain. BENCH_THROUGHPUT_BEFORE=1 runs a first phase with one job
// slot per core, the encoder's scheduling before cores were counted apart from slots.
// Other work on the machine shows as "other"; past 10% the bench says its figures are
// contended.
//
// The last line, cpu_pct=<the lower of the two phases' machine CPU use while jobs were
// queued>, is the number to watch; goal ≥ 90.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { bootStack, serveFiles } from "../test/e2e/harness";
import { clipPath } from "../test/encoder/clips";
import { machineTicks, treeTicks } from "./cpu";
import { table } from "./shared";

const JOBS = Number(process.env.BENCH_THROUGHPUT_JOBS ?? 40);
const MAX_MS = Number(process.env.BENCH_THROUGHPUT_MAX_MINUTES ?? 20) * 60_000;
const SAMPLE_MS = 250;
const CPU_GOAL = 90;
const TERMINAL = ["completed", "failed", "canceled", "partial"];
const cores = os.cpus().length;

const media = await serveFiles({ "clip.mp4": clipPath("landscape") });
const bodies = [
  {
    kind: "video",
    options: { format: "mp4", codec: "h264", quality: "medium" },
    thumbnails: [{ times: [1, "50%"], format: "jpeg", width: 320 }, { interval: 0.5, sprite: true, columns: 4 }],
  },
  { kind: "adaptive_video", options: { format: "hls" } },
  { kind: "audio", options: { format: "mp3" } },
  { kind: "image", options: { format: "webp", start: 1 } },
  { kind: "animation", options: { format: "gif", end: 2, width: 320, fps: 10 } },
].map((b) => JSON.stringify({ input: media.url("clip.mp4"), ...b }));

interface Phase {
  name: string;
  encoders: number;
  encoderEnv: Record<string, string>;
}

interface Result {
  phase: Phase;
  slots: number;
  seconds: number;
  jobsPerMin: number;
  statuses: Record<string, number>;
  /** CPU use in % of the whole machine: while jobs were queued, and over the whole drain. */
  queued: Use & { seconds: number };
  whole: Use;
}

/** % of the machine: all of it, the encoder process trees, wrangler's (the Worker, D1, R2), and the rest. */
interface Use {
  machine: number;
  encoders: number;
  worker: number;
  other: number;
}

interface Sample {
  at: number;
  machine: { busy: number; total: number };
  encoders: number;
  worker: number;
  /** Some job neither ended nor held by an encoder. */
  queued: boolean;
}

async function runPhase(phase: Phase): Promise<Result> {
  const stack = await bootStack({ MAX_RUNNING_JOBS_PER_ORG: "1000" }, phase.encoderEnv, { encoders: phase.encoders });
  try {
    const healths = async () =>
      Promise.all(stack.encoderUrls.map(async (u) => (await (await fetch(`${u}/health`)).json()) as { slots: { busy: number; total: number } }));
    const slots = (await healths()).reduce((s, h) => s + h.slots.total, 0);
    const d1Dir = path.join(stack.stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
    const d1File = path.join(d1Dir, readdirSync(d1Dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")!);
    const d1 = (sql: string) => execFileSync("sqlite3", ["-readonly", "-cmd", ".timeout 10000", d1File, sql], { encoding: "utf8" }).trim();
    const ended = () => Number(d1(`SELECT count(*) FROM jobs WHERE status IN (${TERMINAL.map((t) => `'${t}'`).join(", ")})`));
    console.log(`${phase.name}: ${phase.encoders} encoder process(es), ${slots} job slots in all; logs in ${stack.logFile}`);

    const headers = { authorization: `Bearer ${stack.devKey}`, "content-type": "application/json" };
    const run = `throughput-${Date.now()}`;
    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        for (;;) {
          const res = await fetch(`${stack.url}/v1/jobs`, { method: "POST", headers: { ...headers, "idempotency-key": `${run}-${i}` }, body: bodies[i % bodies.length] });
          const json = (await res.json().catch(() => null)) as { id?: string } | null;
          if (res.status === 201 || res.status === 200) return json!.id!;
          if (res.status !== 429 && res.status < 500) throw new Error(`create ${i} → ${res.status} ${JSON.stringify(json)}`);
          await sleep(1000);
        }
      }),
    );

    const samples: Sample[] = [];
    const sample = async (): Promise<number> => {
      const done = ended();
      const held = (await healths()).reduce((s, h) => s + h.slots.busy, 0);
      const pids = stack.encoders.map((c) => c.pid!).filter(Boolean);
      const [worker, ...encoders] = treeTicks([stack.worker.pid!, ...pids]);
      samples.push({ at: performance.now(), machine: machineTicks(), encoders: encoders.reduce((s, x) => s + x, 0), worker: worker!, queued: ids.length - done - held > 0 });
      return done;
    };
    let done = await sample();
    while (done < ids.length && performance.now() - t0 < MAX_MS) {
      await sleep(SAMPLE_MS);
      done = await sample();
    }
    const seconds = (performance.now() - t0) / 1000;

    // Each interval counts towards "queued" when jobs were queued at its start.
    const sum = (which: (s: Sample) => boolean): Use & { seconds: number } => {
      let wall = 0, busy = 0, total = 0, enc = 0, wrk = 0;
      for (let i = 1; i < samples.length; i++) {
        const [a, b] = [samples[i - 1]!, samples[i]!];
        if (!which(a)) continue;
        wall += (b.at - a.at) / 1000;
        busy += b.machine.busy - a.machine.busy;
        total += b.machine.total - a.machine.total;
        enc += b.encoders - a.encoders;
        wrk += b.worker - a.worker;
      }
      const share = (ticks: number) => (total ? (100 * ticks) / total : NaN);
      return { seconds: wall, machine: share(busy), encoders: share(enc), worker: share(wrk), other: share(busy - enc - wrk) };
    };
    const statuses: Record<string, number> = {};
    for (const line of d1("SELECT status || '|' || count(*) FROM jobs GROUP BY status").split("\n").filter(Boolean)) {
      const [status, n] = line.split("|");
      statuses[status!] = Number(n);
    }
    const whole = sum(() => true);
    const result: Result = { phase, slots, seconds, jobsPerMin: (done / seconds) * 60, statuses, queued: sum((s) => s.queued), whole };
    console.log(
      `  ${done}/${ids.length} ended in ${seconds.toFixed(1)} s ${JSON.stringify(statuses)}; jobs queued for ${result.queued.seconds.toFixed(1)} s, ` +
        `CPU then ${result.queued.machine.toFixed(1)}% (encoders ${result.queued.encoders.toFixed(1)}%, wrangler ${result.queued.worker.toFixed(1)}%, other ${result.queued.other.toFixed(1)}%)`,
    );
    if (done < ids.length) throw new Error(`${phase.name}: only ${done} of ${ids.length} jobs ended within ${MAX_MS / 60_000} min`);
    return result;
  } finally {
    await stack.stop();
  }
}

let exitCode = 0;
try {
  console.log(`bench:throughput: ${JOBS} mixed jobs per phase on ${cores} CPUs (${os.cpus()[0]?.model ?? "?"}); load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const phases: Phase[] = [
    ...(process.env.BENCH_THROUGHPUT_BEFORE ? [{ name: "before: 1 encoder, one job slot per core", encoders: 1, encoderEnv: { ENCODER_CONCURRENCY: String(cores) } }] : []),
    { name: "1 encoder", encoders: 1, encoderEnv: {} },
    { name: "2 encoders", encoders: 2, encoderEnv: {} },
  ];
  const results: Result[] = [];
  for (const phase of phases) results.push(await runPhase(phase));

  const pct = (n: number) => `${n.toFixed(1)}%`;
  console.log();
  console.log(
    table([
      ["phase", "slots", "jobs/min", "queued s", "CPU queued", "encoders", "wrangler", "other", "CPU drain", "encoders drain"],
      ...results.map((r) => [
        r.phase.name, String(r.slots), r.jobsPerMin.toFixed(1), r.queued.seconds.toFixed(1),
        pct(r.queued.machine), pct(r.queued.encoders), pct(r.queued.worker), pct(r.queued.other), pct(r.whole.machine), pct(r.whole.encoders),
      ]),
    ]),
  );
  const one = results.find((r) => r.phase.name === "1 encoder")!;
  const two = results.find((r) => r.phase.name === "2 encoders")!;
  const growth = two.jobsPerMin / one.jobsPerMin;
  // Encodes are CPU-bound: a second process can add only the CPU the first left idle.
  const ceiling = one.jobsPerMin * (100 / Math.max(one.queued.machine, 1));
  console.log();
  console.log(
    `what ${cores} cores allow: 1 encoder kept the machine ${pct(one.queued.machine)} busy while jobs were queued, so a second ` +
      `process on the same cores can add at most the idle ${pct(Math.max(0, 100 - one.queued.machine))}: ≤ ${ceiling.toFixed(1)} jobs/min ` +
      `(×${(ceiling / one.jobsPerMin).toFixed(2)}); it gave ${two.jobsPerMin.toFixed(1)} (×${growth.toFixed(2)}). Doubling needs twice the cores: ` +
      `a second machine behind the ENCODER_URL list.`,
  );
  const contended = Math.max(...results.map((r) => r.queued.other));
  if (contended > 10) {
    console.log(
      `other work took up to ${pct(contended)} of the machine: these figures are contended. More processes win a larger share of a busy ` +
        `machine from that work, so growth here is not what idle cores allow; rerun on an idle machine for the figures.`,
    );
  }
  const worst = Math.min(one.queued.machine, two.queued.machine);
  console.log(`jobs_per_min_1=${one.jobsPerMin.toFixed(1)} jobs_per_min_2=${two.jobsPerMin.toFixed(1)} growth=${growth.toFixed(2)} (CPU goal ≥ ${CPU_GOAL}%: ${worst >= CPU_GOAL ? "ok" : "MISSED"})`);
  console.log(`cpu_pct=${worst.toFixed(1)}`);
} catch (err) {
  console.error(`bench:throughput failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  exitCode = 1;
} finally {
  await media.close();
}
process.exit(exitCode);
