import { readFileSync } from "node:fs";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type S3Server, startS3Server } from "../worker/s3-server";
import { type E2EStack, bootStack, ffprobeJson, jobWithStatus, saveTemp, sha256 } from "./harness";

/*
 * VTK's tool pipeline through the whole local stack: the seed's own example job
 * (storage:get → ffmpeg:cmd → storage:put), its secret and bucket pointing at an
 * S3-protocol server on loopback. The Worker resolves the locations and presigns; the
 * encoder's tools engine fetches, runs the user's ffmpeg in its sandbox and stores the
 * result where the put says.
 */
let stack: E2EStack;
let s3: S3Server;
const BUCKET = "kiln-e2e-tools";
const SECRET = "acme-aws-access-keys";
const aws = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });
const bucketUrl = (key: string) => `${s3.url}/${BUCKET}/${key}`;

beforeAll(async () => {
  [stack, s3] = await Promise.all([bootStack(), startS3Server([BUCKET])]);
  const put = await aws.fetch(bucketUrl("in/source.mov"), { method: "PUT", body: readFileSync(clipPath("shortMov")), headers: { "content-type": "video/quicktime" } });
  expect(put.status).toBe(200);
  const secret = await stack.api("/v1/secrets", { body: { name: SECRET, credentials: S3_TEST_CREDENTIALS, endpoint: s3.url } });
  expect(secret.status, JSON.stringify(secret.json)).toBe(201);
});
afterAll(async () => {
  await s3?.close();
  await stack?.stop();
});

describe("a VTK tool pipeline", () => {
  it("runs the seed's example job: fetches source.mov, runs ffmpeg, stores source_720p.mp4 under out/<job id>/", async () => {
    const created = await stack.api("/v1/jobs", {
      body: {
        tags: ["my-project"],
        region: "aws:eu-west-1",
        tasks: [
          {
            tool: "storage:get",
            parameters: {
              location: `s3://{${SECRET}}@${BUCKET}/in/`,
              files: ["source.mov"],
            },
          },
          {
            tool: "ffmpeg:cmd",
            parameters: {
              arguments: ["-y", "-i", "source.mov", "-c:v", "libx264", "-b:v", "1500k", "-c:a", "aac", "-b:a", "128k", "source_720p.mp4"],
            },
          },
          {
            tool: "storage:put",
            parameters: {
              location: `s3://{${SECRET}}@${BUCKET}/out/{job_id}/`,
              files: ["source_720p.mp4"],
            },
          },
        ],
      },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const job = await jobWithStatus(stack, created.json.id, ["completed", "failed", "canceled", "partial"]);
    expect(job.status, JSON.stringify({ error: job.error, tasks: job.tasks.map((t: { kind: string; error: unknown }) => [t.kind, t.error]) })).toBe("completed");
    expect(job.tasks.map((t: { tool: string; status: string }) => [t.tool, t.status])).toEqual([
      ["storage:get", "completed"],
      ["ffmpeg:cmd", "completed"],
      ["storage:put", "completed"],
    ]);

    const key = `out/${job.id}/source_720p.mp4`;
    const output = job.outputs[0];
    expect(output).toMatchObject({ status: "completed", location: `s3://${BUCKET}/${key}` });
    const res = await aws.fetch(bucketUrl(key));
    expect(res.status, `GET ${key}`).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBe(output.file_size_bytes);
    expect(sha256(bytes)).toBe(output.facts.sha256);
    const probed = ffprobeJson(saveTemp(bytes, "source_720p.mp4"));
    expect(probed.streams.find((s: { codec_type: string }) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    expect(probed.streams.find((s: { codec_type: string }) => s.codec_type === "audio")).toMatchObject({ codec_name: "aac" });
    expect(Math.abs(Number(probed.format.duration) - 1.5)).toBeLessThan(0.2);

    // What ffmpeg wrote to stderr is the ffmpeg task's log.
    const ffmpeg = job.tasks[1];
    const log = await stack.api(`/v1/jobs/${job.id}/tasks/${ffmpeg.id}/log`);
    expect(log.status).toBe(200);
    expect(log.json).toMatchObject({ task_id: ffmpeg.id, status: "completed", dropped: 0 });
    expect(log.json.lines.length).toBeGreaterThan(0);
    for (const line of log.json.lines) expect(Number.isNaN(Date.parse(line.at))).toBe(false);
  });
});
