import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type S3Server, startS3Server } from "../worker/s3-server";
import { type E2EStack, bootStack, ffprobeJson, saveTemp, until } from "./harness";

/*
 * castlabs VTK's seed examples replayed with curl through the whole local stack,
 * changing only the host, the token and the organization URN (the dev org's). The
 * seed's secret `acme-aws-access-keys` and bucket `acme-bucket` are kept: the secret is
 * a named Kiln secret for an S3-protocol server on loopback, which holds the bucket.
 */
let stack: E2EStack;
let s3: S3Server;
const BUCKET = "acme-bucket";
const ORG = "urn:janus:organization:dev";
const aws = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });
const bucketUrl = (key: string) => `${s3.url}/${BUCKET}/${key}`;
const run = promisify(execFile);

/** Runs curl with the seed's arguments (no shell), answering the status and the JSON body. */
async function curl(args: string[]): Promise<{ status: number; json: any }> {
  const { stdout } = await run("curl", ["-s", "-w", "\n%{http_code}", ...args]);
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), json: JSON.parse(stdout.slice(0, cut)) };
}

const auth = () => ["-H", `Authorization: Bearer ${stack.devKey}`, "-H", `x-castlabs-organization: ${ORG}`];
const get = (p: string) => curl([`${stack.url}/o/${ORG}${p}`, ...auth()]);
const post = (p: string) => curl(["-X", "POST", `${stack.url}/o/${ORG}${p}`, ...auth()]);
const jobStatus = (id: string, codes: number[]) => until(`job ${id} to reach ${codes.join("/")}`, async () => (await get(`/jobs/${id}`)).json, (job) => codes.includes(job.status), 90_000);

/** The stored output of a job, ffprobed. */
async function storedOutput(jobId: string) {
  const res = await aws.fetch(bucketUrl(`out/${jobId}/source_720p.mp4`));
  expect(res.status, `GET out/${jobId}/source_720p.mp4`).toBe(200);
  return ffprobeJson(saveTemp(Buffer.from(await res.arrayBuffer()), "source_720p.mp4"));
}

beforeAll(async () => {
  [stack, s3] = await Promise.all([bootStack(), startS3Server([BUCKET])]);
  const put = await aws.fetch(bucketUrl("in/source.mov"), { method: "PUT", body: readFileSync(clipPath("mediumMov")), headers: { "content-type": "video/quicktime" } });
  expect(put.status).toBe(200);
  const secret = await stack.api("/v1/secrets", { body: { name: "acme-aws-access-keys", credentials: S3_TEST_CREDENTIALS, endpoint: s3.url } });
  expect(secret.status, JSON.stringify(secret.json)).toBe(201);
}, 180_000);
afterAll(async () => {
  await s3?.close();
  await stack?.stop();
});

describe("castlabs VTK's seed examples", () => {
  let jobId: string;

  it("submits the seed's job verbatim: 201 with the full job, status 2, source_720p.mp4 in the bucket as h264 at about 1500 kb/s and aac", async () => {
    // docs: Jobs → Submit a job (the curl example, host, token and URN changed).
    const created = await curl([
      "-X", "POST", `${stack.url}/o/urn:janus:organization:dev/jobs`,
      "-H", `Authorization: Bearer ${stack.devKey}`,
      "-H", "x-castlabs-organization: urn:janus:organization:dev",
      "-H", "Content-Type: application/json",
      "-d", `{
        "tags": ["my-project"],
        "region": "aws:eu-west-1",
        "tasks": [
          { "tool": "storage:get",
            "parameters": {
              "location": "s3://{acme-aws-access-keys}@acme-bucket/in/",
              "files": ["source.mov"]
            }
          },
          { "tool": "ffmpeg:cmd",
            "parameters": {
              "arguments": [
                "-y", "-i", "source.mov",
                "-c:v", "libx264", "-b:v", "1500k",
                "-c:a", "aac", "-b:a", "128k",
                "source_720p.mp4"
              ]
            }
          },
          { "tool": "storage:put",
            "parameters": {
              "location": "s3://{acme-aws-access-keys}@acme-bucket/out/{job_id}/",
              "files": ["source_720p.mp4"]
            }
          }
        ]
      }`,
    ]);
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    jobId = created.json.id;
    expect(created.json).toMatchObject({ status: 0, status_text: "Submitted", tags: ["my-project"], region: "aws:eu-west-1", priority: 10 });
    expect(created.json.tasks.map((t: { tool: string; status: number }) => [t.tool, t.status])).toEqual([
      ["storage:get", 0],
      ["ffmpeg:cmd", 0],
      ["storage:put", 0],
    ]);

    const done = await jobStatus(jobId, [2, 3, 4, 6]);
    expect(done.status, JSON.stringify({ error: done.error, tasks: done.tasks.map((t: { tool: string; error: unknown }) => [t.tool, t.error]) })).toBe(2);
    expect(done.tasks.map((t: { status_text: string }) => t.status_text)).toEqual(["Completed", "Completed", "Completed"]);
    const probed = await storedOutput(jobId);
    const video = probed.streams.find((s: { codec_type: string }) => s.codec_type === "video");
    expect(video).toMatchObject({ codec_name: "h264", width: 640, height: 360 });
    expect(Number(video.bit_rate) / 1000).toBeGreaterThan(1500 * 0.8);
    expect(Number(video.bit_rate) / 1000).toBeLessThan(1500 * 1.2);
    expect(probed.streams.find((s: { codec_type: string }) => s.codec_type === "audio")).toMatchObject({ codec_name: "aac" });

    // The ffmpeg task's log is ffmpeg's own stderr.
    const log = await get(`/jobs/${jobId}/tasks/${done.tasks[1].id}/log`);
    expect(log.status).toBe(200);
    expect(log.json.count).toBeGreaterThan(0);
    expect(log.json.results.some((l: { message: string }) => /Stream #0|libx264|frame=/.test(l.message))).toBe(true);
    for (const line of log.json.results) expect(Number.isInteger(line.timestamp)).toBe(true);
  }, 120_000);

  it("lists (?status=1,2&limit=20), gets and measures it as the seed does", async () => {
    // docs: List jobs, Get job, Get job metrics.
    const list = await curl([`${stack.url}/o/urn:janus:organization:dev/jobs?status=1,2&limit=20`, "-H", `Authorization: Bearer ${stack.devKey}`, "-H", "x-castlabs-organization: urn:janus:organization:dev"]);
    expect(list.status).toBe(200);
    expect(list.json.results.map((j: { id: string }) => j.id)).toContain(jobId);
    expect(list.json.results.every((j: { status: number }) => [1, 2].includes(j.status))).toBe(true);

    const job = await curl([`${stack.url}/o/urn:janus:organization:dev/jobs/${jobId}`, "-H", `Authorization: Bearer ${stack.devKey}`, "-H", "x-castlabs-organization: urn:janus:organization:dev"]);
    expect(job.status).toBe(200);
    expect(job.json).toMatchObject({ id: jobId, status: 2, status_text: "Completed" });
    expect(job.json.tasks).toHaveLength(3);

    const metrics = await get(`/jobs/${jobId}/metrics`);
    expect(metrics.status).toBe(200);
    expect(Object.keys(metrics.json)).toEqual(["id", "cus", "video_minutes_in", "video_minutes_out", "gb_in", "gb_out", "tasks"]);
    expect(metrics.json.id).toBe(jobId);
    expect(metrics.json.cus).toBeGreaterThan(0);
    expect(metrics.json.video_minutes_out).toBeCloseTo(3 / 60, 2);
    expect(metrics.json.gb_out).toBeGreaterThan(0);
    expect(metrics.json.tasks.map((t: { tool: string }) => t.tool)).toEqual(["storage:get", "ffmpeg:cmd", "storage:put"]);
  });

  it("restarts it under the same id (200), aborts the run (200, status 4), and resubmits it under a new id (201) that completes on its own", async () => {
    // docs: Job actions (the restart example).
    const restarted = await curl(["-X", "POST", `${stack.url}/o/urn:janus:organization:dev/jobs/${jobId}?action=restart`, "-H", `Authorization: Bearer ${stack.devKey}`, "-H", "x-castlabs-organization: urn:janus:organization:dev"]);
    expect(restarted.status, JSON.stringify(restarted.json)).toBe(200);
    expect(restarted.json.id).toBe(jobId);
    expect([0, 1, 5]).toContain(restarted.json.status);

    const aborted = await post(`/jobs/${jobId}?action=abort`);
    expect(aborted.status, JSON.stringify(aborted.json)).toBe(200);
    expect([aborted.json.status, aborted.json.status_text]).toEqual([4, "Aborted"]);

    const resubmitted = await post(`/jobs/${jobId}?action=resubmit`);
    expect(resubmitted.status, JSON.stringify(resubmitted.json)).toBe(201);
    expect(resubmitted.json.id).not.toBe(jobId);
    expect(resubmitted.json.resubmitted_from).toBe(jobId);
    const again = await jobStatus(resubmitted.json.id, [2, 3, 4, 6]);
    expect(again.status).toBe(2);
    expect((await storedOutput(again.id)).streams.map((s: { codec_name: string }) => s.codec_name).sort()).toEqual(["aac", "h264"]);
    // The original is unchanged by the resubmission: still aborted.
    expect((await get(`/jobs/${jobId}`)).json.status).toBe(4);
  }, 120_000);
});
