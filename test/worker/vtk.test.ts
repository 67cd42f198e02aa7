import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ToolsOrder } from "../../encoder/contract";
import { type PolicyStatement, fullAccess } from "../../worker/auth/policy";
import { derivedId, newId, sha256Hex } from "../../worker/ids";
import type { JobState } from "../../worker/jobs/job-state";
import { type CallOptions, call, encoderFor, jobDO, orderNumber, seedOrg } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/*
 * castlabs VTK's API at /o/{organization_urn}/…: addressing, IAM on every endpoint,
 * jobs and their status codes driven through the real JobDO (the encoder's side played
 * through the internal routes), lists, metrics, actions, tasks and logs, notify, and job
 * bundles with their aggregates.
 */

const URN = "urn:janus:organization:";
const urnOf = (orgId: string) => `${URN}${orgId.replace(/^org_/, "")}`;
const unique = () => crypto.randomUUID().slice(0, 8);

interface VtkOrg {
  orgId: string;
  key: string;
  urn: string;
}

async function vtkOrg(statements: PolicyStatement[] = fullAccess, extraOrgIds: string[] = []): Promise<VtkOrg> {
  const org = await seedOrg(statements, extraOrgIds);
  return { ...org, urn: urnOf(org.orgId) };
}

/** A call as VTK's clients make it: the path under /o/{urn}, the key, and x-castlabs-organization. */
function vtk(org: { key: string; urn: string }, path: string, options: CallOptions & { header?: string | null; pathUrn?: string } = {}) {
  const { header, pathUrn, ...rest } = options;
  const headers: Record<string, string> = { ...rest.headers };
  if (header !== null) headers["x-castlabs-organization"] = header ?? org.urn;
  return call(`/o/${pathUrn ?? org.urn}${path}`, { key: org.key, ...rest, headers });
}

const SECRET = "acme-aws-access-keys";

async function createSecret(key: string, headers: Record<string, string> = {}) {
  const res = await call("/v1/secrets", { key, headers, body: { name: SECRET, credentials: S3_TEST_CREDENTIALS, endpoint: env.TEST_ONLY_ALLOWED_S3_ENDPOINT } });
  expect(res.status, res.text).toBe(201);
}

/** The seed's example submission (docs: Jobs → Submit a job). */
const seedBody = (extra: Record<string, unknown> = {}) => ({
  tags: ["my-project"],
  region: "aws:eu-west-1",
  tasks: [
    { tool: "storage:get", parameters: { location: `s3://{${SECRET}}@acme-bucket/in/`, files: ["source.mov"] } },
    {
      tool: "ffmpeg:cmd",
      parameters: { arguments: ["-y", "-i", "source.mov", "-c:v", "libx264", "-b:v", "1500k", "-c:a", "aac", "-b:a", "128k", "source_720p.mp4"] },
    },
    { tool: "storage:put", parameters: { location: `s3://{${SECRET}}@acme-bucket/out/{job_id}/`, files: ["source_720p.mp4"] } },
  ],
  ...extra,
});

/** A pipeline that needs no secret. */
const plainBody = (extra: Record<string, unknown> = {}) => ({
  tasks: [
    { tool: "storage:get", parameters: { location: "https://media.example.com/in/", files: ["a.mov"] } },
    { tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "a.mov", "-frames:v", "1", "still.png"] } },
  ],
  ...extra,
});

async function submit(org: VtkOrg, body: Record<string, unknown> = plainBody(), path = "/jobs") {
  const res = await vtk(org, path, { body });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

/** An org with the seed's secret, ready for the seed's submission. */
async function seedOrgWithSecret(): Promise<VtkOrg> {
  const org = await vtkOrg();
  await createSecret(org.key);
  return org;
}

const orderOf = (jobId: string) => orderNumber<ToolsOrder>(jobId);
const getJob = async (org: VtkOrg, id: string) => (await vtk(org, `/jobs/${id}`)).json;

/** Plays the whole pipeline of the seed's job through the encoder's events; its put stores `bytes`, its get reports `bytesIn` if given. */
async function complete(jobId: string, bytes = 4321, bytesIn?: number) {
  const order = await orderOf(jobId);
  const send = encoderFor(order);
  const [get, ffmpeg, put] = order.steps.map((s) => s.task_id);
  const outputId = order.steps[2]?.tool === "storage:put" ? order.steps[2].files[0]!.output_id : "";
  await send({ type: "task_started", stage: "import", task_id: get });
  await send({ type: "task_completed", stage: "import", task_id: get, output: null, ...(bytesIn === undefined ? {} : { bytes_in: bytesIn }) });
  await send({ type: "task_started", stage: "encode", task_id: ffmpeg });
  await send({ type: "task_completed", stage: "encode", task_id: ffmpeg, output: null });
  await send({ type: "task_started", stage: "export", task_id: put });
  const sha = "d".repeat(64);
  const facts = { output_id: outputId, main: "source_720p.mp4", files: [{ path: "source_720p.mp4", content_type: "video/mp4", size_bytes: bytes, sha256: sha }], size_bytes: bytes, duration_ms: 3000, width: 320, height: 180, codec: "h264", sha256: sha };
  expect((await send({ type: "output_completed", task_id: put, output: facts })).status).toBe(200);
  await send({ type: "task_completed", stage: "export", task_id: put, output: null });
  expect((await send({ type: "job_completed" })).directive).toBe("cancel");
}

type Instance = { job: JobState };
/** Fires the job's alarm as if the clock had reached its next dispatch try. */
async function passTimeToNextTry(jobId: string): Promise<void> {
  await runInDurableObject(jobDO(jobId), (instance) => {
    const dispatch = (instance as unknown as Instance).job.dispatch;
    if (dispatch) dispatch.next_try_at = Date.now() - 1;
  });
  await runDurableObjectAlarm(jobDO(jobId));
}

describe("addressing", () => {
  it("answers an organization at urn:janus:organization:<id without org_>, percent-encoded or not, and the dev org at …:dev", async () => {
    const org = await vtkOrg();
    expect(org.urn).toMatch(/^urn:janus:organization:[a-z0-9]+$/);
    expect((await vtk(org, "/jobs")).status).toBe(200);
    expect((await vtk(org, "/jobs", { pathUrn: encodeURIComponent(org.urn) })).status).toBe(200);
    // The prefix is not part of the URN.
    const prefixed = await vtk(org, "/jobs", { pathUrn: `${URN}${org.orgId}`, header: `${URN}${org.orgId}` });
    expect(prefixed.status).toBe(404);

    // The local dev organization's id is `dev` (scripts/stack.mjs).
    const devKey = `sk_test_${unique()}`;
    const keyId = newId("key");
    const now = new Date().toISOString();
    await env.DB.batch([
      env.DB.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('dev', 'Local development', ?) ON CONFLICT(id) DO NOTHING").bind(now),
      env.DB.prepare("INSERT INTO api_keys (id, name, secret_hash, secret_prefix, statements, created_at) VALUES (?, 'dev', ?, ?, ?, ?)").bind(keyId, await sha256Hex(devKey), devKey.slice(0, 11), JSON.stringify(fullAccess), now),
      env.DB.prepare("INSERT INTO api_key_organizations (key_id, org_id) VALUES (?, 'dev')").bind(keyId),
    ]);
    const dev = { key: devKey, urn: `${URN}dev`, orgId: "dev" };
    const job = await submit(dev, plainBody());
    expect(job.url).toBe(`https://kiln.test/o/${URN}dev/jobs/${job.id}`);
    expect((await call(`/v1/jobs/${job.id}`, { key: devKey })).json).toMatchObject({ id: job.id, dialect: "vtk" });
  });

  it("needs the token and x-castlabs-organization, and refuses malformed URNs", async () => {
    const org = await vtkOrg();
    const cases: [Promise<{ status: number; json: any }>, number, string][] = [
      [call(`/o/${org.urn}/jobs`, { headers: { "x-castlabs-organization": org.urn } }), 401, "token_missing"],
      [vtk({ ...org, key: "sk_nope" }, "/jobs"), 401, "token_invalid"],
      [vtk(org, "/jobs", { header: null }), 400, "organization_required"],
      [vtk(org, "/jobs", { header: "acme" }), 400, "invalid_organization_urn"],
      [vtk(org, "/jobs", { pathUrn: "urn:janus:user:x" }), 400, "invalid_organization_urn"],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      expect(res.json).toMatchObject({ code, detail: expect.any(String), request_id: expect.any(String) });
    }
  });

  it("lets path and header differ only where the key belongs to both; another organization is a 404", async () => {
    const owner = await vtkOrg();
    const both = await vtkOrg(fullAccess, [owner.orgId]);
    // Acting for the path's organization under the membership of the header's.
    const created = await vtk({ key: both.key, urn: owner.urn }, "/jobs", { header: both.urn, body: plainBody() });
    expect(created.status, created.text).toBe(201);
    expect((await call(`/v1/jobs/${created.json.id}`, { key: owner.key })).status).toBe(200);

    const outsider = await vtkOrg();
    for (const [pathUrn, header] of [
      [owner.urn, owner.urn],
      [owner.urn, outsider.urn],
      [outsider.urn, owner.urn],
    ]) {
      const res = await vtk({ key: outsider.key, urn: pathUrn! }, "/jobs", { header });
      if (pathUrn === outsider.urn && header === outsider.urn) continue;
      expect(res.status, `${pathUrn} ${header}`).toBe(404);
      expect(res.json.code).toBe("not_found");
    }
    // An unknown path under /o is VTK's 404; a known path with another method a 405.
    expect((await vtk(owner, "/nothing")).json).toMatchObject({ code: "not_found" });
    expect((await vtk(owner, "/jobs", { method: "DELETE" })).status).toBe(405);
  });
});

/** Every endpoint: its action, how to call it, its resource, and the status a granted call gets. */
interface Fixture {
  owner: VtkOrg;
  job: any;
  ended: any;
  bundle: string;
}
const endpoints: [string, (f: Fixture) => [string, CallOptions], (f: Fixture) => string, number][] = [
  ["vtk:CreateJob", () => ["/jobs", { body: plainBody() }], () => "jobs", 201],
  ["vtk:ListJobs", () => ["/jobs", {}], () => "jobs", 200],
  ["vtk:GetJob", (f) => [`/jobs/${f.job.id}`, {}], (f) => `jobs/${f.job.id}`, 200],
  ["vtk:GetJobMetrics", (f) => [`/jobs/${f.job.id}/metrics`, {}], (f) => `jobs/${f.job.id}/metrics`, 200],
  ["vtk:AbortJob", (f) => [`/jobs/${f.job.id}?action=abort`, { method: "POST" }], (f) => `jobs/${f.job.id}`, 200],
  ["vtk:RestartJob", (f) => [`/jobs/${f.ended.id}?action=restart`, { method: "POST" }], (f) => `jobs/${f.ended.id}`, 200],
  ["vtk:ResubmitJob", (f) => [`/jobs/${f.ended.id}?action=resubmit`, { method: "POST" }], (f) => `jobs/${f.ended.id}`, 201],
  ["vtk:ListTasks", (f) => [`/jobs/${f.job.id}/tasks`, {}], (f) => `jobs/${f.job.id}/tasks`, 200],
  ["vtk:GetTask", (f) => [`/jobs/${f.job.id}/tasks/${f.job.tasks[1].id}`, {}], (f) => `jobs/${f.job.id}/tasks/${f.job.tasks[1].id}`, 200],
  ["vtk:GetTaskLog", (f) => [`/jobs/${f.job.id}/tasks/${f.job.tasks[1].id}/log`, {}], (f) => `jobs/${f.job.id}/tasks/${f.job.tasks[1].id}/log`, 200],
  ["vtk:ListBundles", () => ["/jb", {}], () => "jb", 200],
  ["vtk:CreateBundle", () => ["/jb", { body: { name: `new-${unique()}` } }], () => "jb", 201],
  ["vtk:GetBundle", (f) => [`/jb/${f.bundle}`, {}], (f) => `jb/${f.bundle}`, 200],
  ["vtk:ListBundleJobs", (f) => [`/jb/${f.bundle}/jobs`, {}], (f) => `jb/${f.bundle}/jobs`, 200],
  ["vtk:CreateBundleJob", (f) => [`/jb/${f.bundle}/jobs`, { body: plainBody() }], (f) => `jb/${f.bundle}/jobs`, 201],
];

/** An organization with a pending job, an aborted one and a bundle. */
async function fixture(): Promise<Fixture> {
  const owner = await vtkOrg();
  const job = await submit(owner);
  const ended = await submit(owner);
  expect((await vtk(owner, `/jobs/${ended.id}?action=abort`, { method: "POST" })).status).toBe(200);
  const bundle = `bundle-${unique()}`;
  expect((await vtk(owner, "/jb", { body: { name: bundle } })).status).toBe(201);
  return { owner, job, ended, bundle };
}

describe("IAM: VTK actions on VTK ARNs", { timeout: 30_000 }, () => {
  it.each(endpoints)("%s: 403 naming the action and ARN without it, allowed by a wildcard statement", async (action, request, resource, okStatus) => {
    const f = await fixture();
    const [path, options] = request(f);
    const others = endpoints.map(([a]) => a).filter((a) => a !== action);
    const without = await vtkOrg([{ effect: "allow", actions: [...others, "jobs:*"], resources: ["*"] }], [f.owner.orgId]);
    const denied = await vtk({ key: without.key, urn: f.owner.urn }, path, options);
    expect(denied.status, denied.text).toBe(403);
    expect(denied.json).toMatchObject({ code: "forbidden", action, resource: `arn:vtk:api::${f.owner.urn}:${resource(f)}` });
    expect(denied.json.detail).toContain(action);

    const wildcard = await vtkOrg([{ effect: "allow", actions: ["vtk:*"], resources: [`arn:vtk:api::${URN}*:*`] }], [f.owner.orgId]);
    const allowed = await vtk({ key: wildcard.key, urn: f.owner.urn }, path, options);
    expect(allowed.status, allowed.text).toBe(okStatus);
  });

  it("grants by exact action and resource, by wildcards in the middle of an ARN, and to a native full-access key; native statements grant nothing here", async () => {
    const f = await fixture();
    const arn = `arn:vtk:api::${f.owner.urn}:jobs/${f.job.id}`;
    const exact = await vtkOrg([{ effect: "allow", actions: ["vtk:GetJob"], resources: [arn] }], [f.owner.orgId]);
    expect((await vtk({ key: exact.key, urn: f.owner.urn }, `/jobs/${f.job.id}`)).status).toBe(200);
    expect((await vtk({ key: exact.key, urn: f.owner.urn }, `/jobs/${f.ended.id}`)).status).toBe(403);
    const middle = await vtkOrg([{ effect: "allow", actions: ["vtk:Get*"], resources: ["arn:vtk:api::*:jobs/*"] }], [f.owner.orgId]);
    expect((await vtk({ key: middle.key, urn: f.owner.urn }, `/jobs/${f.job.id}/metrics`)).status).toBe(200);
    expect((await vtk({ key: middle.key, urn: f.owner.urn }, "/jobs")).json).toMatchObject({ code: "forbidden", action: "vtk:ListJobs" });
    const native = await vtkOrg([{ effect: "allow", actions: ["jobs:*"], resources: ["jobs/*"] }], [f.owner.orgId]);
    expect((await vtk({ key: native.key, urn: f.owner.urn }, `/jobs/${f.job.id}`)).json).toMatchObject({ code: "forbidden", action: "vtk:GetJob", resource: arn });
    // A native key can be made holding VTK statements, within what its maker holds.
    const made = await call("/v1/keys", { key: f.owner.key, body: { name: "vtk reader", statements: [{ actions: ["vtk:List*"], resources: ["arn:vtk:api::*:jobs"] }] } });
    expect(made.status, made.text).toBe(201);
    expect((await vtk({ key: made.json.secret, urn: f.owner.urn }, "/jobs")).status).toBe(200);
  });

  it("answers 404 to another organization's key on every endpoint, in the path's organization and for its job ids", async () => {
    const f = await fixture();
    const outsider = await vtkOrg();
    for (const [action, request] of endpoints) {
      const [path, options] = request(f);
      const res = await vtk({ key: outsider.key, urn: f.owner.urn }, path, options);
      expect(res.status, `${action} ${res.text}`).toBe(404);
      // In its own organization, the owner's job ids and bundle names do not exist either.
      if (path === "/jobs" || path === "/jb") continue;
      const own = await vtk(outsider, path, options);
      expect(own.status, `${action} own org ${own.text}`).toBe(404);
    }
  });
});

describe("submitting", { timeout: 20_000 }, () => {
  it("answers the seed's submission with 201 and the full job, every task in its initial state", async () => {
    const org = await seedOrgWithSecret();
    const res = await vtk(org, "/jobs", { body: seedBody() });
    expect(res.status, res.text).toBe(201);
    const job = res.json;
    expect(job).toMatchObject({
      id: expect.stringMatching(/^job_/),
      url: `https://kiln.test/o/${org.urn}/jobs/${job.id}`,
      status: 0,
      status_text: "Submitted",
      tags: ["my-project"],
      region: "aws:eu-west-1",
      priority: 10,
      notify: null,
      job_bundle: null,
      error: null,
      created: expect.any(String),
      modified: expect.any(String),
      started: null,
      finished: null,
    });
    expect(job.tasks).toEqual(
      seedBody().tasks.map((t) =>
        // The resolved task: the parameters as sent with the tool's defaults filled in, and the version run.
        expect.objectContaining({ id: expect.stringMatching(/^task_/), tool: t.tool, version: "1.0", parameters: expect.objectContaining(t.parameters), status: 0, status_text: "Submitted", progress: 0, started: null, finished: null }),
      ),
    );
    // An ordinary Kiln job: in /v1 it says which dialect made it, and VTK's default priority 10 is the economy tier.
    expect((await call(`/v1/jobs/${job.id}`, { key: org.key })).json).toMatchObject({ dialect: "vtk", priority: "economy", region: "aws:eu-west-1" });
    expect((await getJob(org, job.id)).tasks).toEqual(job.tasks);
  });

  it("maps priorities 1–10 onto the tiers and reads them back as the tier's number", async () => {
    const org = await vtkOrg();
    for (const [given, tier, shown] of [[1, "premium", 1], [6, "standard", 5], [8, "economy", 10]] as const) {
      const job = await submit(org, plainBody({ priority: given }));
      expect(job.priority).toBe(shown);
      expect((await call(`/v1/jobs/${job.id}`, { key: org.key })).json.priority).toBe(tier);
    }
  });

  const refusals: [string, Record<string, unknown>, number, string][] = [
    ["role_arn", plainBody({ role_arn: "arn:aws:iam::123456789012:role/vtk" }), 422, "role_arn_unsupported"],
    ["role_arn in a tool's parameters", { tasks: [{ tool: "storage:get", parameters: { location: "https://media.example.com/", files: ["a.mov"], role_arn: "arn:aws:iam::1:role/x" } }] }, 422, "role_arn_unsupported"],
    ["a mailto: notify", plainBody({ notify: "mailto:ops@example.com" }), 422, "notify_unsupported"],
    ["a digest: notify", plainBody({ notify: "digest:https://u:p@example.com/cb" }), 422, "notify_unsupported"],
    ["a notify that is no URL", plainBody({ notify: "ops" }), 400, "validation_error"],
    ["an unknown tool", { tasks: [{ tool: "video:transcode", parameters: {} }] }, 400, "unknown_tool"],
    ["an ffmpeg option the allowlist refuses", { tasks: [{ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "a.mov", "-dump_attachment:t", "x", "b.mp4"] } }] }, 400, "tool_refused"],
    ["an absolute path in files", { tasks: [{ tool: "storage:get", parameters: { location: "https://media.example.com/", files: ["/etc/passwd"] } }] }, 400, "absolute_path"],
    ["a priority outside 1–10", plainBody({ priority: 11 }), 400, "validation_error"],
    ["job_bundle in the body", plainBody({ job_bundle: "x" }), 400, "validation_error"],
    ["an unknown field", plainBody({ organization: "acme" }), 400, "validation_error"],
    ["no tasks", { tags: ["a"] }, 400, "validation_error"],
    ["tasks that fetch nothing", { tasks: [{ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "a.mov", "b.mp4"] } }] }, 400, "input_required"],
  ];
  it.each(refusals)("refuses %s", async (_label, body, status, code) => {
    const org = await vtkOrg();
    const res = await vtk(org, "/jobs", { body });
    expect(res.status, res.text).toBe(status);
    expect(res.json.code).toBe(code);
    if (code === "role_arn_unsupported") expect(res.json.detail).toMatch(/named secret.*s3:\/\/\{secret-name\}@/);
    if (code === "input_required") expect(res.json.detail).toMatch(/^tasks: .*storage:get/);
    if (status === 400 && code !== "invalid_json") expect(res.json.issues.length).toBeGreaterThan(0);
  });

  it("refuses a body that is not JSON", async () => {
    const res = await vtk(await vtkOrg(), "/jobs", { rawBody: "{nope" });
    expect([res.status, res.json.code]).toEqual([400, "invalid_json"]);
  });
});

describe("status codes 0–6 from the real JobDO", { timeout: 30_000 }, () => {
  it("0 Submitted → 1 In progress → 2 Completed, tasks alike", async () => {
    const org = await seedOrgWithSecret();
    const job = await submit(org, seedBody());
    const order = await orderOf(job.id);
    const send = encoderFor(order);
    await send({ type: "task_started", stage: "import", task_id: job.tasks[0].id });
    const running = await getJob(org, job.id);
    expect([running.status, running.status_text]).toEqual([1, "In progress"]);
    expect(running.tasks.map((t: { status: number }) => t.status)).toEqual([1, 0, 0]);
    await complete(job.id);
    const done = await getJob(org, job.id);
    expect([done.status, done.status_text]).toEqual([2, "Completed"]);
    expect(done.tasks.map((t: { status_text: string }) => t.status_text)).toEqual(["Completed", "Completed", "Completed"]);
    expect(done.finished).toEqual(expect.any(String));
  });

  it("3 Failed: the failed task 3, the tasks after it 4", async () => {
    const org = await vtkOrg();
    const job = await submit(org);
    const send = encoderFor(await orderOf(job.id));
    await send({ type: "task_started", stage: "import", task_id: job.tasks[0].id });
    await send({ type: "task_failed", stage: "import", task_id: job.tasks[0].id, error: { code: "input_unreachable", message: "404 from origin" } });
    const failed = await getJob(org, job.id);
    expect([failed.status, failed.status_text, failed.error.code]).toEqual([3, "Failed", "input_unreachable"]);
    expect(failed.tasks.map((t: { status: number }) => t.status)).toEqual([3, 4]);
  });

  it("4 Aborted", async () => {
    const org = await vtkOrg();
    const job = await submit(org);
    const aborted = await vtk(org, `/jobs/${job.id}?action=abort`, { method: "POST" });
    expect(aborted.status).toBe(200);
    expect([aborted.json.status, aborted.json.status_text]).toEqual([4, "Aborted"]);
    expect(aborted.json.tasks.map((t: { status: number }) => t.status)).toEqual([4, 4]);
  });

  it("5 Waiting for resources while the encoder pool answers busy, listed as 5 at once; 1 once an encoder takes it", async () => {
    const org = await vtkOrg();
    // The job id is known before it exists (an idempotency key names it), so the pool can be told to refuse its first order.
    const idempotencyKey = `busy-${unique()}`;
    const jobId = await derivedId("job", `${org.orgId}\n${idempotencyKey}`);
    await fetch(`${env.ENCODER_URL}/control`, { method: "POST", body: JSON.stringify({ job_id: jobId, busy: 1 }) });
    expect((await call("/v1/jobs", { key: org.key, body: { ...plainBody(), idempotency_key: idempotencyKey } })).status).toBe(201);
    let waiting: any;
    await vi.waitFor(async () => {
      waiting = await getJob(org, jobId);
      expect(waiting.status).toBe(5);
    }, { timeout: 8000, interval: 50 });
    expect(waiting.status_text).toBe("Waiting for resources");
    expect(waiting.tasks.map((t: { status: number }) => t.status)).toEqual([5, 5]);
    const listed = (await vtk(org, "/jobs?status=5")).json;
    expect(listed.results.map((j: { id: string }) => j.id)).toEqual([jobId]);
    expect(listed.results[0]).toMatchObject({ status: 5, status_text: "Waiting for resources" });
    expect((await vtk(org, "/jobs?status=0")).json.count).toBe(0);

    await passTimeToNextTry(jobId);
    const send = encoderFor(await orderOf(jobId));
    await send({ type: "task_started", stage: "import", task_id: waiting.tasks[0].id });
    expect((await getJob(org, jobId)).status).toBe(1);
    expect((await vtk(org, "/jobs?status=5")).json.count).toBe(0);
  });

  it("6 Resource terminated when the work order cannot be sent for good (dispatch_failed)", async () => {
    const org = await seedOrgWithSecret();
    const secret = await env.DB.prepare("SELECT id, credentials FROM secrets WHERE org_id = ?").bind(org.orgId).first<{ id: string; credentials: string }>();
    // The sealed credentials stop opening: every dispatch throws, no fault of the job.
    await env.DB.prepare("UPDATE secrets SET credentials = ? WHERE id = ?").bind(`${secret!.credentials.slice(0, -8)}AAAAAAAA`, secret!.id).run();
    const job = await submit(org, seedBody());
    for (let i = 0; i < 10 && (await getJob(org, job.id)).status !== 6; i++) await passTimeToNextTry(job.id);
    const lost = await getJob(org, job.id);
    expect([lost.status, lost.status_text, lost.error.code]).toEqual([6, "Resource terminated", "dispatch_failed"]);
    expect((await vtk(org, "/jobs?status=6")).json.results.map((j: { id: string }) => j.id)).toEqual([job.id]);
    expect((await vtk(org, "/jobs?status=3")).json.count).toBe(0);
  });
});

describe("listing jobs", { timeout: 30_000 }, () => {
  it("pages by limit and offset, sorts by created or modified either way, and filters by status, tags, search and bundle", async () => {
    const org = await vtkOrg();
    const a = await submit(org, plainBody({ tags: ["Alpha", "Shared"] }));
    const b = await submit(org, plainBody({ tags: ["beta", "shared"] }));
    const c = await submit(org, plainBody({ tags: ["gamma"] }));
    const ids = async (query: string) => {
      const res = await vtk(org, `/jobs${query}`);
      expect(res.status, res.text).toBe(200);
      return res.json.results.map((j: { id: string }) => j.id);
    };
    expect(await ids("?sort=created")).toEqual([a.id, b.id, c.id]);
    expect(await ids("?sort=-created")).toEqual([c.id, b.id, a.id]);
    // Aborting a makes it the most recently modified.
    await new Promise((r) => setTimeout(r, 5));
    expect((await vtk(org, `/jobs/${a.id}?action=abort`, { method: "POST" })).status).toBe(200);
    expect(await ids("")).toEqual([a.id, c.id, b.id]);
    expect(await ids("?sort=modified")).toEqual([b.id, c.id, a.id]);

    const paged = (await vtk(org, "/jobs?sort=created&limit=1&offset=1")).json;
    expect(paged).toMatchObject({ count: 3, results: [expect.objectContaining({ id: b.id, status: 0, status_text: "Submitted", tags: ["beta", "shared"] })] });
    expect(new URL(paged.next).searchParams.get("offset")).toBe("2");
    expect(new URL(paged.previous).searchParams.get("offset")).toBe("0");
    expect((await vtk(org, "/jobs?limit=1&offset=2")).json.next).toBeNull();

    expect(await ids("?status=4")).toEqual([a.id]);
    expect(await ids("?status=0,4&sort=created")).toEqual([a.id, b.id, c.id]);
    expect(await ids("?status=1,2&limit=20")).toEqual([]);
    expect(await ids("?tag=SHARED&sort=created")).toEqual([a.id, b.id]);
    expect(await ids("?tag=shared,alpha")).toEqual([a.id]);
    expect(await ids("?search=gamm")).toEqual([c.id]);
    expect(await ids(`?search=${b.id}`)).toEqual([b.id]);
  });

  it.each([["limit=201"], ["limit=0"], ["offset=-1"], ["sort=name"], ["status=7"], ["status=done"]])("refuses ?%s", async (query) => {
    const res = await vtk(await vtkOrg(), `/jobs?${query}`);
    expect(res.status, res.text).toBe(400);
    expect(res.json.code).toBe("validation_error");
  });

  it("defaults to 50 a page, at most 200", async () => {
    const org = await vtkOrg();
    await submit(org);
    const page = (await vtk(org, "/jobs")).json;
    expect(page).toMatchObject({ count: 1, next: null, previous: null });
    expect((await vtk(org, "/jobs?limit=200")).status).toBe(200);
  });
});

describe("metrics, actions, tasks and logs", { timeout: 30_000 }, () => {
  it("answers metrics in the seed's exact shape, from the job's usage", async () => {
    const org = await seedOrgWithSecret();
    const job = await submit(org, seedBody());
    await complete(job.id, 5_000_000);
    const res = await vtk(org, `/jobs/${job.id}/metrics`);
    expect(res.status).toBe(200);
    const metrics = res.json;
    expect(Object.keys(metrics)).toEqual(["id", "cus", "video_minutes_in", "video_minutes_out", "gb_in", "gb_out", "tasks"]);
    const usage = (await call(`/v1/jobs/${job.id}`, { key: org.key })).json.usage;
    expect(metrics).toEqual({
      id: job.id,
      cus: usage.compute_units,
      video_minutes_in: usage.video_minutes_in,
      video_minutes_out: usage.video_minutes_out,
      gb_in: usage.gb_in,
      gb_out: 0.005,
      tasks: job.tasks.map((t: { id: string; tool: string }, i: number) => ({
        task_id: t.id,
        tool: t.tool,
        cus: usage.tasks[i].compute_units,
        video_minutes_in: usage.tasks[i].video_minutes_in,
        video_minutes_out: usage.tasks[i].video_minutes_out,
        gb_in: usage.tasks[i].gb_in,
        gb_out: usage.tasks[i].gb_out,
      })),
    });
    expect(metrics.tasks[2]).toMatchObject({ tool: "storage:put", gb_out: 0.005, video_minutes_out: 0.05 });
  });

  it("counts the bytes a storage:get fetched as gb_in, per task and in total, in /v1 usage, metrics and the bundle's bytes_in; a restart clears them", async () => {
    const org = await seedOrgWithSecret();
    const name = `DL_${unique()}`;
    expect((await vtk(org, "/jb", { body: { name } })).status).toBe(201);
    const first = await submit(org, seedBody(), `/jb/${name}/jobs`);
    const second = await submit(org, seedBody(), `/jb/${name}/jobs`);
    await complete(first.id, 1_000_000, 1_500_000);
    await complete(second.id, 1_000_000, 2_000_000);

    const view = (await call(`/v1/jobs/${first.id}`, { key: org.key })).json;
    expect(view.usage.gb_in).toBe(0.0015);
    expect(view.usage.tasks.map((t: { kind: string; gb_in: number }) => [t.kind, t.gb_in])).toEqual([["storage:get", 0.0015], ["ffmpeg:cmd", 0], ["storage:put", 0]]);
    // The figure is shown in usage; the task itself stays as the Task schema declares it.
    expect(view.tasks[0]).not.toHaveProperty("bytes_in");
    const metrics = (await vtk(org, `/jobs/${first.id}/metrics`)).json;
    expect(metrics.gb_in).toBe(0.0015);
    expect(metrics.tasks.map((t: { tool: string; gb_in: number }) => [t.tool, t.gb_in])).toEqual([["storage:get", 0.0015], ["ffmpeg:cmd", 0], ["storage:put", 0]]);
    expect((await vtk(org, `/jb/${name}`)).json).toMatchObject({ jobs_completed: 2, bytes_in: 3_500_000, bytes_out: 2_000_000 });

    const restarted = await vtk(org, `/jobs/${second.id}?action=restart`, { method: "POST" });
    expect(restarted.status, restarted.text).toBe(200);
    expect((await call(`/v1/jobs/${second.id}`, { key: org.key })).json.usage.gb_in).toBe(0);
    expect((await vtk(org, `/jb/${name}`)).json).toMatchObject({ jobs_completed: 1, bytes_in: 1_500_000 });
  });

  it("aborts and restarts under the same id (200 with the job), resubmits under a new one (201, the original unchanged)", async () => {
    const org = await vtkOrg();
    const job = await submit(org, plainBody({ tags: ["again"] }));
    const aborted = await vtk(org, `/jobs/${job.id}?action=abort`, { method: "POST" });
    expect([aborted.status, aborted.json.id, aborted.json.status]).toEqual([200, job.id, 4]);
    const again = await vtk(org, `/jobs/${job.id}?action=abort`, { method: "POST" });
    expect([again.status, again.json.code]).toEqual([409, "invalid_state"]);
    const restarted = await vtk(org, `/jobs/${job.id}?action=restart`, { method: "POST" });
    expect([restarted.status, restarted.json.id, restarted.json.status]).toEqual([200, job.id, 0]);
    expect(restarted.json.tasks.map((t: { status: number }) => t.status)).toEqual([0, 0]);
    const before = await getJob(org, job.id);
    const resubmitted = await vtk(org, `/jobs/${job.id}?action=resubmit`, { method: "POST" });
    expect(resubmitted.status, resubmitted.text).toBe(201);
    expect(resubmitted.json).toMatchObject({ status: 0, tags: ["again"], resubmitted_from: job.id });
    expect(resubmitted.json.id).not.toBe(job.id);
    expect(resubmitted.json.tasks.map((t: { parameters: unknown }) => t.parameters)).toEqual(job.tasks.map((t: { parameters: unknown }) => t.parameters));
    expect(await getJob(org, job.id)).toEqual(before);
    for (const query of ["", "?action=delete"]) {
      const res = await vtk(org, `/jobs/${job.id}${query}`, { method: "POST" });
      expect([res.status, res.json.code]).toEqual([400, "validation_error"]);
    }
    expect((await vtk(org, "/jobs/job_unknown?action=abort", { method: "POST" })).status).toBe(404);
  });

  it("lists tasks with limit, offset, status and tool; gets one with its version, status and parameters", async () => {
    const org = await seedOrgWithSecret();
    const job = await submit(org, seedBody());
    const send = encoderFor(await orderOf(job.id));
    await send({ type: "task_started", stage: "import", task_id: job.tasks[0].id });
    await send({ type: "task_completed", stage: "import", task_id: job.tasks[0].id, output: null });
    const all = (await vtk(org, `/jobs/${job.id}/tasks`)).json;
    expect(all).toMatchObject({ count: 3, next: null, previous: null });
    expect(all.results.map((t: { tool: string; status: number }) => [t.tool, t.status])).toEqual([["storage:get", 2], ["ffmpeg:cmd", 0], ["storage:put", 0]]);
    const second = (await vtk(org, `/jobs/${job.id}/tasks?limit=1&offset=1`)).json;
    expect(second).toMatchObject({ count: 3, results: [expect.objectContaining({ tool: "ffmpeg:cmd" })] });
    expect((await vtk(org, `/jobs/${job.id}/tasks?status=0`)).json.results.map((t: { tool: string }) => t.tool)).toEqual(["ffmpeg:cmd", "storage:put"]);
    expect((await vtk(org, `/jobs/${job.id}/tasks?tool=storage:put`)).json.results.map((t: { id: string }) => t.id)).toEqual([job.tasks[2].id]);
    expect((await vtk(org, `/jobs/${job.id}/tasks?status=9`)).status).toBe(400);

    const task = (await vtk(org, `/jobs/${job.id}/tasks/${job.tasks[1].id}`)).json;
    expect(task).toMatchObject({ id: job.tasks[1].id, tool: "ffmpeg:cmd", status: 0, status_text: "Submitted", parameters: seedBody().tasks[1]!.parameters });
    expect(task).toHaveProperty("version");
    const missing = await vtk(org, `/jobs/${job.id}/tasks/task_nope`);
    expect([missing.status, missing.json.code]).toEqual([404, "not_found"]);
  });

  it("answers a task's log as {count, results: [{timestamp (epoch ms), message}]} from the lines the encoder sent", async () => {
    const org = await vtkOrg();
    const job = await submit(org);
    const ffmpeg = job.tasks[1].id;
    const send = encoderFor(await orderOf(job.id));
    const lines = [
      { at: "2026-01-02T03:04:05.006Z", text: "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mov':" },
      { at: "2026-01-02T03:04:05.120Z", text: "frame=    1 fps=0.0 q=-0.0 Lsize=N/A time=00:00:00.04" },
    ];
    expect((await send({ type: "task_log", task_id: ffmpeg, lines })).status).toBe(200);
    const log = await vtk(org, `/jobs/${job.id}/tasks/${ffmpeg}/log`);
    expect(log.status).toBe(200);
    expect(log.json).toEqual({ count: 2, results: lines.map((l) => ({ timestamp: Date.parse(l.at), message: l.text })) });
    expect((await vtk(org, `/jobs/${job.id}/tasks/${job.tasks[0].id}/log`)).json).toEqual({ count: 0, results: [] });
    expect((await vtk(org, `/jobs/${job.id}/tasks/task_nope/log`)).status).toBe(404);
  });
});

describe("notify", { timeout: 30_000 }, () => {
  const received: { url: string; headers: Record<string, string>; body: string }[] = [];
  const realFetch = globalThis.fetch;
  beforeAll(() => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (!request.url.startsWith("https://callback.vtk-test.example/")) return realFetch(input, init);
      received.push({ url: request.url, headers: Object.fromEntries(request.headers), body: await request.text() });
      return new Response("ok");
    });
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it("POSTs {job_id, job_url, status} to an https:// notify when the job ends, signed per Standard Webhooks", async () => {
    const org = await vtkOrg();
    const url = `https://callback.vtk-test.example/${unique()}`;
    const job = await submit(org, plainBody({ notify: url }));
    expect(job.notify).toBe(url);
    expect((await vtk(org, `/jobs/${job.id}?action=abort`, { method: "POST" })).status).toBe(200);
    await vi.waitFor(() => expect(received.filter((r) => r.url === url)).toHaveLength(1), { timeout: 10_000, interval: 100 });
    const delivery = received.find((r) => r.url === url)!;
    expect(JSON.parse(delivery.body)).toEqual({ job_id: job.id, job_url: `${env.PUBLIC_URL}/o/${org.urn}/jobs/${job.id}`, status: 4 });
    const secret = (await call("/v1/webhooks/secret", { key: org.key })).json.secret;
    expect(() => new Webhook(secret).verify(delivery.body, delivery.headers)).not.toThrow();
  });
});

describe("job bundles", { timeout: 30_000 }, () => {
  it("creates bundles with unique, immutable names; lists them by limit, offset, sort, search and name", async () => {
    const org = await vtkOrg();
    const names = ["DL_project1", "DL_project2", "other"];
    for (const name of names) {
      const res = await vtk(org, "/jb", { body: { name } });
      expect(res.status, res.text).toBe(201);
      expect(res.json).toEqual({ name, created: expect.any(String) });
      await new Promise((r) => setTimeout(r, 3));
    }
    const duplicate = await vtk(org, "/jb", { body: { name: "DL_project1" } });
    expect([duplicate.status, duplicate.json.code]).toEqual([409, "bundle_exists"]);
    for (const body of [{}, { name: "a b" }, { name: "x", extra: 1 }]) expect((await vtk(org, "/jb", { body })).status).toBe(400);
    // Another organization may use the same name.
    expect((await vtk(await vtkOrg(), "/jb", { body: { name: "DL_project1" } })).status).toBe(201);

    const list = async (query: string) => (await vtk(org, `/jb${query}`)).json;
    expect((await list("")).results.map((b: { name: string }) => b.name)).toEqual([...names].reverse());
    expect((await list("?sort=created")).results.map((b: { name: string }) => b.name)).toEqual(names);
    expect(await list("?sort=created&limit=1&offset=1")).toMatchObject({ count: 3, results: [{ name: "DL_project2" }] });
    expect((await list("?search=project&sort=created")).results.map((b: { name: string }) => b.name)).toEqual(["DL_project1", "DL_project2"]);
    expect((await list("?name=other")).results.map((b: { name: string }) => b.name)).toEqual(["other"]);
    expect((await vtk(org, "/jb?limit=500")).status).toBe(400);
  });

  it("files submissions under the bundle, lists them with the job list's query, and sums its jobs from the index", async () => {
    const org = await seedOrgWithSecret();
    const name = `DL_${unique()}`;
    expect((await vtk(org, "/jb", { body: { name } })).status).toBe(201);
    const first = await submit(org, seedBody({ tags: ["one"] }), `/jb/${name}/jobs`);
    const second = await submit(org, seedBody({ tags: ["two"] }), `/jb/${name}/jobs`);
    const third = await submit(org, seedBody(), `/jb/${name}/jobs`);
    const outside = await submit(org, seedBody());
    expect(first.job_bundle).toBe(name);
    expect(outside.job_bundle).toBeNull();

    await complete(first.id, 1_000_000);
    await complete(second.id, 2_500_000);
    expect((await vtk(org, `/jobs/${third.id}?action=abort`, { method: "POST" })).status).toBe(200);
    await complete(outside.id, 7_000_000);

    const listed = (await vtk(org, `/jb/${name}/jobs?sort=created`)).json;
    expect(listed.count).toBe(3);
    expect(listed.results.map((j: { id: string }) => j.id)).toEqual([first.id, second.id, third.id]);
    expect((await vtk(org, `/jb/${name}/jobs?status=2&tag=two`)).json.results.map((j: { id: string }) => j.id)).toEqual([second.id]);
    expect((await vtk(org, `/jobs?job_bundle=${name}&status=4`)).json.results.map((j: { id: string }) => j.id)).toEqual([third.id]);

    const views = await Promise.all([first, second, third].map(async (j) => (await call(`/v1/jobs/${j.id}`, { key: org.key })).json));
    const bundle = await vtk(org, `/jb/${name}`);
    expect(bundle.status, bundle.text).toBe(200);
    expect(bundle.json).toEqual({
      name,
      created: expect.any(String),
      jobs: 3,
      jobs_completed: 2,
      jobs_running: 0,
      jobs_failed: 0,
      jobs_aborted: 1,
      bytes_in: 0,
      bytes_out: 3_500_000,
      execution_time_ms: views.reduce((sum, v) => sum + (v.execution.total_duration_ms ?? 0), 0),
      cus: expect.closeTo(views.reduce((sum, v) => sum + v.usage.compute_units, 0), 4),
    });

    // A bundle with a job still running counts it.
    const fourth = await submit(org, seedBody(), `/jb/${name}/jobs`);
    await encoderFor(await orderOf(fourth.id))({ type: "task_started", stage: "import", task_id: fourth.tasks[0].id });
    await vi.waitFor(async () => expect((await vtk(org, `/jb/${name}`)).json).toMatchObject({ jobs: 4, jobs_running: 1 }), { timeout: 5000, interval: 50 });

    for (const res of [await vtk(org, "/jb/nope"), await vtk(org, "/jb/nope/jobs"), await vtk(org, "/jb/nope/jobs", { body: plainBody() })]) {
      expect([res.status, res.json.code]).toEqual([404, "bundle_not_found"]);
    }
  });
});
