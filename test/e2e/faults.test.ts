import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { processesUnder } from "../../scripts/stack.mjs";
import { clipPath } from "../encoder/clips";
import { type E2EStack, bootStack, download, ffprobeJson, saveTemp, serveFiles, sha256, until, verifyHook, webhookReceiver } from "./harness";

let stack: E2EStack;
let media: Awaited<ReturnType<typeof serveFiles>>;

beforeAll(async () => {
  // A short lease so lost encoders are noticed in seconds; heartbeats well inside it.
  stack = await bootStack({ LEASE_TIMEOUT_MS: "4000", MAX_ATTEMPTS: "3", WEBHOOK_RETRY_BASE_SECONDS: "1" }, { ENCODER_HEARTBEAT_MS: "1000" });
  media = await serveFiles({ "clip.mp4": clipPath("landscape") });
});
// A test that kills the encoder and fails before restarting it must not take the next one down.
beforeEach(async () => {
  if (!stack.encoderRunning) await stack.startEncoder();
});
afterAll(async () => {
  await media?.close();
  await stack?.stop();
});

/** A job slow enough on 2 cores to be interrupted mid-encode. */
const slowJob = () => ({ input: media.url("clip.mp4"), kind: "video", options: { format: "mp4", codec: "h265", quality: "very_high" } });

const job = async (id: string) => (await stack.api(`/v1/jobs/${id}`)).json;
const encoding = (j: any) => j.status === "processing" && j.tasks.some((t: any) => t.kind === "video" && t.status === "running" && t.progress > 0);

describe("faults", () => {
  it("an encoder killed mid-encode and restarted: the job completes on attempt 2 with one set of outputs", async () => {
    const created = (await stack.api("/v1/jobs", { body: slowJob() })).json;
    await until("encoding", () => job(created.id), encoding);
    await stack.killEncoder();
    expect(processesUnder(stack.workDir)).toEqual([]);
    await stack.startEncoder();
    const done = await until("completion", () => job(created.id), (j) => j.status === "completed" || j.status === "failed", 120_000);
    expect(done).toMatchObject({ status: "completed", attempt: 2 });
    expect(done.outputs).toHaveLength(1);
    const bytes = await download(done.outputs[0].output_url);
    expect(sha256(bytes)).toBe(done.outputs[0].facts.sha256);
    const probed = ffprobeJson(saveTemp(bytes, "out.mp4"));
    expect(probed.streams.find((s: any) => s.codec_type === "video")).toMatchObject({ codec_name: "hevc", width: 640, height: 360 });
  });

  it("cancel during an encode: canceled within 3 s and ffmpeg gone", async () => {
    const created = (await stack.api("/v1/jobs", { body: slowJob() })).json;
    await until("encoding", () => job(created.id), encoding);
    expect(processesUnder(stack.workDir).length).toBeGreaterThan(0);
    const started = Date.now();
    const canceled = await stack.api(`/v1/jobs/${created.id}/cancel`, { method: "POST" });
    expect(canceled.json.status).toBe("canceled");
    await until("ffmpeg to exit", async () => processesUnder(stack.workDir), (pids) => pids.length === 0, 3_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await job(created.id)).status).toBe("canceled");
  });

  it("a webhook receiver answering 500 twice, then 200: delivered on the third try and recorded", async () => {
    const receiver = await webhookReceiver(2);
    try {
      const secret = (await stack.api("/v1/webhooks/secret")).json.secret;
      const created = (await stack.api("/v1/jobs", { body: { input: media.url("clip.mp4"), kind: "audio", options: { format: "mp3" }, webhook_url: receiver.url } })).json;
      await until("three deliveries", async () => receiver.received.length, (n) => n >= 3, 60_000);
      expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 200]);
      const ids = new Set(receiver.received.map((r) => r.headers["webhook-id"]));
      expect(ids.size).toBe(1);
      expect(verifyHook(secret, receiver.received[2]!)).toMatchObject({ type: "job.completed", data: { id: created.id } });
      const listed = await until("the record", async () => (await stack.api(`/v1/jobs/${created.id}/webhooks`)).json, (l) => l.data?.[0]?.status === "delivered");
      const attempts = listed.data[0].attempts.map((a: any) => a.status_code);
      expect(attempts).toEqual([500, 500, 200]);
      expect(listed.data[0].attempts.every((a: any) => typeof a.latency_ms === "number")).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it("an encoder killed and never restarted: failed with encoder_lost after MAX_ATTEMPTS", async () => {
    const created = (await stack.api("/v1/jobs", { body: slowJob() })).json;
    await until("encoding", () => job(created.id), encoding);
    await stack.killEncoder();
    const failed = await until("failure", () => job(created.id), (j) => j.status === "failed", 90_000);
    expect(failed.error.code).toBe("encoder_lost");
    expect(failed.attempt).toBe(3);
  });
});
