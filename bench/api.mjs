// `npm run bench:api`: load-tests the API under `wrangler dev` (by hand, not in CI).
// Every scenario runs against the same server in one run, so the ratios compare like
// with like; the last line, ratio=<GET job p99 ÷ bare p99>, is the number to watch (goal ≤ 2.0).
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import autocannon from "autocannon";
import { root } from "../scripts/bootstrap.mjs";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const connections = 64;
const apiKey = process.env.KILN_DEV_API_KEY ?? "sk_dev_local";
const auth = { authorization: `Bearer ${apiKey}` };
const jobBody = JSON.stringify({ input: "https://example.com/video.mp4", kind: "video", options: { format: "mp4", quality: "high" } });

const resultsDir = path.join(root, "bench", "results");
mkdirSync(resultsDir, { recursive: true });
const logFile = path.join(resultsDir, "wrangler-dev.log");
const port = await freePort();
const base = `http://127.0.0.1:${port}`;

// start.mjs migrates and seeds the dev key before it runs wrangler dev; its own group
// lets us stop wrangler and workerd with it.
const log = openSync(logFile, "w");
const server = spawn(process.execPath, [path.join(root, "scripts", "start.mjs")], {
  cwd: root,
  env: { ...process.env, PORT: String(port), KILN_DEV_API_KEY: apiKey },
  stdio: ["ignore", log, log],
  detached: true,
});
let serverExited = false;
server.on("exit", () => (serverExited = true));
process.on("exit", stopServer);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

try {
  await waitForHealth();
  const jobId = await seedJobs();
  const scenarios = [
    { name: "GET /health (bare)", path: "/health" },
    { name: "GET /v1/jobs/:id", path: `/v1/jobs/${jobId}`, headers: auth },
    { name: "GET /v1/jobs", path: "/v1/jobs?limit=20", headers: auth },
    // Last, because every created job queues a dispatch the consumer handles afterwards.
    // No idempotency key, so the repeated body creates a new job each time.
    { name: "POST /v1/jobs", path: "/v1/jobs", method: "POST", body: jobBody, headers: { ...auth, "content-type": "application/json" } },
  ];
  const reloadsBefore = reloads();
  const rows = [];
  for (const scenario of scenarios) {
    await load(scenario, warmupSeconds);
    rows.push({ scenario, result: await load(scenario, seconds) });
  }
  // wrangler dev rebuilds whenever worker/ changes; a reload mid-run skews whichever
  // scenario it lands in, so the ratios would mean nothing.
  report(rows, reloads() > reloadsBefore);
} catch (err) {
  console.error(`bench failed: ${err.message}\n(wrangler dev log: ${path.relative(root, logFile)})`);
  process.exitCode = 1;
}
process.exit();

function load({ path: urlPath, method = "GET", body, headers }, duration) {
  return autocannon({ url: base + urlPath, method, body, headers, connections, duration });
}

function reloads() {
  return readFileSync(logFile, "utf8").split("Reloading local server").length - 1;
}

function report(rows, reloaded) {
  const bareP99 = rows[0].result.latency.p99;
  const table = [["scenario", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "p99/bare"]];
  const problems = reloaded ? ["wrangler dev reloaded during the run (worker/ changed), so the scenarios are not comparable"] : [];
  for (const { scenario, result } of rows) {
    const total = result.requests.total + result.errors;
    // autocannon leaves non-2xx responses out of the latency histogram, so a run full
    // of 401s would look fast; refuse to report it.
    const bad = result.non2xx + result.errors;
    if (total === 0 || bad / total > 0.01) {
      const codes = Object.entries(result.statusCodeStats).map(([code, { count }]) => `${code}×${count}`).join(" ");
      problems.push(`${scenario.name}: more than 1% failed, ${bad} of ${total} (status ${codes || "none"}, ${result.errors} socket errors/${result.timeouts} timeouts)`);
    }
    table.push([
      scenario.name,
      (result.requests.total / result.duration).toFixed(0),
      String(result.latency.p50),
      String(result.latency.p99),
      String(result.non2xx),
      String(result.errors),
      (result.latency.p99 / bareP99).toFixed(2),
    ]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  console.log(`\n${connections} connections, ${seconds} s per scenario after ${warmupSeconds} s warm-up, ${base}\n`);
  for (const row of table) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
  console.log();
  if (problems.length > 0) throw new Error(`no ratio, the run is not valid:\n  ${problems.join("\n  ")}`);
  console.log(`ratio=${(rows[1].result.latency.p99 / bareP99).toFixed(2)}`);
}

/** One job to read back, and a full default page for the list scenario. */
async function seedJobs() {
  let id;
  for (let i = 0; i < 20; i++) {
    const response = await fetch(`${base}/v1/jobs`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: jobBody });
    if (response.status !== 201) throw new Error(`POST /v1/jobs returned ${response.status}: ${await response.text()}`);
    id ??= (await response.json()).id;
  }
  const check = await fetch(`${base}/v1/jobs/${id}`, { headers: auth });
  if (check.status !== 200) throw new Error(`GET /v1/jobs/${id} returned ${check.status}`);
  return id;
}

async function waitForHealth() {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (serverExited) throw new Error("scripts/start.mjs exited before the API became healthy");
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no healthy API at ${base} after 180 s`);
}

function stopServer() {
  if (serverExited) return;
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
