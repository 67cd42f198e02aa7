import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it, vi } from "vitest";
import { type ToolsOrder, signResponseSchema } from "../../encoder/contract";
import { newId } from "../../worker/ids";
import { TaskLogs } from "../../worker/jobs/task-log";
import { call, encoderFor, jobDO, orderNumber, ordersFor, seedOrg } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/*
 * VTK's tool pipelines (`tasks[]`) end to end on the Worker's side: locations resolved
 * at creation like `input` and `output`, the tools engine's order projected from the
 * plan, the encoder's events (played here through the internal routes) completing the
 * job, and each task's log. Buckets are the real S3 server the worker tests start.
 */
const S3 = env.TEST_ONLY_ALLOWED_S3_ENDPOINT!;
const s3 = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });
const unique = () => crypto.randomUUID().slice(0, 8);

async function newBucket(): Promise<string> {
  const name = `kiln-tools-${unique()}`;
  expect((await s3.fetch(`${S3}/${name}`, { method: "PUT" })).status).toBe(200);
  return name;
}

async function putObject(bucket: string, key: string, body: string): Promise<void> {
  expect((await s3.fetch(`${S3}/${bucket}/${key}`, { method: "PUT", body })).status).toBe(200);
}

async function createSecret(key: string, name: string) {
  const res = await call("/v1/secrets", { key, body: { name, credentials: S3_TEST_CREDENTIALS, endpoint: S3 } });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string; name: string };
}

async function createOrigin(key: string, bucket: string, fields: { path?: string; permissions: string[] }) {
  const res = await call("/v1/origins", { key, body: { name: "tools", provider: "s3", bucket, endpoint: S3, credentials: S3_TEST_CREDENTIALS, ...fields } });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string };
}

/** The seed's example body (docs: Jobs → Submit a job), in a bucket of this test. */
const vtkBody = (bucket: string, secret = "acme-aws-access-keys") => ({
  tags: ["my-project"],
  region: "aws:eu-west-1",
  tasks: [
    { tool: "storage:get", parameters: { location: `s3://{${secret}}@${bucket}/in/`, files: ["source.mov"] } },
    {
      tool: "ffmpeg:cmd",
      parameters: { arguments: ["-y", "-i", "source.mov", "-c:v", "libx264", "-b:v", "1500k", "-c:a", "aac", "-b:a", "128k", "source_720p.mp4"] },
    },
    { tool: "storage:put", parameters: { location: `s3://{${secret}}@${bucket}/out/{job_id}/`, files: ["source_720p.mp4"] } },
  ],
});

async function createJob(key: string, body: Record<string, unknown>) {
  const res = await call("/v1/jobs", { key, body });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

const orderOf = (jobId: string, n = 1) => orderNumber<ToolsOrder>(jobId, n);
const view = async (key: string, jobId: string) => (await call(`/v1/jobs/${jobId}`, { key })).json;

/** A VTK job whose input object is in place, and its first order. */
async function vtkJob(media = "QuickTime bytes") {
  const { key, orgId } = await seedOrg();
  const bucket = await newBucket();
  const secret = await createSecret(key, "acme-aws-access-keys");
  await putObject(bucket, "in/source.mov", media);
  const job = await createJob(key, vtkBody(bucket));
  return { key, orgId, bucket, secret, job, order: await orderOf(job.id) };
}

const sha = "c".repeat(64);
const facts = (outputId: string, bytes: number) => ({
  output_id: outputId,
  main: "source_720p.mp4",
  files: [{ path: "source_720p.mp4", content_type: "video/mp4", size_bytes: bytes, sha256: sha }],
  size_bytes: bytes,
  duration_ms: 2000,
  width: 320,
  height: 180,
  codec: "h264",
  sha256: sha,
});

function signExport(order: ToolsOrder, files: { output_id: string; path: string; size_bytes: number }[], multipart = false) {
  return call(`/internal/jobs/${order.job_id}/sign`, {
    headers: { authorization: `Bearer ${order.lease_token}` },
    body: { job_id: order.job_id, attempt: order.attempt, multipart, files: files.map((f) => ({ ...f, content_type: "video/mp4" })) },
  });
}

const logOf = (key: string, jobId: string, taskId: string) => call(`/v1/jobs/${jobId}/tasks/${taskId}/log`, { key });

describe("creating a tool pipeline", { timeout: 20_000 }, () => {
  it("resolves its locations like input and output, and plans one output per put file", async () => {
    const { key } = await seedOrg();
    const bucket = await newBucket();
    await createSecret(key, "acme-aws-access-keys");
    const job = await createJob(key, vtkBody(bucket));
    expect(job).toMatchObject({ status: "pending", tags: ["my-project"], region: "aws:eu-west-1", input: null, kind: null });
    const [get, ffmpeg, put] = job.tasks;
    expect(job.tasks.map((t: { engine: string }) => t.engine)).toEqual(["tools", "tools", "tools"]);
    expect(get).toMatchObject({ tool: "storage:get", inputs: [], outputs: ["source.mov"], depends_on: [] });
    expect(ffmpeg).toMatchObject({ tool: "ffmpeg:cmd", inputs: ["source.mov"], outputs: ["source_720p.mp4"], depends_on: [get.id] });
    expect(put).toMatchObject({ tool: "storage:put", inputs: ["source_720p.mp4"], outputs: [job.outputs[0].id], depends_on: [ffmpeg.id] });
    expect(job.outputs).toEqual([expect.objectContaining({ type: "mp4", status: "pending", spec: { file: "source_720p.mp4", location: vtkBody(bucket).tasks[2]!.parameters.location, overwrite: false } })]);
  });

  const refusals: [string, (bucket: string, secret: string) => Record<string, unknown>[], number, string][] = [
    ["a get naming a secret the org does not have", (b) => [{ tool: "storage:get", parameters: { location: `s3://{nobody-keys}@${b}/in/`, files: ["a.mov"] } }], 422, "secret_not_found"],
    ["a put to a bucket no origin holds", (b) => [{ tool: "storage:put", parameters: { location: `s3://${b}/out/`, files: ["a.mp4"] } }], 422, "origin_not_found"],
    ["a put to an http(s) location", () => [{ tool: "storage:put", parameters: { location: "https://media.example.com/out/", files: ["a.mp4"] } }], 400, "validation_error"],
    ["a location with a variable other than {job_id}", (b, s) => [{ tool: "storage:put", parameters: { location: `s3://{${s}}@${b}/out/{date}/`, files: ["a.mp4"] } }], 400, "validation_error"],
  ];
  it.each(refusals)("refuses %s", async (_label, tasks, status, code) => {
    const { key } = await seedOrg();
    const bucket = await newBucket();
    const secret = await createSecret(key, `keys-${unique()}`);
    const get = { tool: "storage:get", parameters: { location: "https://media.example.com/in/", files: ["a.mov"] } };
    const res = await call("/v1/jobs", { key, body: { tasks: [get, ...tasks(bucket, secret.name)] } });
    expect(res.status, res.text).toBe(status);
    expect(res.json.error.code).toBe(code);
  });

  it("needs origin read for a get and write for a put, and secrets:get on a secret it names", async () => {
    const owner = await seedOrg();
    const bucket = await newBucket();
    await createOrigin(owner.key, bucket, { path: "drop", permissions: ["write"] });
    const get = (location: string) => ({ tool: "storage:get", parameters: { location, files: ["a.mov"] } });
    const refused = await call("/v1/jobs", { key: owner.key, body: { tasks: [get(`s3://${bucket}/drop/`)] } });
    expect(refused.status, refused.text).toBe(422);
    expect(refused.json.error.code).toBe("origin_permission_denied");

    const secret = await createSecret(owner.key, `keys-${unique()}`);
    const jobsOnly = await seedOrg([{ effect: "allow", actions: ["jobs:*"], resources: ["*"] }], [owner.orgId]);
    const forbidden = await call("/v1/jobs", { key: jobsOnly.key, headers: { "x-organization-id": owner.orgId }, body: { tasks: [get(`s3://{${secret.name}}@${bucket}/in/`)] } });
    expect(forbidden.status, forbidden.text).toBe(403);
    expect(forbidden.json.error.code).toBe("forbidden");
  });

  it("refuses what only kind and outputs jobs take", async () => {
    const { key } = await seedOrg();
    const tasks = [{ tool: "storage:get", parameters: { location: "https://media.example.com/in/", files: ["a.mov"] } }];
    for (const extra of [{ thumbnails: [{ count: 1 }] }, { output: "s3://bucket/out/" }, { delayed_start: true }]) {
      const res = await call("/v1/jobs", { key, body: { tasks, ...extra } });
      expect(res.status, res.text).toBe(400);
      expect(res.json.error.details.issues[0].path).toBe(Object.keys(extra)[0]);
    }
  });
});

describe("running a tool pipeline", { timeout: 20_000 }, () => {
  it("sends the tools engine the planned steps, with presigned GET URLs for the get's files", async () => {
    const { job, order, bucket } = await vtkJob("the source's bytes");
    const [get, ffmpeg, put] = job.tasks;
    expect(order).toMatchObject({ engine: "tools", job_id: job.id, attempt: 1, export: { sign_url: expect.stringMatching(/\/sign$/) } });
    expect(order.steps.map((s) => [s.tool, s.task_id])).toEqual([
      ["storage:get", get.id],
      ["ffmpeg:cmd", ffmpeg.id],
      ["storage:put", put.id],
    ]);
    const [fetchStep, runStep, putStep] = order.steps;
    if (fetchStep?.tool !== "storage:get" || runStep?.tool !== "ffmpeg:cmd" || putStep?.tool !== "storage:put") throw new Error("unexpected steps");
    expect(fetchStep.files.map((f) => f.name)).toEqual(["source.mov"]);
    const url = new URL(fetchStep.files[0]!.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${S3}/${bucket}/in/source.mov`);
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(url.searchParams.get("X-Amz-Expires")).toBe(String(6 * 3600));
    expect(await (await fetch(url)).text()).toBe("the source's bytes");
    expect(runStep.arguments).toEqual(vtkBody(bucket).tasks[1]!.parameters.arguments);
    expect(putStep.files).toEqual([{ name: "source_720p.mp4", output_id: job.outputs[0].id }]);
  });

  it("completes from the encoder's events: each step's task, the stored file as an output with facts and its bucket location", async () => {
    const { key, job, order, bucket } = await vtkJob();
    const [get, ffmpeg, put] = job.tasks;
    const outputId = job.outputs[0].id;
    const send = encoderFor(order);
    const ok = { status: 200, directive: "continue" };

    expect(await send({ type: "task_started", stage: "import", task_id: get.id })).toEqual(ok);
    expect((await view(key, job.id)).status).toBe("processing");
    expect(await send({ type: "task_completed", stage: "import", task_id: get.id, output: null })).toEqual(ok);
    expect(await send({ type: "task_started", stage: "encode", task_id: ffmpeg.id })).toEqual(ok);
    expect(await send({ type: "progress", stage: "encode", task_id: ffmpeg.id, task_progress: 40, job_progress: 30 })).toEqual(ok);
    const running = await view(key, job.id);
    expect(running).toMatchObject({ status: "processing", progress: 30, current_stage: "encode" });
    expect(running.tasks.map((t: { status: string; progress: number }) => [t.status, t.progress])).toEqual([["completed", 100], ["running", 40], ["waiting", 0]]);
    expect(await send({ type: "task_completed", stage: "encode", task_id: ffmpeg.id, output: null })).toEqual(ok);
    expect(await send({ type: "task_started", stage: "export", task_id: put.id })).toEqual(ok);
    expect((await view(key, job.id)).outputs[0].status).toBe("processing");

    // The put uploads through the export signing route, naming the plain file.
    const body = "encoded mp4 bytes";
    const signed = await signExport(order, [{ output_id: outputId, path: "source_720p.mp4", size_bytes: body.length }]);
    expect(signed.status, signed.text).toBe(200);
    const upload = signResponseSchema.parse(signed.json).uploads[0]!;
    if (upload.kind !== "put") throw new Error("expected a single PUT");
    expect(upload.url.startsWith(`${S3}/${bucket}/out/${job.id}/source_720p.mp4?`)).toBe(true);
    expect((await fetch(upload.url, { method: "PUT", body })).status).toBe(200);

    expect(await send({ type: "output_completed", task_id: put.id, output: facts(outputId, body.length) })).toEqual(ok);
    const stored = await view(key, job.id);
    expect(stored.outputs[0]).toMatchObject({ status: "completed", location: `s3://${bucket}/out/${job.id}/source_720p.mp4` });
    expect(stored.tasks[2].status).toBe("running");
    expect(await send({ type: "task_completed", stage: "export", task_id: put.id, output: null })).toEqual(ok);
    expect(await send({ type: "job_completed" })).toEqual({ status: 200, directive: "cancel" });

    const done = await view(key, job.id);
    expect(done).toMatchObject({ status: "completed", progress: 100, error: null, total_estimated_cost: null, total_actual_cost: null });
    expect(done.tasks.map((t: { status: string }) => t.status)).toEqual(["completed", "completed", "completed"]);
    expect(done.outputs[0]).toMatchObject({
      id: outputId,
      status: "completed",
      file_size_bytes: body.length,
      facts: { duration_ms: 2000, width: 320, height: 180, codec: "h264", sha256: sha, files: 1 },
      location: `s3://${bucket}/out/${job.id}/source_720p.mp4`,
    });
    // A secret's bucket can be read back: the view presigns a GET of the stored object.
    expect(await (await fetch(done.outputs[0].output_url)).text()).toBe(body);
    expect(done.usage.tasks.map((t: { gb_out: number }) => t.gb_out)).toEqual([0, 0, expect.any(Number)]);
    expect(done.usage.tasks[2].video_minutes_out).toBeCloseTo(2 / 60, 4);
  });

  it("plans a big put file in parts at the same key", async () => {
    const { job, order, bucket } = await vtkJob();
    const size = 200 * 1024 * 1024;
    const signed = await signExport(order, [{ output_id: job.outputs[0].id, path: "source_720p.mp4", size_bytes: size }], true);
    expect(signed.status, signed.text).toBe(200);
    const plan = signResponseSchema.parse(signed.json).uploads[0]!;
    if (plan.kind !== "multipart") throw new Error("expected a multipart plan");
    expect(plan.parts.reduce((sum, p) => sum + p.size_bytes, 0)).toBe(size);
    for (const part of plan.parts) expect(new URL(part.url).pathname).toBe(`/${bucket}/out/${job.id}/source_720p.mp4`);
  });

  it("refuses to sign a file that is not the output's", async () => {
    const { job, order } = await vtkJob();
    const signed = await signExport(order, [{ output_id: job.outputs[0].id, path: "other.mp4", size_bytes: 1 }]);
    expect(signed.status).toBe(400);
    expect(signed.json.error.message).toMatch(/source_720p\.mp4/);
  });

  it("fails the job with the code of a failed step, and the steps after it never run", async () => {
    const { key, job, order } = await vtkJob();
    const [get, ffmpeg] = job.tasks;
    const send = encoderFor(order);
    await send({ type: "task_started", stage: "import", task_id: get.id });
    await send({ type: "task_completed", stage: "import", task_id: get.id, output: null });
    await send({ type: "task_started", stage: "encode", task_id: ffmpeg.id });
    const error = { code: "tool_refused", message: "-filter_complex movie= is not allowed" };
    expect(await send({ type: "task_failed", stage: "encode", task_id: ffmpeg.id, error })).toEqual({ status: 200, directive: "cancel" });
    const failed = await view(key, job.id);
    expect(failed).toMatchObject({ status: "failed", error });
    expect(failed.tasks.map((t: { status: string }) => t.status)).toEqual(["completed", "failed", "canceled"]);
    expect(failed.tasks[1].error).toEqual(error);
    expect(failed.outputs[0].status).toBe("canceled");
  });

  it("fails a put's unfinished outputs with its code", async () => {
    const { key, job, order } = await vtkJob();
    const put = job.tasks[2];
    const send = encoderFor(order);
    await send({ type: "task_started", stage: "export", task_id: put.id });
    const error = { code: "file_missing", message: "source_720p.mp4 is not in the working directory" };
    await send({ type: "task_failed", stage: "export", task_id: put.id, error });
    const failed = await view(key, job.id);
    expect(failed).toMatchObject({ status: "failed", error });
    expect(failed.outputs[0]).toMatchObject({ status: "failed", error });
  });

  it("fails the job at dispatch with secret_not_found when a location's secret was deleted since creation", async () => {
    const { key, job, secret } = await vtkJob();
    expect((await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" })).status).toBe(200);
    expect((await call(`/v1/secrets/${secret.id}`, { key, method: "DELETE" })).status).toBe(200);
    expect((await call(`/v1/jobs/${job.id}/restart`, { key, method: "POST" })).status).toBe(200);
    let failed: any;
    await vi.waitFor(async () => {
      failed = await view(key, job.id);
      expect(failed.status).toBe("failed");
    }, { timeout: 8000, interval: 50 });
    expect(failed.error.code).toBe("secret_not_found");
    expect(await ordersFor(job.id)).toHaveLength(1);
  });

  it("reads and writes through origins, under their paths", async () => {
    const { key } = await seedOrg();
    const bucket = await newBucket();
    await createOrigin(key, bucket, { path: "media", permissions: ["read", "write"] });
    await putObject(bucket, "media/in/a.mov", "origin bytes");
    const job = await createJob(key, {
      tasks: [
        { tool: "storage:get", parameters: { location: `s3://${bucket}/media/in`, files: ["a.mov"] } },
        { tool: "storage:put", parameters: { location: `s3://${bucket}/media/out/{job_id}/`, files: ["a.mov"] } },
      ],
    });
    const order = await orderOf(job.id);
    const [get, put] = order.steps;
    if (get?.tool !== "storage:get" || put?.tool !== "storage:put") throw new Error("unexpected steps");
    expect(await (await fetch(get.files[0]!.url)).text()).toBe("origin bytes");
    expect(put.files).toEqual([{ name: "a.mov", output_id: job.outputs[0].id }]);
    const upload = signResponseSchema.parse((await signExport(order, [{ output_id: job.outputs[0].id, path: "a.mov", size_bytes: 12 }])).json).uploads[0]!;
    expect(upload.kind === "put" && new URL(upload.url).pathname).toBe(`/${bucket}/media/out/${job.id}/a.mov`);
  });

  it("fetches the job's input as the pipeline's first step", async () => {
    const { key } = await seedOrg();
    const job = await createJob(key, {
      input: "https://media.example.com/videos/in.mp4",
      tasks: [{ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "in.mp4", "-frames:v", "1", "still.png"] } }],
    });
    expect(job.tasks.map((t: { kind: string }) => t.kind)).toEqual(["import", "ffmpeg:cmd"]);
    const order = await orderOf(job.id);
    expect(order.steps).toEqual([
      { tool: "storage:get", task_id: job.tasks[0].id, files: [{ name: "in.mp4", url: "https://media.example.com/videos/in.mp4" }] },
      { tool: "ffmpeg:cmd", task_id: job.tasks[1].id, arguments: ["-i", "in.mp4", "-frames:v", "1", "still.png"], outputdir: "out", ignore_decoding_errors: false },
    ]);
  });
});

describe("task logs", { timeout: 20_000 }, () => {
  const lines = (from: number, count: number, width = 0) =>
    Array.from({ length: count }, (_, i) => ({ at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, from + i)).toISOString(), text: `${from + i} `.padEnd(width, "x") }));

  it("keeps each task's last 1,000 lines and 256 KiB, counting what it dropped, readable through the API", async () => {
    const { key, job, order } = await vtkJob();
    const [get, ffmpeg, put] = job.tasks;
    const send = encoderFor(order);
    await send({ type: "task_started", stage: "encode", task_id: ffmpeg.id });
    for (const from of [0, 500, 1000]) expect(await send({ type: "task_log", task_id: ffmpeg.id, lines: lines(from, 500) })).toEqual({ status: 200, directive: "continue" });
    const log = await logOf(key, job.id, ffmpeg.id);
    expect(log.status, log.text).toBe(200);
    expect(log.json).toMatchObject({ task_id: ffmpeg.id, status: "running", dropped: 500 });
    expect(log.json.lines).toHaveLength(1000);
    expect(log.json.lines[0]).toEqual(lines(500, 1)[0]);
    expect(log.json.lines.at(-1)).toEqual(lines(1499, 1)[0]);

    // 200 lines of 2,048 bytes: the newest 128 fit in 256 KiB.
    for (const from of [0, 100]) await send({ type: "task_log", task_id: get.id, lines: lines(from, 100, 2048) });
    const wide = (await logOf(key, job.id, get.id)).json;
    expect(wide).toMatchObject({ status: "waiting", dropped: 72 });
    expect(wide.lines.map((l: { text: string }) => Number.parseInt(l.text, 10))).toEqual(Array.from({ length: 128 }, (_, i) => 72 + i));

    expect((await logOf(key, job.id, put.id)).json).toEqual({ task_id: put.id, status: "waiting", lines: [], dropped: 0 });
    // The log is not part of the job document.
    expect(JSON.stringify(await view(key, job.id))).not.toContain(lines(1499, 1)[0]!.text);
  });

  it("is declared in the OpenAPI document", async () => {
    const doc = (await call("/v1/openapi.json")).json;
    expect(doc.paths["/jobs/{id}/tasks/{task_id}/log"].get.responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/TaskLog" });
    expect(Object.keys(doc.components.schemas.Task.properties)).toEqual(expect.arrayContaining(["engine", "inputs", "outputs", "depends_on"]));
  });

  it("answers 404 for another organization's job, an unknown task, and a malformed job id", async () => {
    const { key, job } = await vtkJob();
    const other = await seedOrg();
    const task = job.tasks[1].id;
    for (const res of [await logOf(other.key, job.id, task), await logOf(key, job.id, "task_unknown000000000000"), await logOf(key, "job_nope", task)]) {
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
    const readOnly = await seedOrg([{ effect: "allow", actions: ["jobs:list"], resources: ["*"] }]);
    expect((await logOf(readOnly.key, job.id, task)).status).toBe(403);
  });

  it("starts afresh when the job is restarted", async () => {
    const { key, job, order } = await vtkJob();
    const ffmpeg = job.tasks[1];
    await encoderFor(order)({ type: "task_log", task_id: ffmpeg.id, lines: lines(0, 3) });
    expect((await logOf(key, job.id, ffmpeg.id)).json.lines).toHaveLength(3);
    await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    expect((await call(`/v1/jobs/${job.id}/restart`, { key, method: "POST" })).status).toBe(200);
    expect((await logOf(key, job.id, ffmpeg.id)).json).toEqual({ task_id: ffmpeg.id, status: "waiting", lines: [], dropped: 0 });
  });

  it("drops the oldest lines first past either limit, counting bytes as UTF-8", async () => {
    await runInDurableObject(jobDO(newId("job")), (_instance, state) => {
      const logs = new TaskLogs(state.storage.sql, { lines: 3, bytes: 12 });
      const line = (text: string) => ({ at: "2026-01-01T00:00:00.000Z", text });
      const texts = (taskId: string) => logs.read(taskId).lines.map((l) => l.text);
      logs.append("task_a", [line("aaaa"), line("bbbb")]);
      expect(logs.read("task_a")).toEqual({ lines: [line("aaaa"), line("bbbb")], dropped: 0 });
      logs.append("task_a", [line("cccc"), line("dddd")]);
      expect([texts("task_a"), logs.read("task_a").dropped]).toEqual([["bbbb", "cccc", "dddd"], 1]);
      logs.append("task_a", [line("éé")]);
      expect([texts("task_a"), logs.read("task_a").dropped]).toEqual([["cccc", "dddd", "éé"], 2]);
      logs.append("task_a", [line("éé")]);
      // 4 + 4 + 4 bytes: "cccc" goes for the byte limit as well as the line limit.
      expect([texts("task_a"), logs.read("task_a").dropped]).toEqual([["dddd", "éé", "éé"], 3]);
      logs.append("task_a", [line("x".repeat(12))]);
      expect([texts("task_a"), logs.read("task_a").dropped]).toEqual([["x".repeat(12)], 6]);
      expect(logs.read("task_b")).toEqual({ lines: [], dropped: 0 });
      logs.clear();
      expect(logs.read("task_a")).toEqual({ lines: [], dropped: 0 });
    });
  });
});
