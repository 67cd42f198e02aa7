import { readFileSync } from "node:fs";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, type Interceptor, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AwsClient } from "aws4fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as CommonPb from "../../gen/transcodely/v1/common_pb";
import type * as JobPb from "../../gen/transcodely/v1/job_pb";
import type * as OriginPb from "../../gen/transcodely/v1/origin_pb";
import type * as PresetPb from "../../gen/transcodely/v1/preset_pb";
import { clipPath } from "../encoder/clips";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type S3Server, startS3Server } from "../worker/s3-server";
import { type E2EStack, bootStack, ffprobeJson, saveTemp } from "./harness";

/*
 * A real Connect client against the whole local stack: the TypeScript client generated
 * from proto/transcodely/v1 (npm run proto:generate: Debian's protoc and the registry's
 * protoc-gen-es), driven through @connectrpc/connect-node's Connect transport in JSON
 * mode. It connects a bucket (the loopback S3 server) and a preset through OriginService
 * and PresetService, then Create → Watch (server streaming, application/connect+json) →
 * Get on JobService, never touching /v1, and ffprobes what landed in the bucket.
 */

const BUCKET = "kiln-connect-e2e";
const aws = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });

let stack: E2EStack;
let s3: S3Server;
let pb: { common: typeof CommonPb; job: typeof JobPb; origin: typeof OriginPb; preset: typeof PresetPb };
let clients: {
  jobs: Client<typeof JobPb.JobService>;
  origins: Client<typeof OriginPb.OriginService>;
  presets: Client<typeof PresetPb.PresetService>;
};

beforeAll(async () => {
  pb = {
    common: await import("../../gen/transcodely/v1/common_pb"),
    job: await import("../../gen/transcodely/v1/job_pb"),
    origin: await import("../../gen/transcodely/v1/origin_pb"),
    preset: await import("../../gen/transcodely/v1/preset_pb"),
  };
  [stack, s3] = await Promise.all([bootStack(), startS3Server([BUCKET])]);
  // What the Transcodely SDK sends on every call: the key, the organization, its version pin.
  const credentials: Interceptor = (next) => async (request) => {
    request.header.set("authorization", `Bearer ${stack.devKey}`);
    request.header.set("x-organization-id", stack.devOrg);
    request.header.set("transcodely-version", "2026-05-03");
    return next(request);
  };
  const transport = createConnectTransport({
    baseUrl: stack.url,
    httpVersion: "1.1",
    useBinaryFormat: false,
    jsonOptions: { useProtoFieldName: true },
    interceptors: [credentials],
  });
  clients = {
    jobs: createClient(pb.job.JobService, transport),
    origins: createClient(pb.origin.OriginService, transport),
    presets: createClient(pb.preset.PresetService, transport),
  };
  const put = await aws.fetch(`${s3.url}/${BUCKET}/incoming/clip.mp4`, { method: "PUT", body: readFileSync(clipPath("landscape")), headers: { "content-type": "video/mp4" } });
  expect(put.status).toBe(200);
});

afterAll(async () => {
  await s3?.close();
  await stack?.stop();
});

describe("the generated Connect client", () => {
  let originId: string;

  it("connects a bucket and a preset through OriginService and PresetService", async () => {
    const created = await clients.origins.create({
      name: "loopback bucket",
      permissions: ["read", "write"],
      s3: { bucket: BUCKET, region: "us-east-1", endpoint: s3.url, credentials: { accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key } },
    });
    const origin = created.origin!;
    originId = origin.id;
    expect(origin.id).toMatch(/^ori_/);
    expect(origin).toMatchObject({ name: "loopback bucket", provider: "s3", permissions: ["read", "write"], status: "active", isManaged: false });
    expect(origin.s3).toMatchObject({ bucket: BUCKET, region: "us-east-1", endpoint: s3.url });
    expect(origin.s3!.credentials).toBeUndefined();
    expect(created.validation).toMatchObject({ success: true, canRead: true, canWrite: true });
    expect(timestampDate(origin.createdAt!).getTime()).toBeGreaterThan(Date.now() - 60_000);

    expect((await clients.origins.get({ id: origin.id })).origin?.id).toBe(origin.id);
    expect((await clients.origins.validate({ id: origin.id })).validation).toMatchObject({ success: true, canRead: true, canWrite: true });
    const listed = await clients.origins.list({ permission: "write" });
    expect(listed.origins.map((o) => o.id)).toEqual([origin.id]);
    expect(listed.pagination?.nextCursor).toBe("");

    const preset = await clients.presets.create({
      slug: "small_h264",
      name: "Small H.264",
      container: "mp4",
      video: { codec: "h264", width: 320, height: 180, encoderPreset: "veryfast" },
      audio: { codec: "aac", bitrateKbps: 96 },
      qualityTier: "economy",
    });
    expect(preset.preset).toMatchObject({ id: expect.stringMatching(/^pst_/), slug: "small_h264", container: "mp4", deliveryFormat: "progressive", qualityTier: "economy", systemPreset: false });
    expect(preset.preset!.video).toMatchObject({ codec: "h264", width: 320, height: 180, encoderPreset: "veryfast" });
    expect((await clients.presets.getBySlug({ slug: "small_h264" })).preset?.id).toBe(preset.preset!.id);
    const system = await clients.presets.list({ includeSystem: true, deliveryFormat: "hls" });
    expect(system.presets.map((p) => p.slug)).toEqual(["hls_ladder_standard"]);
    expect(system.presets[0]!.variants.map((v) => v.resolution)).toEqual(["1080p", "720p", "480p"]);

    // Connect errors reach the client as ConnectErrors, ErrorDetails decoded from their binary value.
    const refused = await clients.presets.create({ slug: "small_h264", name: "again", container: "mp4", video: { codec: "h264" } }).catch((err) => err);
    expect(ConnectError.from(refused).code).toBe(Code.AlreadyExists);
    const invalid = ConnectError.from(await clients.origins.create({ name: "x", permissions: ["admin"], s3: { bucket: "Bad Bucket" } }).catch((err) => err));
    expect(invalid.code).toBe(Code.InvalidArgument);
    const [details] = invalid.findDetails(pb.common.ErrorDetailsSchema);
    expect(details?.code).toBe("validation_error");
    expect(details?.fieldViolations.map((v) => v.field)).toEqual(expect.arrayContaining(["permissions[0]", "s3.bucket", "s3.region"]));
    const update = await fetch(`${stack.url}/transcodely.v1.OriginService/Update`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.devKey}`, "content-type": "application/json" },
      body: JSON.stringify({ id: origin.id }),
    });
    expect(update.status).toBe(501);
  });

  it("creates a job, watches it to the end over Connect streaming, and gets it", async () => {
    const { job: created } = await clients.jobs.create({
      inputOriginId: originId,
      inputPath: "incoming/clip.mp4",
      outputOriginId: originId,
      outputs: [{ preset: "small_h264" }],
      metadata: { source: "connect-e2e" },
    });
    expect(created!.id).toMatch(/^job_/);
    expect(created).toMatchObject({ status: "pending", progress: 0, priority: "standard", currency: "EUR", metadata: { source: "connect-e2e" } });
    expect(created!.outputOrigin).toMatchObject({ id: originId, provider: "s3", bucket: BUCKET });

    const events: { event: string; status: string; progress: number; serverTime: Date }[] = [];
    for await (const message of clients.jobs.watch({ id: created!.id })) {
      events.push({ event: message.event, status: message.job!.status, progress: message.job!.progress, serverTime: timestampDate(message.serverTime!) });
    }
    // The loop ends only when the server ends the stream: after completed, and nothing after it.
    expect(events[0]!.event).toBe("snapshot");
    expect(events.at(-1)).toMatchObject({ event: "completed", status: "completed", progress: 100 });
    expect(events.filter((e) => e.event === "completed")).toHaveLength(1);
    const kinds = new Set(events.map((e) => e.event));
    for (const kind of kinds) expect(["snapshot", "progress", "status_change", "completed", "heartbeat"]).toContain(kind);
    // Every status the job passed through after the snapshot arrived as a status_change, in order.
    const changes = events.filter((e) => e.event === "status_change").map((e) => e.status);
    expect(changes.length).toBeGreaterThan(0);
    expect(changes).toContain("processing");
    const order = ["pending", "probing", "processing", "completed"];
    const seen = events.map((e) => order.indexOf(e.status));
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const progress = events.filter((e) => e.event === "progress").map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    for (let i = 1; i < events.length; i++) expect(events[i]!.serverTime.getTime()).toBeGreaterThanOrEqual(events[i - 1]!.serverTime.getTime());

    const { job } = await clients.jobs.get({ id: created!.id });
    expect(job).toMatchObject({ id: created!.id, status: "completed", progress: 100, errorCode: "", object: "job" });
    expect(job!.completedAt).toBeDefined();
    expect(job!.inputMetadata).toMatchObject({ width: 640, height: 360, codec: "h264" });
    const output = job!.outputs[0]!;
    expect(output).toMatchObject({ type: "mp4", status: "completed", video: { codec: "h264" }, object: "job_output" });
    expect(output.outputUrl).toMatch(new RegExp(`^s3://${BUCKET}/`));
    expect(output.fileSizeBytes).toBeGreaterThan(0n);

    // What the job really wrote into the bucket.
    const objectKey = output.outputUrl.slice(`s3://${BUCKET}/`.length);
    const stored = await aws.fetch(`${s3.url}/${BUCKET}/${objectKey}`);
    expect(stored.status).toBe(200);
    const bytes = Buffer.from(await stored.arrayBuffer());
    expect(BigInt(bytes.length)).toBe(output.fileSizeBytes);
    const probed = ffprobeJson(saveTemp(bytes, "connect-out.mp4"));
    expect(probed.streams.find((s: any) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    expect(probed.streams.find((s: any) => s.codec_type === "audio")).toMatchObject({ codec_name: "aac" });
    expect(Math.abs(Number(probed.format.duration) - 3)).toBeLessThan(0.15);

    const listed = await clients.jobs.list({ statuses: ["completed"], pagination: { limit: 10 } });
    expect(listed.jobs.map((j) => j.id)).toContain(created!.id);
    const missing = ConnectError.from(await clients.jobs.get({ id: "job_aaaaaaaaaaaaaaaaaaaa" }).catch((err) => err));
    expect(missing.code).toBe(Code.NotFound);
  });
});
