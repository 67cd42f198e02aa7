import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import type { ToolsOrder } from "../../encoder/contract";
import { call, orderNumber, seedOrg } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/*
 * shaka:package_dash on the Worker's side: its parameter schema at creation (the names kept
 * from VTK's Widevine variant, the DRM it refuses by name, file-name rules, each refusal a
 * 400 with its code and path), its version, and what the plan and the order carry.
 */
const http = "https://media.example.com/in/";
const get = { tool: "storage:get", parameters: { location: http, files: ["source.mp4"] } };
const dash = (parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ tool: "shaka:package_dash", parameters, ...extra });
const inputs = [
  { input_file: "source.mp4", stream_selector: "video", output: "video" },
  { input_file: "source.mp4", stream_selector: "audio", output: "audio" },
];

describe("shaka:package_dash parameters at creation", { timeout: 20_000 }, () => {
  const refusals: [string, Record<string, unknown>, string, string][] = [
    ["Widevine's protection_systems", dash({ inputs, protection_scheme: "cenc", protection_systems: "Widevine,PlayReady" }), "drm_system_unsupported", "tasks.1.parameters.protection_systems"],
    ["a key server", dash({ inputs, key_server_url: "https://license.widevine.com/cenc/getcontentkey/widevine_test" }), "drm_system_unsupported", "tasks.1.parameters.key_server_url"],
    ["a signer", dash({ inputs, signer: "widevine_test", aes_signing_key: "1ae8ccd0e7985cc0b6203a55855a1034" }), "drm_system_unsupported", "tasks.1.parameters.signer"],
    ["key rotation", dash({ inputs, crypto_period_duration: 30 }), "drm_system_unsupported", "tasks.1.parameters.crypto_period_duration"],
    ["an input's drm_label", dash({ inputs: [{ ...inputs[0], drm_label: "HD" }] }), "drm_system_unsupported", "tasks.1.parameters.inputs.0.drm_label"],
    ["a scheme other than cenc", dash({ inputs, protection_scheme: "cbcs" }), "invalid_drm", "tasks.1.parameters.protection_scheme"],
    ["a text stream", dash({ inputs: [{ input_file: "subs.vtt", stream_selector: "text", output: "text" }] }), "stream_selector_unsupported", "tasks.1.parameters.inputs.0.stream_selector"],
    ["a selector that is none", dash({ inputs: [{ ...inputs[0], stream_selector: "v:0" }] }), "validation_error", "tasks.1.parameters.inputs.0.stream_selector"],
    ["a negative stream index", dash({ inputs: [{ ...inputs[0], stream_selector: -1 }] }), "validation_error", "tasks.1.parameters.inputs.0.stream_selector"],
    ["an absolute input_file", dash({ inputs: [{ ...inputs[0], input_file: "/data/source.mp4" }] }), "absolute_path", "tasks.1.parameters.inputs.0.input_file"],
    ["an input_file leaving the directory", dash({ inputs: [{ ...inputs[0], input_file: "../source.mp4" }] }), "path_outside_workdir", "tasks.1.parameters.inputs.0.input_file"],
    ["an absolute output_dir", dash({ inputs, output_dir: "/var/www/dash" }), "absolute_path", "tasks.1.parameters.output_dir"],
    ["an output_dir leaving the directory", dash({ inputs, output_dir: "dash/../../x" }), "path_outside_workdir", "tasks.1.parameters.output_dir"],
    ["an absolute mpd_output", dash({ inputs, mpd_output: "/tmp/manifest.mpd" }), "absolute_path", "tasks.1.parameters.mpd_output"],
    ["an mpd_output in a subdirectory", dash({ inputs, mpd_output: "sub/manifest.mpd" }), "validation_error", "tasks.1.parameters.mpd_output"],
    ["a wildcard in an output", dash({ inputs: [{ ...inputs[0], output: "video_*" }] }), "wildcard_not_allowed", "tasks.1.parameters.inputs.0.output"],
    ["two streams writing the same segments", dash({ inputs: [inputs[0], { ...inputs[1], output: "video.mp4" }] }), "validation_error", "tasks.1.parameters.inputs.1.output"],
    ["a clear_key that is not 16 bytes", dash({ inputs, clear_key: { key_id: "abcd", key: "fedcba9876543210fedcba9876543210" } }), "validation_error", "tasks.1.parameters.clear_key.key_id"],
    ["a webm output_format", dash({ inputs: [{ ...inputs[0], output_format: "webm" }] }), "validation_error", "tasks.1.parameters.inputs.0.output_format"],
    ["a bandwidth of 0", dash({ inputs: [{ ...inputs[0], bandwidth: 0 }] }), "validation_error", "tasks.1.parameters.inputs.0.bandwidth"],
    ["no inputs", dash({ inputs: [] }), "validation_error", "tasks.1.parameters.inputs"],
    ["an unknown parameter", dash({ inputs, generate_static_live_mpd: true }), "validation_error", "tasks.1.parameters"],
    ["an unknown version", dash({ inputs }, { version: "2.2.1" }), "unknown_tool_version", "tasks.1.version"],
  ];
  it.each(refusals)("refuses %s with 400 and its code", async (_label, task, code, path) => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body: { tasks: [get, task] } });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
  });

  it("says why Widevine parameters are refused, and names the known versions", async () => {
    const { key } = await seedOrg();
    const widevine = await call("/v1/jobs", { key, body: { tasks: [get, dash({ inputs, enable_widevine_encryption: true })] } });
    expect(widevine.json.error.message).toMatch(/enable_widevine_encryption .*Kiln's packager .*ClearKey/);
    const version = await call("/v1/jobs", { key, body: { tasks: [get, dash({ inputs }, { version: "9" })] } });
    expect(version.json.error.message).toMatch(/shaka:package_dash has no version 9; known versions: 1\.0 \(default 1\.0\)/);
  });
});

describe("planning shaka:package_dash", { timeout: 20_000 }, () => {
  const S3 = env.TEST_ONLY_ALLOWED_S3_ENDPOINT!;
  const s3 = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });

  it("records the resolved version and defaults, links the package between get and put, and orders it with its ClearKey", async () => {
    const { key } = await seedOrg();
    const bucket = `kiln-dash-${crypto.randomUUID().slice(0, 8)}`;
    expect((await s3.fetch(`${S3}/${bucket}`, { method: "PUT" })).status).toBe(200);
    const secret = await call("/v1/secrets", { key, body: { name: "dash-keys", credentials: S3_TEST_CREDENTIALS, endpoint: S3 } });
    expect(secret.status, secret.text).toBe(201);
    const res = await call("/v1/jobs", {
      key,
      body: {
        tasks: [
          get,
          dash({
            inputs: [
              { input_file: "source.mp4", stream_selector: "0", output: "video.mp4", output_format: "mp4", bandwidth: "1500000" },
              { input_file: "source.mp4", stream_selector: "audio", output: "audio" },
            ],
            segment_duration: "4",
            clear_key: { key_id: "0123456789ABCDEF0123456789ABCDEF", key: "fedcba9876543210fedcba9876543210" },
          }),
          { tool: "storage:put", parameters: { location: `s3://{dash-keys}@${bucket}/out/{job_id}/`, files: ["*"], base_dir: "dash" } },
        ],
      },
    });
    expect(res.status, res.text).toBe(201);
    const job = res.json;
    const [getTask, pkg, put] = job.tasks;
    expect(pkg).toMatchObject({ kind: "shaka:package_dash", tool: "shaka:package_dash", version: "1.0", inputs: ["source.mp4"], outputs: ["dash/manifest.mpd"], depends_on: [getTask.id] });
    // Defaults filled, VTK's string numbers read, clear_key alone meaning cenc, the key id in lower case.
    expect(pkg.options).toEqual({
      inputs: [
        { input_file: "source.mp4", stream_selector: 0, output: "video.mp4", bandwidth: 1500000 },
        { input_file: "source.mp4", stream_selector: "audio", output: "audio" },
      ],
      output_dir: "dash",
      mpd_output: "manifest.mpd",
      segment_duration: 4,
      protection_scheme: "cenc",
      clear_key: { key_id: "0123456789abcdef0123456789abcdef", key: "fedcba9876543210fedcba9876543210" },
    });
    expect(put.depends_on).toEqual([pkg.id]);

    const order = await orderNumber<ToolsOrder>(job.id, 1);
    expect(order.steps.map((s) => s.tool)).toEqual(["storage:get", "shaka:package_dash", "storage:put"]);
    expect(order.steps[1]).toEqual({
      tool: "shaka:package_dash",
      task_id: pkg.id,
      inputs: [
        { input_file: "source.mp4", stream_selector: 0, output: "video.mp4", bandwidth: 1500000 },
        { input_file: "source.mp4", stream_selector: "audio", output: "audio" },
      ],
      output_dir: "dash",
      mpd_output: "manifest.mpd",
      segment_duration: 4,
      protection: { scheme: "cenc", key_id: "0123456789abcdef0123456789abcdef", key: "fedcba9876543210fedcba9876543210" },
    });
    expect(order.steps[2]).toMatchObject({ tool: "storage:put", patterns: ["*"], base_dir: "dash" });
  });

  it("orders cenc without a key for the encoder to generate one, and a clear package without protection", async () => {
    const { key } = await seedOrg();
    for (const [parameters, protection] of [
      [{ inputs, protection_scheme: "cenc", output_dir: "out/dash", mpd_output: "stream.mpd" }, { scheme: "cenc" }],
      [{ inputs, output_dir: "out/dash", mpd_output: "stream.mpd" }, undefined],
    ] as const) {
      const res = await call("/v1/jobs", { key, body: { tasks: [get, dash(parameters)] } });
      expect(res.status, res.text).toBe(201);
      expect(res.json.tasks[1].outputs).toEqual(["out/dash/stream.mpd"]);
      const order = await orderNumber<ToolsOrder>(res.json.id, 1);
      const step = order.steps[1] as Extract<ToolsOrder["steps"][number], { tool: "shaka:package_dash" }>;
      expect(step.protection).toEqual(protection);
      expect(step).toMatchObject({ output_dir: "out/dash", mpd_output: "stream.mpd" });
    }
  });
});
