import { readFileSync } from "node:fs";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type S3Server, startS3Server } from "../worker/s3-server";
import { type E2EStack, bootStack, download, ffprobeJson, jobWithStatus, saveTemp, sha256 } from "./harness";

/*
 * Users' buckets through the whole local stack: an S3-protocol server on loopback
 * (s3rver) is the origin the job reads its input from and writes its output to, the
 * Worker presigning every request and the encoder seeing URLs only.
 */
let stack: E2EStack;
let s3: S3Server;
const BUCKET = "kiln-e2e";
const aws = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });

beforeAll(async () => {
  [stack, s3] = await Promise.all([bootStack(), startS3Server([BUCKET])]);
});
afterAll(async () => {
  await s3?.close();
  await stack?.stop();
});

const bucketUrl = (key: string) => `${s3.url}/${BUCKET}/${key}`;

async function createOrigin(fields: Record<string, unknown>) {
  return stack.api("/v1/origins", {
    body: { name: "local s3", provider: "s3", bucket: BUCKET, endpoint: s3.url, credentials: S3_TEST_CREDENTIALS, ...fields },
  });
}

const waitForEnd = (jobId: string) => jobWithStatus(stack, jobId, ["completed", "failed", "canceled", "partial"]);

/** The object as s3rver holds it, ffprobed: what the job really wrote. */
async function probeStored(key: string, name: string) {
  const res = await aws.fetch(bucketUrl(key));
  expect(res.status, `GET ${key}`).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { bytes, probed: ffprobeJson(saveTemp(bytes, name)) };
}

describe("an S3 origin on loopback", () => {
  let incoming: { id: string };
  let renders: { id: string };

  it("is connected after a real access check, and refuses an unknown access key id", async () => {
    const denied = await createOrigin({ path: "incoming", permissions: ["read"], credentials: { access_key_id: "NOT-A-KEY", secret_access_key: "S3RVER" } });
    expect(denied.status).toBe(400);
    expect(denied.json.error.code).toBe("origin_access_denied");
    expect(JSON.stringify(denied.json)).not.toContain("NOT-A-KEY");

    const input = await createOrigin({ path: "incoming", permissions: ["read"] });
    expect(input.status, JSON.stringify(input.json)).toBe(201);
    incoming = input.json;
    const output = await createOrigin({ path: "renders", permissions: ["read", "write"] });
    expect(output.status, JSON.stringify(output.json)).toBe(201);
    renders = output.json;
    expect(JSON.stringify([input.json, output.json])).not.toContain(S3_TEST_CREDENTIALS.secret_access_key);

    const put = await aws.fetch(bucketUrl("incoming/clip.mp4"), { method: "PUT", body: readFileSync(clipPath("landscape")), headers: { "content-type": "video/mp4" } });
    expect(put.status).toBe(200);
  });

  it("feeds a job its input and receives its output at the path template's key", async () => {
    const created = await stack.api("/v1/jobs", {
      body: {
        input_origin_id: incoming.id,
        input_path: "clip.mp4",
        kind: "video",
        options: { format: "mp4", codec: "h264", width: 320, quality: "low" },
        output_origin_id: renders.id,
        output_path_template: "{date}/{job_id}/{codec}-{resolution}.{format}",
      },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const job = await waitForEnd(created.json.id);
    expect(job.status, JSON.stringify(job.error)).toBe("completed");

    const key = `renders/${job.created_at.slice(0, 10)}/${job.id}/h264-320w.mp4`;
    const output = job.outputs[0];
    expect(output.location).toBe(`s3://${BUCKET}/${key}`);
    const { bytes, probed } = await probeStored(key, "origin-out.mp4");
    expect(probed.format.format_name).toContain("mp4");
    expect(probed.streams.find((s: any) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    expect(probed.streams.some((s: any) => s.codec_type === "audio")).toBe(true);
    expect(Math.abs(Number(probed.format.duration) - 3)).toBeLessThan(0.1);
    expect(bytes.length).toBe(output.file_size_bytes);
    expect(sha256(bytes)).toBe(output.facts.sha256);

    // The origin grants read, so the job hands out a presigned GET of the same object.
    const viaUrl = await download(output.output_url);
    expect(new URL(output.output_url).searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256(viaUrl)).toBe(output.facts.sha256);
  });

  it("reads s3://bucket/key through the origin and writes through a named secret, VTK's s3://{secret}@bucket/…", async () => {
    const secret = await stack.api("/v1/secrets", { body: { name: "local-s3-keys", credentials: S3_TEST_CREDENTIALS, endpoint: s3.url } });
    expect(secret.status, JSON.stringify(secret.json)).toBe(201);
    const created = await stack.api("/v1/jobs", {
      body: {
        input: `s3://${BUCKET}/incoming/clip.mp4`,
        kind: "audio",
        options: { format: "mp3", quality: "low" },
        output: `s3://{local-s3-keys}@${BUCKET}/vtk/{job_id}/`,
      },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const job = await waitForEnd(created.json.id);
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    const key = `vtk/${job.id}/${job.outputs[0].id}.mp3`;
    expect(job.outputs[0].location).toBe(`s3://${BUCKET}/${key}`);
    const { probed } = await probeStored(key, "secret-out.mp3");
    expect(probed.streams).toHaveLength(1);
    expect(probed.streams[0]).toMatchObject({ codec_type: "audio", codec_name: "mp3" });
    expect(Math.abs(Number(probed.format.duration) - 3)).toBeLessThan(0.2);
  });

  it("refuses a new job naming the origin once it is deleted", async () => {
    expect((await stack.api(`/v1/origins/${renders.id}`, { method: "DELETE" })).status).toBe(200);
    const refused = await stack.api("/v1/jobs", {
      body: { input_origin_id: incoming.id, input_path: "clip.mp4", kind: "video", options: { width: 320 }, output_origin_id: renders.id },
    });
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe("origin_not_found");
  });
});
