import { exports, env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { type PolicyStatement, fullAccess } from "../../worker/auth/policy";
import { newId, sha256Hex } from "../../worker/ids";
import { jobObject } from "../../worker/jobs/job-stub";

export interface TestOrg {
  orgId: string;
  key: string;
}

/** A new API key of `orgIds`: its secret, and the D1 statements that store it. */
async function apiKeyRows(name: string, statements: PolicyStatement[], orgIds: string[], now: string): Promise<{ key: string; rows: D1PreparedStatement[] }> {
  const keyId = newId("key");
  const key = `sk_test_${crypto.randomUUID().replaceAll("-", "")}`;
  const rows = [
    env.DB.prepare("INSERT INTO api_keys (id, name, secret_hash, secret_prefix, statements, created_at) VALUES (?, ?, ?, ?, ?, ?)").bind(
      keyId,
      name,
      await sha256Hex(key),
      key.slice(0, 11),
      JSON.stringify(statements),
      now,
    ),
    ...orgIds.map((orgId) => env.DB.prepare("INSERT INTO api_key_organizations (key_id, org_id) VALUES (?, ?)").bind(keyId, orgId)),
  ];
  return { key, rows };
}

/** Creates an organization and an API key in D1, the way `npm start` seeds the dev org. */
export async function seedOrg(statements: PolicyStatement[] = fullAccess, extraOrgIds: string[] = []): Promise<TestOrg> {
  const orgId = newId("org");
  const now = new Date().toISOString();
  const { key, rows } = await apiKeyRows("test", statements, [orgId, ...extraOrgIds], now);
  await env.DB.batch([env.DB.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)").bind(orgId, `org ${orgId}`, now), ...rows]);
  return { orgId, key };
}

/** Another API key (full access) of an organization already seeded. */
export async function seedKey(orgId: string, name: string): Promise<string> {
  const { key, rows } = await apiKeyRows(name, fullAccess, [orgId], new Date().toISOString());
  await env.DB.batch(rows);
  return key;
}

export async function seedBareOrg(): Promise<string> {
  const orgId = newId("org");
  await env.DB.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)").bind(orgId, "bare", new Date().toISOString()).run();
  return orgId;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  rawBody?: string;
  key?: string | null;
  headers?: Record<string, string>;
}

export async function call(path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  } else if (body !== undefined) {
    headers["content-type"] ??= "application/json";
  }
  const response = await exports.default.fetch(
    new Request(`https://kiln.test${path}`, { method: options.method ?? (body === undefined ? "GET" : "POST"), headers, body }),
  );
  const text = await response.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.status, headers: response.headers, json, text };
}

export const videoJob = (extra: Record<string, unknown> = {}) => ({
  input: "https://media.example.com/in.mp4",
  kind: "video",
  options: { format: "mp4", quality: "high", width: 640 },
  ...extra,
});

export function jobDO(jobId: string) {
  return jobObject(env, jobId);
}

/** Every work order the encoder double has received for a job, oldest first. */
export async function ordersFor<Order>(jobId: string): Promise<Order[]> {
  return (await (await fetch(`${env.ENCODER_URL}/orders/${jobId}`)).json()) as Order[];
}

/** The job's `n`th work order, once the encoder double has received it. */
export async function orderNumber<Order>(jobId: string, n = 1, timeout = 8000): Promise<Order> {
  let order: Order | undefined;
  await vi.waitFor(async () => {
    order = (await ordersFor<Order>(jobId))[n - 1];
    expect(order).toBeDefined();
  }, { timeout, interval: 50 });
  return order!;
}

/** Plays the encoder's side: posts events for one attempt, numbering them. */
export function encoderFor(order: { job_id: string; attempt: number; lease_token: string }) {
  let seq = 0;
  return async (body: Record<string, unknown>, token = order.lease_token, attempt = order.attempt) => {
    const res = await call(`/internal/jobs/${order.job_id}/events`, {
      headers: { authorization: `Bearer ${token}` },
      body: { v: 1, job_id: order.job_id, attempt, seq: seq++, at: new Date().toISOString(), ...body },
    });
    return { status: res.status, directive: res.json?.directive as string };
  };
}

/** A transcode attempt's events up to its outputs' completions: import and probe done, every task's encode started, export started. */
export const eventsBeforeOutputs = (tasks: { task_id: string }[]): Record<string, unknown>[] => [
  { type: "task_started", stage: "import", task_id: null },
  { type: "task_completed", stage: "import", task_id: null, output: null },
  { type: "task_started", stage: "probe", task_id: null },
  { type: "task_completed", stage: "probe", task_id: null, output: null },
  ...tasks.map((t) => ({ type: "task_started", stage: "encode", task_id: t.task_id })),
  { type: "task_started", stage: "export", task_id: null },
];

/** What the encoder reports of an MP4 output it verified (ffprobe facts), for tests playing the encoder. */
export const outputFacts = (outputId: string) => ({
  output_id: outputId,
  main: `${outputId}.mp4`,
  files: [{ path: `${outputId}.mp4`, content_type: "video/mp4", size_bytes: 12345, sha256: "a".repeat(64) }],
  size_bytes: 12345,
  duration_ms: 3000,
  width: 640,
  height: 360,
  codec: "h264",
  sha256: "a".repeat(64),
});
