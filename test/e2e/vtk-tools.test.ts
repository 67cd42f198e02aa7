import { readFileSync } from "node:fs";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type S3Server, startS3Server } from "../worker/s3-server";
import { type E2EStack, bootStack, ffprobeJson, jobWithStatus, saveTemp, sha256 } from "./harness";

/*
 * The VTK tool set through the whole local stack (native /v1 tasks form, the JobDO,
 * the encoder's tools engine, an S3-protocol bucket on loopback): what only the whole
 * path shows — a wildcard put's files becoming outputs of the job with ffprobe facts,
 * |p tasks overlapping by their own timestamps, a check completing a job early, and
 * overwrite refused against the real bucket.
 */
let stack: E2EStack;
let s3: S3Server;
const BUCKET = "kiln-e2e-vtk-tools";
const SECRET = "vtk-tools-keys";
const aws = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });
const bucketUrl = (key: string) => `${s3.url}/${BUCKET}/${key}`;
const at = (folder: string) => `s3://{${SECRET}}@${BUCKET}/${folder}`;
const ENDED = ["completed", "failed", "canceled", "partial"];

beforeAll(async () => {
  [stack, s3] = await Promise.all([bootStack(), startS3Server([BUCKET])]);
  expect((await aws.fetch(bucketUrl("in/source.mov"), { method: "PUT", body: readFileSync(clipPath("smallMov")) })).status).toBe(200);
  const secret = await stack.api("/v1/secrets", { body: { name: SECRET, credentials: S3_TEST_CREDENTIALS, endpoint: s3.url } });
  expect(secret.status, JSON.stringify(secret.json)).toBe(201);
});
afterAll(async () => {
  await s3?.close();
  await stack?.stop();
});

const explain = (job: { error: unknown; tasks: { tool: string; status: string; error: unknown }[] }) => JSON.stringify({ error: job.error, tasks: job.tasks.map((t) => [t.tool, t.status, t.error]) });

describe("the VTK tool set through the stack", { timeout: 120_000 }, () => {
  it("runs |p renditions at the same time, then stores what a wildcard put matches as outputs with ffprobe facts", async () => {
    const rendition = (size: string, name: string) => ({
      tool: "ffmpeg:cmd|p",
      parameters: { arguments: ["-y", "-i", "source.mov", "-s", size, "-c:v", "libx264", "-preset", "medium", "-threads", "1", "-c:a", "aac", `renditions/${name}`], outputdir: "renditions" },
    });
    const created = await stack.api("/v1/jobs", {
      body: {
        tasks: [
          { tool: "storage:get", parameters: { location: at("in/"), files: ["source.mov"] } },
          rendition("320x180", "r_180.mp4"),
          rendition("256x144", "r_144.mp4"),
          { tool: "storage:put", parameters: { location: at("out/{job_id}/"), files: ["r_???.mp4"], base_dir: "renditions" } },
        ],
      },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json.outputs).toEqual([]);
    const job = await jobWithStatus(stack, created.json.id, ENDED);
    expect(job.status, explain(job)).toBe("completed");

    // Both renditions overlapped: each started before the other finished; the put waited for both.
    const [, a, b, put] = job.tasks;
    const t = (v: string) => Date.parse(v);
    expect(t(a.started_at)).toBeLessThan(t(b.finished_at));
    expect(t(b.started_at)).toBeLessThan(t(a.finished_at));
    expect(t(put.started_at)).toBeGreaterThanOrEqual(Math.max(t(a.finished_at), t(b.finished_at)));
    expect(put.depends_on).toEqual([a.id, b.id]);

    // The put's matches are the job's outputs, each stored, verified, and in the bucket.
    expect(put.outputs).toEqual(job.outputs.map((o: { id: string }) => o.id));
    const byFile = Object.fromEntries(job.outputs.map((o: { spec: { file: string } }) => [o.spec.file, o]));
    expect(Object.keys(byFile).sort()).toEqual(["r_144.mp4", "r_180.mp4"]);
    for (const [file, height] of [["r_180.mp4", 180], ["r_144.mp4", 144]] as const) {
      const output = byFile[file];
      expect(output).toMatchObject({ status: "completed", location: `s3://${BUCKET}/out/${job.id}/${file}`, facts: { codec: "h264", height } });
      const res = await aws.fetch(bucketUrl(`out/${job.id}/${file}`));
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(sha256(bytes)).toBe(output.facts.sha256);
      expect(ffprobeJson(saveTemp(bytes, file)).streams.find((s: { codec_type: string }) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", height });
    }

    // Each task's log has its real lines: the transfer, ffmpeg's stderr, what the put matched.
    const log = async (taskId: string) => (await stack.api(`/v1/jobs/${job.id}/tasks/${taskId}/log`)).json.lines.map((l: { text: string }) => l.text).join("\n");
    expect(await log(job.tasks[0].id)).toMatch(/fetched source\.mov: \d+ bytes/);
    expect(await log(a.id)).toMatch(/libx264/);
    expect(await log(put.id)).toMatch(/r_\?\?\?\.mp4 matched r_144\.mp4, r_180\.mp4/);
  });

  it("completes a job at a storage:check that finds its files, the tasks after it skipped", async () => {
    const created = await stack.api("/v1/jobs", {
      body: {
        tasks: [
          { tool: "storage:check", parameters: { location: at("in/"), files: ["source.mov"], mode: "COMPLETE_ON_PRESENCE" } },
          { tool: "storage:get", parameters: { location: at("in/"), files: ["source.mov"] } },
          { tool: "storage:put", parameters: { location: at("copy/{job_id}/"), files: ["source.mov"] } },
        ],
      },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const job = await jobWithStatus(stack, created.json.id, ENDED);
    expect(job.status, explain(job)).toBe("completed");
    expect(job.tasks.map((t: { status: string }) => t.status)).toEqual(["completed", "skipped", "skipped"]);
    expect((await aws.fetch(bucketUrl(`copy/${job.id}/source.mov`))).status).toBe(404);
  });

  it("fails a put over an existing object with object_exists, and overwrites when told to", async () => {
    const body = (overwrite?: boolean) => ({
      tasks: [
        { tool: "storage:get", parameters: { location: at("in/"), files: ["source.mov"] } },
        { tool: "storage:put", parameters: { location: at("in/"), files: ["source.mov"], ...(overwrite === undefined ? {} : { overwrite }) } },
      ],
    });
    const refused = await jobWithStatus(stack, (await stack.api("/v1/jobs", { body: body() })).json.id, ENDED);
    expect(refused.status).toBe("failed");
    expect(refused.error.code).toBe("object_exists");
    expect(refused.tasks[1]).toMatchObject({ status: "failed", error: { code: "object_exists" } });

    const replaced = await jobWithStatus(stack, (await stack.api("/v1/jobs", { body: body(true) })).json.id, ENDED);
    expect(replaced.status, explain(replaced)).toBe("completed");
  });
});
