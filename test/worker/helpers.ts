import { exports, env } from "cloudflare:workers";
import { type PolicyStatement, fullAccess } from "../../worker/auth/policy";
import { newId, sha256Hex } from "../../worker/ids";

export interface TestOrg {
  orgId: string;
  key: string;
}

/** Creates an organization and an API key in D1, the way `npm start` seeds the dev org. */
export async function seedOrg(statements: PolicyStatement[] = fullAccess, extraOrgIds: string[] = []): Promise<TestOrg> {
  const orgId = newId("org");
  const keyId = newId("key");
  const key = `sk_test_${crypto.randomUUID().replaceAll("-", "")}`;
  const now = new Date().toISOString();
  await env.DB.batch([
    env.DB.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)").bind(orgId, `org ${orgId}`, now),
    env.DB.prepare("INSERT INTO api_keys (id, name, secret_hash, secret_prefix, statements, created_at) VALUES (?, ?, ?, ?, ?, ?)").bind(
      keyId,
      "test",
      await sha256Hex(key),
      key.slice(0, 11),
      JSON.stringify(statements),
      now,
    ),
    env.DB.prepare("INSERT INTO api_key_organizations (key_id, org_id) VALUES (?, ?)").bind(keyId, orgId),
    ...extraOrgIds.map((extra) => env.DB.prepare("INSERT INTO api_key_organizations (key_id, org_id) VALUES (?, ?)").bind(keyId, extra)),
  ]);
  return { orgId, key };
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
  return env.JOBS.get(env.JOBS.idFromName(jobId));
}
