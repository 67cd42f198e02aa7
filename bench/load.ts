// `npm run bench:load`: 1,000 small jobs submitted in one burst against the whole local
// stack (wrangler dev + a supervised encoder with 2 slots), by hand, not in CI. It
// prints whether every job reached a terminal state, none lost or duplicated (unique
// ids, the D1 index's count, each job's outputs stored once), the time to drain, and
// the API's latency (p50/p99) during the burst.
// BENCH_LOAD_JOBS (default 1000) and BENCH_LOAD_MAX_MINUTES (default 90) bound a run;
// a run that hits the time bound reports how far it got and the rate.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { bootStack, r2Objects, serveFiles } from "../test/e2e/harness";
import { clipPath } from "../test/encoder/clips";

const JOBS = Number(process.env.BENCH_LOAD_JOBS ?? 1000);
const MAX_MS = Number(process.env.BENCH_LOAD_MAX_MINUTES ?? 90) * 60_000;
/** Creates in flight at once: a burst, without opening a thousand sockets. */
const IN_FLIGHT = 64;
const TERMINAL = new Set(["completed", "failed", "canceled", "partial"]);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
};
const ms = (n: number) => `${n.toFixed(0)} ms`;

const media = await serveFiles({ "tiny.mp4": clipPath("tiny") });
const stack = await bootStack({}, { ENCODER_CONCURRENCY: "2" }, { supervise: true });
const bodies = [
  { kind: "video", options: { format: "mp4", codec: "h264", width: 160, quality: "low" } },
  { kind: "audio", options: { format: "mp3" } },
  { kind: "image", options: { format: "jpeg", start: 0.5 } },
].map((b) => JSON.stringify({ input: media.url("tiny.mp4"), ...b }));
const headers = { authorization: `Bearer ${stack.devKey}`, "content-type": "application/json" };

/** One timed API request; every request during the burst counts towards its latency. */
const latencies: { during: "burst" | "drain"; ms: number }[] = [];
let phase: "burst" | "drain" = "burst";
async function timed(p: string, init: RequestInit & { key?: string } = {}) {
  const t0 = performance.now();
  try {
    const res = await fetch(`${stack.url}${p}`, { ...init, headers: init.key ? { ...headers, "idempotency-key": init.key } : headers });
    const json = (await res.json().catch(() => null)) as any;
    latencies.push({ during: phase, ms: performance.now() - t0 });
    return { status: res.status, json, retryAfter: res.headers.get("retry-after") };
  } catch {
    latencies.push({ during: phase, ms: performance.now() - t0 });
    return { status: 0, json: null, retryAfter: null };
  }
}

let exitCode = 0;
try {
  console.log(`bench:load: ${JOBS} jobs against ${stack.url} (encoder: 2 slots), logs in ${stack.logFile}`);
  const ids: string[] = [];
  const statuses = new Map<number, number>();
  let retried = 0;
  const run = `load-${Date.now()}`;
  const burstStarted = performance.now();
  let next = 0;
  // A reader polling one job beside the burst, as a dashboard would.
  let reading = true;
  const reader = (async () => {
    while (reading) {
      if (ids[0]) await timed(`/v1/jobs/${ids[0]}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < JOBS) {
        const i = next++;
        // Retried as a client would (429, 5xx, no answer) under one idempotency key, so a
        // create whose answer was lost is found again, not made twice.
        for (;;) {
          const res = await timed("/v1/jobs", { method: "POST", body: bodies[i % bodies.length], key: `${run}-${i}` });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 429 || res.status === 0 || res.status >= 500) {
            retried += 1;
            await new Promise((r) => setTimeout(r, 1000 * Number(res.retryAfter ?? 1)));
            continue;
          }
          if (res.status !== 201 && res.status !== 200) throw new Error(`create ${i} → ${res.status} ${JSON.stringify(res.json)}`);
          ids.push(res.json.id);
          break;
        }
      }
    }),
  );
  const burstMs = performance.now() - burstStarted;
  phase = "drain";
  console.log(`burst: ${ids.length} jobs created in ${ms(burstMs)} (${((ids.length / burstMs) * 1000).toFixed(1)}/s); answers ${JSON.stringify(Object.fromEntries(statuses))}`);

  // Drain, watched in the D1 index (read from wrangler's state, so the watching adds no
  // API load); then every job read back once from its Durable Object.
  const d1Dir = path.join(stack.stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  const d1File = path.join(d1Dir, readdirSync(d1Dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")!);
  // wrangler writes the file meanwhile: wait out its locks.
  const d1 = (sql: string) => execFileSync("sqlite3", ["-readonly", "-cmd", ".timeout 10000", d1File, sql], { encoding: "utf8" }).trim();
  const terminalInIndex = () => Number(d1(`SELECT count(*) FROM jobs WHERE status IN (${[...TERMINAL].map((t) => `'${t}'`).join(", ")})`));
  const deadline = Date.now() + MAX_MS;
  let lastReport = Date.now();
  let indexedEnded = terminalInIndex();
  while (indexedEnded < ids.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    indexedEnded = terminalInIndex();
    if (Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      const elapsed = performance.now() - burstStarted;
      console.log(`  ${indexedEnded}/${ids.length} ended after ${(elapsed / 1000).toFixed(0)} s (${((indexedEnded / elapsed) * 60_000).toFixed(1)}/min)`);
    }
  }
  const drainMs = performance.now() - burstStarted;
  reading = false;
  await reader;
  const ended = new Map<string, any>();
  let read = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (read < ids.length) {
        const id = ids[read++]!;
        const res = await timed(`/v1/jobs/${id}`);
        if (res.status === 200 && TERMINAL.has(res.json.status)) ended.set(id, res.json);
      }
    }),
  );

  // None lost or duplicated: unique ids, the index's count, one stored object per output.
  const uniqueIds = new Set(ids).size;
  const indexed = Number(d1("SELECT count(DISTINCT id) FROM jobs"));
  const byJob = new Map<string, number>();
  for (const o of r2Objects(stack, "jobs/")) {
    const id = o.key.split("/")[1]!;
    byJob.set(id, (byJob.get(id) ?? 0) + 1);
  }
  const counts: Record<string, number> = {};
  let outputsOnce = 0;
  for (const job of ended.values()) {
    counts[job.status === "failed" ? `failed:${job.error?.code}` : job.status] = (counts[job.status === "failed" ? `failed:${job.error?.code}` : job.status] ?? 0) + 1;
    if (job.status === "completed" && job.outputs.length === 1 && byJob.get(job.id) === 1) outputsOnce += 1;
  }
  const completed = counts.completed ?? 0;
  const burst = latencies.filter((l) => l.during === "burst").map((l) => l.ms);
  const drain = latencies.filter((l) => l.during === "drain").map((l) => l.ms);
  const allEnded = ended.size === JOBS;
  console.log(`index: ${d1("SELECT status || ':' || coalesce(error_code, '') AS k, count(*) FROM jobs GROUP BY k").replaceAll("\n", ", ")}`);
  console.log(`terminal: ${ended.size}/${JOBS} ${JSON.stringify(counts)}; ids unique ${uniqueIds}/${ids.length}; D1 index ${indexed}; outputs stored once ${outputsOnce}/${completed} completed`);
  console.log(`API during the burst: ${burst.length} requests, p50 ${ms(percentile(burst, 50))}, p99 ${ms(percentile(burst, 99))}, max ${ms(Math.max(...burst))}; during the drain p99 ${ms(percentile(drain, 99))}; ${retried} creates retried (429, 5xx or no answer)`);
  console.log(
    `figures: load ${JOBS} jobs, ${ended.size} terminal (${completed} completed), ${JOBS - uniqueIds} duplicated ids, D1 count ${indexed}, ` +
      `${completed - outputsOnce} outputs not stored exactly once, ${allEnded ? "drained" : "NOT drained"} in ${(drainMs / 1000).toFixed(0)} s ` +
      `(${((ended.size / drainMs) * 60_000).toFixed(1)} jobs/min), burst ${ms(burstMs)}, API p99 during the burst ${ms(percentile(burst, 99))}`,
  );
  if (!allEnded || uniqueIds !== JOBS || indexed !== JOBS || outputsOnce !== completed) exitCode = 1;
} catch (err) {
  console.error(`bench:load failed: ${(err as Error).message}`);
  exitCode = 1;
} finally {
  await media.close();
  await stack.stop();
}
process.exit(exitCode);
