import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { type ToolsOrder, signResponseSchema } from "../../encoder/contract";
import { call, encoderFor, orderNumber, seedOrg } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/*
 * The VTK tool set on the Worker's side: each tool's parameter schema and versions at
 * creation (every refusal a 400 with its own code), the plan (resolved versions, |p
 * groups in depends_on, wildcard puts), the order, and the JobDO taking what the encoder
 * finds at run time (a put's matched files, skipped tasks) and refusing to overwrite.
 */
const S3 = env.TEST_ONLY_ALLOWED_S3_ENDPOINT!;
const s3 = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });
const SECRET = "vtk-keys";

async function setup() {
  const { key } = await seedOrg();
  const bucket = `kiln-vtk-${crypto.randomUUID().slice(0, 8)}`;
  expect((await s3.fetch(`${S3}/${bucket}`, { method: "PUT" })).status).toBe(200);
  const secret = await call("/v1/secrets", { key, body: { name: SECRET, credentials: S3_TEST_CREDENTIALS, endpoint: S3 } });
  expect(secret.status, secret.text).toBe(201);
  return { key, bucket, at: (path: string) => `s3://{${SECRET}}@${bucket}/${path}` };
}

const get = (location: string, files = ["in.mov"], extra: Record<string, unknown> = {}) => ({ tool: "storage:get", parameters: { location, files, ...extra } });
const ffmpeg = (args: string[], tool = "ffmpeg:cmd") => ({ tool, parameters: { arguments: args } });
const view = async (key: string, id: string) => (await call(`/v1/jobs/${id}`, { key })).json;

describe("tool parameters and versions at creation", { timeout: 20_000 }, () => {
  const http = "https://media.example.com/in/";
  const refusals: [string, Record<string, unknown>[], string, string][] = [
    ["an unknown tool", [get(http), { tool: "video:transcode", parameters: {} }], "unknown_tool", "tasks.1.tool"],
    ["an unknown version", [{ ...get(http), version: "9.9" }], "unknown_tool_version", "tasks.0.version"],
    ["an unknown version of a |p task", [get(http), { ...ffmpeg(["-i", "in.mov", "o.mp4"], "ffmpeg:cmd|p"), version: "0.1" }], "unknown_tool_version", "tasks.1.version"],
    ["a wildcard in a get", [get(http, ["*.mov"])], "wildcard_not_allowed", "tasks.0.parameters.files.0"],
    ["a wildcard in a check", [get(http), { tool: "storage:check", parameters: { location: http, files: ["in?.mov"] } }], "wildcard_not_allowed", "tasks.1.parameters.files.0"],
    ["an absolute path in a get's files", [get(http, ["/etc/passwd"])], "absolute_path", "tasks.0.parameters.files.0"],
    ["an absolute path in a put's files", [get(http), { tool: "storage:put", parameters: { location: "s3://my-bucket/out/", files: ["/tmp/x.mp4"] } }], "absolute_path", "tasks.1.parameters.files.0"],
    ["an absolute base_dir", [get(http, ["in.mov"], { base_dir: "/var/lib" })], "absolute_path", "tasks.0.parameters.base_dir"],
    ["a path leaving the working directory", [get(http, ["../in.mov"])], "path_outside_workdir", "tasks.0.parameters.files.0"],
    ["an absolute tar archive", [get(http), { tool: "utils:tar", parameters: { mode: "unpack", archive: "/tmp/a.tar" } }], "absolute_path", "tasks.1.parameters.archive"],
    ["an absolute loudnorm input", [get(http), { tool: "ffmpeg:loudnorm_analyze", parameters: { input_file: "/in.wav" } }], "absolute_path", "tasks.1.parameters.input_file"],
    ["inline S3 credentials", [get("s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@bucket/in/")], "inline_credentials", "tasks.0.parameters.location"],
    ["inline http credentials", [get("https://user:pass@media.example.com/in/")], "inline_credentials", "tasks.0.parameters.location"],
    ["an unknown parameter", [get(http, ["in.mov"], { s3_endpoint_url: "https://x" })], "validation_error", "tasks.0.parameters"],
    ["a check mode VTK does not have", [get(http), { tool: "storage:check", parameters: { location: http, files: ["a.mov"], mode: "FAIL_SOMETIMES" } }], "validation_error", "tasks.1.parameters.mode"],
    ["a rename pattern that is no regex", [get(http), { tool: "utils:rename", parameters: { pattern: "(?<a>[", template: "{a}.mp4" } }], "invalid_pattern", "tasks.1.parameters.pattern"],
    ["a rename template naming no group", [get(http), { tool: "utils:rename", parameters: { pattern: "(?<a>.+)\\.mov", template: "{b}.mp4" } }], "invalid_pattern", "tasks.1.parameters.template"],
    ["a tar unpack with files", [get(http), { tool: "utils:tar", parameters: { mode: "unpack", archive: "a.tar", files: ["x"] } }], "validation_error", "tasks.1.parameters.files"],
    ["a loudness target out of range", [get(http), { tool: "ffmpeg:loudnorm_analyze", parameters: { input_file: "in.wav", integrated_loudness_target: "-90" } }], "validation_error", "tasks.1.parameters.integrated_loudness_target"],
    ["a variable name that is not one", [get(http), { tool: "utils:env", parameters: { "1BAD": "x" } }], "validation_error", "tasks.1.parameters.1BAD"],
    ["an ffmpeg option the allowlist refuses, after substitution", [get(http), ffmpeg(["-i", "in.mov", "-filter_complex_script", "${F}", "o.mp4"])], "tool_refused", "tasks.1.parameters.arguments"],
  ];
  it.each(refusals)("refuses %s with 400 and its code", async (_label, tasks, code, path) => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body: { tasks } });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
  });

  it("names the known versions when refusing one", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body: { tasks: [{ ...get(http), version: "2.0" }] } });
    expect(res.json.error.message).toMatch(/storage:get has no version 2\.0; known versions: 1\.0 \(default 1\.0\)/);
  });

  it("points inline credentials to named secrets", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body: { tasks: [get("s3://AKIA:SECRET@bucket/in/")] } });
    expect(res.json.error.message).toMatch(/named secret.*\/v1\/secrets.*s3:\/\/\{secret-name\}@bucket/);
  });
});

describe("planning the tool set", { timeout: 20_000 }, () => {
  it("records each task's resolved version, fills defaults, and links |p groups in depends_on", async () => {
    const { key, at } = await setup();
    const res = await call("/v1/jobs", {
      key,
      body: {
        tasks: [
          { tool: "storage:check", parameters: { location: at("out/"), files: ["done.mp4"], mode: "COMPLETE_ON_PRESENCE" } },
          { ...get(at("in/")), version: "1.0" },
          { tool: "utils:env", parameters: { SIZE: "640x360", CRF: 23 } },
          ffmpeg(["-i", "in.mov", "-s", "${SIZE}", "a.mp4"], "ffmpeg:cmd|p"),
          ffmpeg(["-i", "in.mov", "-crf", "${CRF}", "b.mp4"], "ffmpeg:cmd|p"),
          { tool: "ffmpeg:loudnorm_analyze|p", parameters: { input_file: "in.mov", env_prefix: "a_", integrated_loudness_target: "-23.0", output: { ffmpeg_args: ["-c:a", "aac", "norm.m4a"] } } },
          { tool: "storage:put", parameters: { location: at("out/{job_id}/"), files: ["a.mp4", "*.m4a", "b.mp?"] } },
        ],
      },
    });
    expect(res.status, res.text).toBe(201);
    const job = res.json;
    const [check, getTask, envTask, a, b, loud, put] = job.tasks;
    expect(job.tasks.map((t: { tool: string; version: string }) => [t.tool, t.version])).toEqual([
      ["storage:check", "1.0"],
      ["storage:get", "1.0"],
      ["utils:env", "1.0"],
      ["ffmpeg:cmd|p", "1.0"],
      ["ffmpeg:cmd|p", "1.0"],
      ["ffmpeg:loudnorm_analyze|p", "1.0"],
      ["storage:put", "1.0"],
    ]);
    expect(job.tasks.map((t: { depends_on: string[] }) => t.depends_on)).toEqual([[], [check.id], [getTask.id], [envTask.id], [envTask.id], [envTask.id], [a.id, b.id, loud.id]]);
    expect(a).toMatchObject({ kind: "ffmpeg:cmd", options: { outputdir: "out", ignore_decoding_errors: false } });
    expect(loud).toMatchObject({ inputs: ["in.mov"], outputs: ["norm.m4a"], options: { integrated_loudness_target: -23, maximum_true_peak: -2, loudness_range_target: 7, audio_selector: "0:a:0" } });
    expect(envTask.options).toEqual({ SIZE: "640x360", CRF: "23" });
    expect(check.options.mode).toBe("COMPLETE_ON_PRESENCE");
    // Only the named file is an output now; the patterns' files become outputs when the put runs.
    expect(put).toMatchObject({ inputs: ["a.mp4"], outputs: [job.outputs[0].id] });
    expect(job.outputs).toHaveLength(1);
    expect(job.outputs[0].spec).toEqual({ file: "a.mp4", location: at("out/{job_id}/"), overwrite: false });

    const order = await orderNumber<ToolsOrder>(job.id, 1);
    expect(order.steps.map((s) => [s.tool, s.parallel ?? false])).toEqual([
      ["storage:check", false],
      ["storage:get", false],
      ["utils:env", false],
      ["ffmpeg:cmd", true],
      ["ffmpeg:cmd", true],
      ["ffmpeg:loudnorm_analyze", true],
      ["storage:put", false],
    ]);
    const [checkStep, , envStep, , , loudStep, putStep] = order.steps;
    expect(checkStep).toMatchObject({ mode: "COMPLETE_ON_PRESENCE", files: [{ name: "done.mp4", url: expect.stringContaining("/out/done.mp4?") }] });
    expect(envStep).toMatchObject({ variables: { SIZE: "640x360", CRF: "23" } });
    expect(loudStep).toMatchObject({ input_file: "in.mov", env_prefix: "a_", integrated_loudness_target: -23, output_args: ["-c:a", "aac", "norm.m4a"] });
    expect(putStep).toMatchObject({ files: [{ name: "a.mp4", output_id: job.outputs[0].id }], patterns: ["*.m4a", "b.mp?"] });
  });
});

describe("what the encoder finds at run time", { timeout: 20_000 }, () => {
  async function wildJob(overwrite?: boolean) {
    const setupInfo = await setup();
    const { key, at } = setupInfo;
    const res = await call("/v1/jobs", {
      key,
      body: { tasks: [get(at("in/")), { tool: "storage:put", parameters: { location: at("out/{job_id}/"), files: ["*.mp4"], ...(overwrite === undefined ? {} : { overwrite }) } }] },
    });
    expect(res.status, res.text).toBe(201);
    const job = res.json;
    const order = await orderNumber<ToolsOrder>(job.id, 1);
    return { ...setupInfo, job, order, send: encoderFor(order) };
  }

  const sign = (order: ToolsOrder, files: { output_id: string; path: string; size_bytes: number }[]) =>
    call(`/internal/jobs/${order.job_id}/sign`, {
      headers: { authorization: `Bearer ${order.lease_token}` },
      body: { job_id: order.job_id, attempt: order.attempt, files: files.map((f) => ({ ...f, content_type: "video/mp4" })) },
    });
  const facts = (outputId: string, main: string, bytes: number) => ({
    output_id: outputId,
    main,
    files: [{ path: main, content_type: "video/mp4", size_bytes: bytes, sha256: "d".repeat(64) }],
    size_bytes: bytes,
    duration_ms: 1000,
    width: 160,
    height: 90,
    codec: "h264",
    sha256: "d".repeat(64),
  });

  it("takes a wildcard put's matched files as outputs, places and completes each, and ignores names its patterns do not match", async () => {
    const { key, bucket, job, order, send } = await wildJob();
    const [getTask, put] = job.tasks;
    expect(job.outputs).toEqual([]);
    await send({ type: "task_started", stage: "import", task_id: getTask.id });
    await send({ type: "task_completed", stage: "import", task_id: getTask.id, output: null });
    await send({ type: "task_started", stage: "export", task_id: put.id });
    const found = [
      { output_id: "out_found_a", file: "a.mp4" },
      { output_id: "out_found_b", file: "b.mp4" },
      { output_id: "out_sneaky", file: "notes.txt" },
    ];
    expect(await send({ type: "outputs_discovered", task_id: put.id, outputs: found })).toEqual({ status: 200, directive: "continue" });
    const discovered = await view(key, job.id);
    expect(discovered.outputs.map((o: { id: string; status: string; type: string }) => [o.id, o.status, o.type])).toEqual([
      ["out_found_a", "processing", "mp4"],
      ["out_found_b", "processing", "mp4"],
    ]);
    expect(discovered.tasks[1].outputs).toEqual(["out_found_a", "out_found_b"]);

    const signed = await sign(order, [{ output_id: "out_found_a", path: "a.mp4", size_bytes: 3 }, { output_id: "out_found_b", path: "b.mp4", size_bytes: 3 }]);
    expect(signed.status, signed.text).toBe(200);
    const uploads = signResponseSchema.parse(signed.json).uploads;
    for (const [i, upload] of uploads.entries()) {
      if (upload.kind !== "put") throw new Error("expected single PUTs");
      expect(upload.url.startsWith(`${S3}/${bucket}/out/${job.id}/${["a", "b"][i]}.mp4?`)).toBe(true);
      expect((await fetch(upload.url, { method: "PUT", body: "mp4" })).status).toBe(200);
    }
    // A name outside the patterns never became an output, so it cannot be signed.
    expect((await sign(order, [{ output_id: "out_sneaky", path: "notes.txt", size_bytes: 1 }])).status).toBe(400);

    await send({ type: "output_completed", task_id: put.id, output: facts("out_found_a", "a.mp4", 3) });
    await send({ type: "output_completed", task_id: put.id, output: facts("out_found_b", "b.mp4", 3) });
    await send({ type: "task_completed", stage: "export", task_id: put.id, output: null });
    await send({ type: "job_completed" });
    const done = await view(key, job.id);
    expect(done.status).toBe("completed");
    expect(done.outputs.map((o: { status: string; location: string; facts: { codec: string } }) => [o.status, o.location, o.facts.codec])).toEqual([
      ["completed", `s3://${bucket}/out/${job.id}/a.mp4`, "h264"],
      ["completed", `s3://${bucket}/out/${job.id}/b.mp4`, "h264"],
    ]);

    // A restart forgets what the patterns matched: the put finds its files again.
    expect((await call(`/v1/jobs/${job.id}/restart`, { key, method: "POST" })).status).toBe(200);
    const restarted = await view(key, job.id);
    expect(restarted.outputs).toEqual([]);
    expect(restarted.tasks[1].outputs).toEqual([]);
  });

  it("refuses to sign a file over an existing object unless the put overwrites", async () => {
    for (const overwrite of [undefined, true]) {
      const { bucket, job, order, send } = await wildJob(overwrite);
      expect((await s3.fetch(`${S3}/${bucket}/out/${job.id}/a.mp4`, { method: "PUT", body: "old" })).status).toBe(200);
      await send({ type: "task_started", stage: "export", task_id: job.tasks[1].id });
      await send({ type: "outputs_discovered", task_id: job.tasks[1].id, outputs: [{ output_id: "out_a", file: "a.mp4" }] });
      const signed = await sign(order, [{ output_id: "out_a", path: "a.mp4", size_bytes: 3 }]);
      if (overwrite) {
        expect(signed.status, signed.text).toBe(200);
      } else {
        expect(signed.status, signed.text).toBe(409);
        expect(signed.json.error).toMatchObject({ code: "object_exists" });
        expect(signed.json.error.message).toMatch(/already exists.*overwrite: true/);
      }
    }
  });

  it("marks the tasks a storage:check skipped and completes the job without their outputs", async () => {
    const { key, at } = await setup();
    const res = await call("/v1/jobs", {
      key,
      body: {
        tasks: [
          { tool: "storage:check", parameters: { location: at("out/"), files: ["done.mp4"], mode: "COMPLETE_ON_PRESENCE" } },
          get(at("in/")),
          { tool: "storage:put", parameters: { location: at("out/"), files: ["in.mov"] } },
        ],
      },
    });
    expect(res.status, res.text).toBe(201);
    const job = res.json;
    const send = encoderFor(await orderNumber<ToolsOrder>(job.id, 1));
    const [check, getTask, put] = job.tasks;
    await send({ type: "task_started", stage: "import", task_id: check.id });
    await send({ type: "task_completed", stage: "import", task_id: check.id, output: null });
    await send({ type: "task_skipped", task_id: getTask.id });
    await send({ type: "task_skipped", task_id: put.id });
    expect(await send({ type: "job_completed" })).toEqual({ status: 200, directive: "cancel" });
    const done = await view(key, job.id);
    expect(done.status).toBe("completed");
    expect(done.tasks.map((t: { status: string }) => t.status)).toEqual(["completed", "skipped", "skipped"]);
    expect(done.outputs[0]).toMatchObject({ status: "canceled", error: { code: "task_skipped" } });
  });
});
