// `npm run bench:watch`: how long an encoder's progress event takes to reach a job's
// watchers, against the whole local stack (wrangler dev), by hand, not in CI.
//
// The bench stands in for the encoder at its boundary: ENCODER_URL points at a small
// server here that accepts the Worker's work orders (POST /work, 202) and then posts the
// job's events through the real internal route (POST /internal/jobs/:id/events, with the
// order's callback token), as encoder/pipeline/reporter.ts does. Everything from that
// route on (the Worker, the JobDO, its Watch hub, D1) is the real thing.
//
// "Event → every watcher has it" is timed from the moment the bench starts the POST of a
// progress event to the moment the last watcher has received a message showing that
// progress. The hub sends progress at most every 200 ms (PROGRESS_DEBOUNCE_MS), so the
// events are paced 250 ms apart: each is a broadcast of its own, and the time is the
// Watch's own, not the debounce's. A burst beside it shows what the debounce adds when
// events come faster. A job's progress is a whole percentage that only rises, so one job
// carries at most 100 progress events: the run uses as many jobs as it needs, one after
// another, each with every watcher open.
//
// BENCH_WATCH_EVENTS (default 500), BENCH_WATCH_SOCKETS (100) and BENCH_WATCH_STREAMS (10)
// size a run; BENCH_WATCH_DEFLATE=1 has the sockets offer compression. The last line is the fan-out's p99.
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import type { WorkOrder } from "../encoder/contract";
import { bootStack, saveTemp, serveFiles } from "../test/e2e/harness";

const EVENTS = Number(process.env.BENCH_WATCH_EVENTS ?? 500);
const SOCKETS = Number(process.env.BENCH_WATCH_SOCKETS ?? 100);
const STREAMS = Number(process.env.BENCH_WATCH_STREAMS ?? 10);
/**
 * Every watcher runs in this one process, where ws inflates compressed messages through
 * a shared zlib pool ten at a time: 110 separate clients would not queue behind each
 * other so. Off unless BENCH_WATCH_DEFLATE=1 (browsers offer permessage-deflate).
 */
const DEFLATE = process.env.BENCH_WATCH_DEFLATE === "1";
const BASELINE_EVENTS = Math.min(EVENTS, 100);
const BURST_EVENTS = Math.min(EVENTS, 100);
const PACE_MS = 250;
/** A watcher that has not seen an event by then counts it as lost, and the run fails. */
const EVENT_TIMEOUT_MS = 10_000;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
};
const ms = (n: number) => `${n.toFixed(1)} ms`;
const summary = (values: number[]) => `p50 ${ms(percentile(values, 50))}, p99 ${ms(percentile(values, 99))}, max ${ms(Math.max(...values))} (n=${values.length})`;
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

/** The encoder's side of the contract: work orders in, one waiter per job. */
function fakeEncoder() {
  const orders = new Map<string, (order: WorkOrder) => void>();
  const arrived = new Map<string, WorkOrder>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/work") {
        const order = JSON.parse(Buffer.concat(chunks).toString()) as WorkOrder;
        arrived.set(order.job_id, order);
        orders.get(order.job_id)?.(order);
        res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ accepted: true }));
      } else if (req.method === "DELETE" && req.url?.startsWith("/work/")) {
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } else res.writeHead(404).end();
    });
  });
  return {
    listen: () => new Promise<string>((r) => server.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    order: (jobId: string) => new Promise<WorkOrder>((resolve) => (arrived.has(jobId) ? resolve(arrived.get(jobId)!) : orders.set(jobId, resolve))),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Posts a job's events as the encoder's reporter does: in order, numbered, with the callback token. */
function reporter(order: WorkOrder) {
  let seq = 0;
  return async (body: Record<string, unknown>) => {
    const res = await fetch(order.callback.url, {
      method: "POST",
      headers: { authorization: `Bearer ${order.callback.token}`, "content-type": "application/json" },
      body: JSON.stringify({ v: 1, job_id: order.job_id, attempt: order.attempt, seq: seq++, at: new Date().toISOString(), ...body }),
    });
    if (!res.ok) throw new Error(`event ${String(body.type)} → ${res.status} ${await res.text()}`);
    await res.body?.cancel();
  };
}

/** What the Worker agreed to of the client's WebSocket extensions (ws offers permessage-deflate, as browsers do). */
let extensions = "none";

class Watcher {
  /** When this watcher first saw each progress value (or a higher one). */
  readonly seen = new Map<number, number>();
  status: string | null = null;
  progress = 0;
  private finish: () => void = () => undefined;
  /** Resolves at `completed` or when the watch ends, whichever is first. */
  readonly ended = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(readonly stop: () => void) {}

  record(message: { event: string; job: { status: string; progress: number } }, at: number) {
    this.status = message.job.status;
    for (let p = this.progress + 1; p <= message.job.progress; p++) this.seen.set(p, at);
    this.progress = Math.max(this.progress, message.job.progress);
    if (message.event === "completed") this.finish();
  }

  end() {
    this.finish();
  }
}

async function openSocket(base: string, key: string, jobId: string): Promise<Watcher> {
  const socket = new WebSocket(`${base.replace(/^http/, "ws")}/v1/jobs/${jobId}/watch`, { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: DEFLATE });
  const w = new Watcher(() => socket.terminate());
  socket.once("close", () => w.end());
  socket.once("upgrade", (res) => (extensions = res.headers["sec-websocket-extensions"] ?? "none"));
  socket.on("message", (data) => w.record(JSON.parse(String(data)), performance.now()));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return w;
}

async function openStream(base: string, key: string, jobId: string): Promise<Watcher> {
  const controller = new AbortController();
  const res = await fetch(`${base}/v1/jobs/${jobId}/watch`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
  if (res.status !== 200 || !res.body) throw new Error(`NDJSON watch → ${res.status}`);
  const w = new Watcher(() => controller.abort());
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        const at = performance.now();
        buffered += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          w.record(JSON.parse(buffered.slice(0, newline)), at);
          buffered = buffered.slice(newline + 1);
        }
      }
    } catch {
      // aborted by stop()
    }
    w.end();
  })();
  return w;
}

const waitFor = async (what: string, ok: () => boolean, timeoutMs = EVENT_TIMEOUT_MS) => {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
};

// Nothing fetches the input: the encoder is stood in for. It only has to be a valid URL.
const media = await serveFiles({ "tiny.mp4": saveTemp(Buffer.from("not fetched"), "tiny.mp4") });
const encoder = fakeEncoder();
const encoderUrl = await encoder.listen();
const stack = await bootStack({ ENCODER_URL: encoderUrl });
const api = (p: string, init: { method?: string; body?: unknown } = {}) => stack.api(p, init);

interface Run {
  /** Post start → the last watcher has it, per event. */
  all: number[];
  /** Post start → the first watcher has it, per event. */
  first: number[];
  /** Post start → each watcher has it, per event and watcher. */
  each: number[];
  /** The event POST's round trip. */
  post: number[];
}

/**
 * One job, `events` progress events on it, watched by `sockets` + `streams` watchers;
 * `paceMs` null posts them back to back (the debounce coalesces them).
 */
async function runJob(run: Run, events: number, sockets: number, streams: number, paceMs: number | null) {
  const job = (await api("/v1/jobs", { body: { input: media.url("tiny.mp4"), kind: "video", options: { format: "mp4", codec: "h264", width: 160, quality: "low" } } })).json;
  if (!job?.id) throw new Error(`job not created: ${JSON.stringify(job)}`);
  const order = await encoder.order(job.id);
  // A transcode order: its tasks are the encode tasks.
  const encode = (order.tasks as { task_id: string }[])[0]!;
  const post = reporter(order);
  await post({ type: "task_started", stage: "import", task_id: null });
  await post({ type: "task_completed", stage: "import", task_id: null, output: null });
  await post({ type: "task_started", stage: "probe", task_id: null });
  await post({ type: "task_completed", stage: "probe", task_id: null, output: null });
  await post({ type: "task_started", stage: "encode", task_id: encode.task_id });
  const watchers = await Promise.all([
    ...Array.from({ length: sockets }, () => openSocket(stack.url, stack.devKey, job.id)),
    ...Array.from({ length: streams }, () => openStream(stack.url, stack.devKey, job.id)),
  ]);
  await waitFor("every watcher's snapshot", () => watchers.every((w) => w.status === "processing"));
  // Past the debounce of the status change, so the first event is not held back by it.
  await sleep(PACE_MS);
  const posted: number[] = [];
  for (let p = 1; p <= events; p++) {
    const t0 = performance.now();
    posted.push(t0);
    await post({ type: "progress", stage: "encode", task_id: encode.task_id, task_progress: p, job_progress: p });
    run.post.push(performance.now() - t0);
    if (paceMs === null) continue;
    await waitFor(`progress ${p} at every watcher`, () => watchers.every((w) => w.seen.has(p)));
    await sleep(Math.max(0, t0 + paceMs - performance.now()));
  }
  await waitFor(`progress ${events} at every watcher`, () => watchers.every((w) => w.seen.has(events)));
  for (let p = 1; p <= events; p++) {
    const times = watchers.map((w) => w.seen.get(p)! - posted[p - 1]!);
    run.all.push(Math.max(...times));
    run.first.push(Math.min(...times));
    run.each.push(...times);
  }
  await api(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
  await Promise.race([Promise.all(watchers.map((w) => w.ended)), sleep(5_000)]);
  for (const w of watchers) w.stop();
}

const emptyRun = (): Run => ({ all: [], first: [], each: [], post: [] });
let exitCode = 0;
try {
  console.log(`bench:watch against ${stack.url} (the encoder stood in for at ${encoderUrl}), logs in ${stack.logFile}`);
  console.log(
    `"event → every watcher has it": from the start of the encoder's POST /internal/jobs/:id/events of a progress event to the moment the last ` +
      `watcher has received a message showing that progress; events ${PACE_MS} ms apart, beyond the hub's 200 ms progress debounce, so each is its own broadcast.`,
  );
  const baseline = emptyRun();
  await runJob(baseline, BASELINE_EVENTS, 1, 0, PACE_MS);
  console.log(`baseline, 1 WebSocket watcher: ${summary(baseline.all)}; the event POST's round trip p50 ${ms(percentile(baseline.post, 50))}`);

  const fanout = emptyRun();
  for (let done = 0; done < EVENTS; done += 100) await runJob(fanout, Math.min(100, EVENTS - done), SOCKETS, STREAMS, PACE_MS);
  console.log(`fan-out, ${SOCKETS} WebSocket + ${STREAMS} NDJSON watchers on one job: every watcher has it ${summary(fanout.all)}`);
  console.log(`  the first watcher has it p50 ${ms(percentile(fanout.first, 50))}; any one watcher p50 ${ms(percentile(fanout.each, 50))}, p99 ${ms(percentile(fanout.each, 99))}; the event POST's round trip p50 ${ms(percentile(fanout.post, 50))}`);
  console.log(`  WebSocket extensions agreed: ${extensions}${DEFLATE ? "" : " (compression not offered: the watchers share one process; BENCH_WATCH_DEFLATE=1 offers it)"}`);
  console.log(`  p99 fan-out ÷ baseline: ${(percentile(fanout.all, 99) / percentile(baseline.all, 99)).toFixed(2)}`);

  const burst = emptyRun();
  await runJob(burst, BURST_EVENTS, SOCKETS, STREAMS, null);
  console.log(
    `burst, the same watchers, ${BURST_EVENTS} events back to back (POST p50 ${ms(percentile(burst.post, 50))}): a progress value reaches every watcher ` +
      `${summary(burst.all)}; the debounce sends one progress per 200 ms, so this is what the Watch promises under a fast encoder (≤ 200 ms + the above), not its latency`,
  );
  console.log(`p99_ms=${percentile(fanout.all, 99).toFixed(0)}`);
} catch (err) {
  exitCode = 1;
  console.error(err);
} finally {
  await stack.stop();
  await encoder.close();
  await media.close();
}
process.exit(exitCode);
