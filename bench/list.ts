// `npm run bench:list`: GET /v1/jobs against the whole local stack (wrangler dev, local D1)
// with one organization at 1k jobs, then at 100k (beside 100k of ten other
// organizations), by hand, not in CI. Six lists, each at 64 requests in flight: the first
// page, a page deep behind a cursor, a status, a tag, a search for part of an id (one
// match) and a search for a word most jobs carry. It prints p50/p99 per
// list at each size, each list's p99 ratio, and last `ratio=`: the WORST list's p99 at the
// large size over its p99 at the small one (not a mean over lists, which would hide one
// that grows).
// Jobs are seeded straight into D1's SQLite file while wrangler is stopped, shaped as
// worker/jobs/job-index.ts writes them (tags in job_tags); the schema's triggers keep the
// per-status counters and the search index as they do for the Worker's own writes.
// BENCH_LIST_SMALL (1000), BENCH_LIST_LARGE (100000), BENCH_LIST_OTHERS (as large, over 10
// organizations) and BENCH_LIST_REQUESTS (per list and size; 1280) size a run.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { type E2EStack, bootStack } from "../test/e2e/harness";
import { table } from "./shared";

const SMALL = Number(process.env.BENCH_LIST_SMALL ?? 1000);
const LARGE = Number(process.env.BENCH_LIST_LARGE ?? 100_000);
const OTHERS = Number(process.env.BENCH_LIST_OTHERS ?? LARGE);
const REQUESTS = Number(process.env.BENCH_LIST_REQUESTS ?? 1280);
const IN_FLIGHT = 64;
const OTHER_ORGS = 10;
/** Customer tags are spread over this many values: a tag filter matches ~1/CUSTOMERS of the jobs. */
const CUSTOMERS = 200;
const ORG = "dev";
/** Seeded jobs are `SPACING_S` seconds apart from this instant, every organization's on one clock. */
const EPOCH_S = Date.parse("2025-01-01T00:00:00Z") / 1000;
const SPACING_S = 7;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
};

function d1File(stateDir: string): string {
  const dir = path.join(stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  return path.join(dir, readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")!);
}
const sqlite = (file: string, sql: string) => execFileSync("sqlite3", ["-cmd", ".timeout 10000", file], { input: sql, encoding: "utf8", maxBuffer: 1 << 26 }).trim();

/** 20 random symbols of worker/ids.ts's alphabet, as newId draws them. */
const ID_SYMBOLS = Array.from({ length: 20 }, () => "substr('0123456789abcdefghjkmnpqrstvwxyz', abs(random()) % 32 + 1, 1)").join(" || ");

/**
 * Jobs `from`..`to` of `org`, job i created at EPOCH + (i × stride + offset) × SPACING:
 * mostly completed, some failed, canceled, partial, pending or processing; two tags each
 * (an environment and one of CUSTOMERS customers, in mixed case as users send them).
 */
function seedJobs(file: string, org: string, from: number, to: number, stride = 1, offset = 0) {
  const at = (plus: number) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${EPOCH_S} + (i * ${stride} + ${offset}) * ${SPACING_S} + ${plus}, 'unixepoch')`;
  // MATERIALIZED: each job's random draws are made once, not again wherever the CTE is read.
  sqlite(
    file,
    `BEGIN;
WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${to}),
drawn AS MATERIALIZED (SELECT i, 'job_' || ${ID_SYMBOLS} AS id, abs(random()) % 100 AS r, abs(random()) % ${CUSTOMERS} AS customer FROM n),
shaped AS (SELECT *, CASE WHEN r < 80 THEN 'completed' WHEN r < 85 THEN 'failed' WHEN r < 88 THEN 'canceled' WHEN r < 90 THEN 'partial' WHEN r < 95 THEN 'pending' ELSE 'processing' END AS status FROM drawn)
INSERT INTO jobs (id, org_id, status, progress, current_stage, mode, kind, priority, bundle, input, tags, error_code, created_at, updated_at, started_at, completed_at,
                  metadata, dialect, waiting_for_encoder, bytes_in, bytes_out, execution_ms, compute_units)
SELECT id, '${org}', status,
  CASE WHEN status IN ('completed', 'failed', 'canceled', 'partial') THEN 100 WHEN status = 'pending' THEN 0 ELSE r END,
  CASE status WHEN 'processing' THEN 'encode' ELSE NULL END,
  'kind', CASE i % 3 WHEN 0 THEN 'video' WHEN 1 THEN 'audio' ELSE 'image' END, 'normal', NULL,
  'https://media.example.com/uploads/' || substr(id, 5) || '.mp4',
  json_array(CASE WHEN r % 10 < 7 THEN 'Prod' ELSE 'staging' END, 'Customer-' || customer),
  CASE status WHEN 'failed' THEN 'input_unreadable' ELSE NULL END,
  ${at(0)}, ${at(40)}, CASE WHEN status = 'pending' THEN NULL ELSE ${at(2)} END,
  CASE WHEN status IN ('completed', 'failed', 'canceled', 'partial') THEN ${at(40)} ELSE NULL END,
  json_object('customer_id', 'cus_' || customer), NULL, 0, 1000000 + r * 1000, CASE status WHEN 'completed' THEN 400000 + r * 100 ELSE 0 END,
  CASE WHEN status IN ('completed', 'failed', 'canceled', 'partial') THEN 38000 ELSE NULL END, 0.63
FROM shaped;
INSERT INTO job_tags (job_id, org_id, tag, created_at)
  SELECT j.id, j.org_id, lower(t.value), j.created_at FROM jobs j, json_each(j.tags) t
  WHERE j.org_id = '${org}' AND NOT EXISTS (SELECT 1 FROM job_tags x WHERE x.job_id = j.id)
  ON CONFLICT DO NOTHING;
COMMIT;`,
  );
}

interface Case {
  name: string;
  /** The path of the i-th request, and a check of its answer (throws when it is wrong). */
  request: (i: number) => { path: string; check: (json: any) => void };
}

/** The lists, their targets drawn from what was seeded for the org of `jobs` jobs. */
function cases(file: string, jobs: number): Case[] {
  const rows = (sql: string) => sqlite(file, `.mode json\n${sql}`);
  const parse = (out: string) => (out ? (JSON.parse(out) as Record<string, string>[]) : []);
  // Cursors 80–95 % of the way down the list, and the job each page must start at.
  const deep = Array.from({ length: 16 }, (_, k) => {
    const at = Math.floor(jobs * (0.8 + (0.15 * k) / 16));
    const [before, first] = parse(rows(`SELECT created_at, id FROM jobs WHERE org_id = '${ORG}' ORDER BY created_at DESC, id DESC LIMIT 2 OFFSET ${at - 1};`));
    const cursor = Buffer.from(JSON.stringify({ created_at: before!.created_at, id: before!.id })).toString("base64url");
    return { cursor, first: first!.id };
  });
  // A search for ten characters of one job's id, as someone pasting part of an id would: one match at any size.
  const searched = parse(rows(`SELECT id FROM jobs WHERE org_id = '${ORG}' ORDER BY random() LIMIT 32;`)).map((r) => r.id!);
  const failed = Number(rows(`SELECT count(*) AS n FROM jobs WHERE org_id = '${ORG}' AND status = 'failed';`).match(/\d+/)![0]);
  const expect = (ok: boolean, what: string) => {
    if (!ok) throw new Error(what);
  };
  return [
    {
      name: "first page",
      request: () => ({ path: "/v1/jobs", check: (j) => expect(j.data.length === 20 && j.total_count === jobs, `first page: ${j.data.length} jobs, total_count ${j.total_count} ≠ ${jobs}`) }),
    },
    {
      name: "deep cursor (80–95 %)",
      request: (i) => {
        const d = deep[i % deep.length]!;
        return { path: `/v1/jobs?cursor=${d.cursor}`, check: (j) => expect(j.data[0]?.id === d.first && j.total_count === jobs, `deep page starts at ${j.data[0]?.id}, not ${d.first}`) };
      },
    },
    {
      name: "status=failed (~5 %)",
      request: () => ({
        path: "/v1/jobs?status=failed",
        check: (j) => expect(j.data.length > 0 && j.data.every((x: any) => x.status === "failed") && j.total_count === failed, `status page: total_count ${j.total_count} ≠ ${failed}`),
      }),
    },
    {
      name: `tag=customer-N (~${(100 / CUSTOMERS).toFixed(1)} %)`,
      request: (i) => {
        const tag = `customer-${i % CUSTOMERS}`;
        return { path: `/v1/jobs?tag=${tag}`, check: (j) => expect(j.data.every((x: any) => x.tags.some((t: string) => t.toLowerCase() === tag)), `tag page holds a job without ${tag}`) };
      },
    },
    {
      name: "search (part of an id)",
      request: (i) => {
        const id = searched[i % searched.length]!;
        return { path: `/v1/jobs?search=${id.slice(6, 16)}`, check: (j) => expect(j.data.some((x: any) => x.id === id), `search for part of ${id} missed it`) };
      },
    },
    {
      // A word in most jobs' tags: too many hits for the search index, so the list walks.
      name: "search=prod (~70 %)",
      request: () => ({
        path: "/v1/jobs?search=prod",
        check: (j) => expect(j.data.length === 20 && j.data.every((x: any) => x.tags.some((t: string) => t.toLowerCase().includes("prod"))), "search=prod page holds a job without it"),
      }),
    },
  ];
}

/** `REQUESTS` requests of one list, `IN_FLIGHT` at once; their latencies in ms. */
async function measure(stack: E2EStack, list: Case, requests: number): Promise<number[]> {
  const headers = { authorization: `Bearer ${stack.devKey}` };
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < requests) {
        const { path: p, check } = list.request(next++);
        const t0 = performance.now();
        const res = await fetch(`${stack.url}${p}`, { headers });
        const json = await res.json();
        latencies.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`${list.name}: ${p} → ${res.status} ${JSON.stringify(json)}`);
        check(json);
      }
    }),
  );
  return latencies;
}

async function run(stateDir: string, jobs: number) {
  const stack = await bootStack({}, {}, { stateDir });
  try {
    const lists = cases(d1File(stateDir), jobs);
    // Warm the Worker (its isolate, the key cache) before anything is timed.
    for (const list of lists) await measure(stack, list, IN_FLIGHT * 2);
    const results = [];
    for (const list of lists) {
      const ms = await measure(stack, list, REQUESTS);
      results.push({ name: list.name, p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms) });
    }
    return results;
  } finally {
    await stack.stop();
  }
}

let exitCode = 0;
try {
  console.log(`bench:list: GET /v1/jobs, ${IN_FLIGHT} in flight, ${REQUESTS} requests per list; org "${ORG}" at ${SMALL} then ${LARGE} jobs (+${OTHERS} in ${OTHER_ORGS} other orgs)`);
  // A first stack applies the migrations and seeds the dev org; jobs go in while it is down.
  const first = await bootStack();
  await first.stop();
  const file = d1File(first.stateDir);
  let t0 = performance.now();
  seedJobs(file, ORG, 0, SMALL);
  console.log(`seeded ${SMALL} jobs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const small = await run(first.stateDir, SMALL);

  t0 = performance.now();
  seedJobs(file, ORG, SMALL, LARGE);
  for (let k = 0; k < OTHER_ORGS; k++) {
    const org = `org_bench${k}`;
    sqlite(file, `INSERT INTO organizations (id, name, created_at) VALUES ('${org}', 'bench ${k}', '2025-01-01T00:00:00.000Z') ON CONFLICT DO NOTHING;`);
    seedJobs(file, org, 0, Math.floor(OTHERS / OTHER_ORGS), Math.ceil(LARGE / (OTHERS / OTHER_ORGS)), k);
  }
  console.log(`seeded to ${LARGE} jobs (+${OTHERS} in other orgs; ${sqlite(file, "SELECT count(*) FROM jobs;")} rows) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const large = await run(first.stateDir, LARGE);

  const f = (n: number) => n.toFixed(1);
  for (const [size, results] of [[SMALL, small], [LARGE, large]] as const) {
    console.log(`\n${size} jobs in the org (ms):`);
    console.log(table([["list", "p50", "p99", "max"], ...results.map((r) => [r.name, f(r.p50), f(r.p99), f(r.max)])]));
  }
  const ratios = small.map((s, i) => ({ name: s.name, small: s.p99, large: large[i]!.p99, ratio: large[i]!.p99 / s.p99 }));
  console.log(`\np99 at ${LARGE} ÷ p99 at ${SMALL}, per list:`);
  console.log(table([["list", `p99 ${SMALL}`, `p99 ${LARGE}`, "ratio"], ...ratios.map((r) => [r.name, f(r.small), f(r.large), r.ratio.toFixed(2)])]));
  const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  console.log(`worst list: ${worst.name}`);
  console.log(`ratio=${worst.ratio.toFixed(2)}`);
} catch (err) {
  console.error(`bench:list failed: ${(err as Error).stack ?? err}`);
  exitCode = 1;
}
process.exit(exitCode);
