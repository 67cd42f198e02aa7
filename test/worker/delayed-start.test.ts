import * as helpers from "./helpers";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, seedOrg, videoJob, encoderFor } from "./helpers";

/**
 * Delayed start and costs, with the encoder double in place of the pool: the first
 * order only probes, the job waits with an estimate, and only the confirmed attempt's
 * order asks for encoding.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  probe_only: boolean;
  tasks: { task_id: string; output_id: string; spec: Record<string, unknown> }[];
}

const ordersFor = (jobId: string) => helpers.ordersFor<Order>(jobId);
const cancelsFor = async (jobId: string) => ((await (await fetch(`${env.ENCODER_URL}/cancels/${jobId}`)).json()) as { count: number }).count;
const orderNumber = (jobId: string, n: number) => helpers.orderNumber<Order>(jobId, n);

/** A 640×360, 60 s input: h264 at 640 wide is sd, 0.004 EUR a minute. */
const metadata = { duration_ms: 60_000, width: 640, height: 360, codec: "h264", bitrate_kbps: 900, framerate: 30, file_size_bytes: 4_000_000, has_audio: true, audio_codec: "aac", rotation: 0 };

async function probeAs(send: ReturnType<typeof encoderFor>) {
  await send({ type: "task_started", stage: "import", task_id: null });
  await send({ type: "task_completed", stage: "import", task_id: null, output: null });
  await send({ type: "task_started", stage: "probe", task_id: null });
  await send({ type: "metadata", input_metadata: metadata });
  return send({ type: "task_completed", stage: "probe", task_id: null, output: null });
}

const facts = (outputId: string, main: string, extra: Record<string, unknown> = {}) => ({
  output_id: outputId,
  main,
  files: [{ path: main, content_type: "video/mp4", size_bytes: 500_000, sha256: "b".repeat(64) }],
  size_bytes: 500_000,
  duration_ms: 30_000,
  width: 640,
  height: 360,
  codec: "h264",
  sha256: "b".repeat(64),
  ...extra,
});

describe("delayed start", () => {
  it("probes only, waits with an estimate and nothing encoding, then runs the confirmed attempt in full", async () => {
    const { key } = await seedOrg();
    const created = await call("/v1/jobs", { key, body: videoJob({ delayed_start: true, priority: "premium", thumbnails: [{ count: 5, sprite: true, width: 160 }] }) });
    expect(created.json).toMatchObject({ total_estimated_cost: null, total_actual_cost: null, currency: "EUR" });
    const first = await orderNumber(created.json.id, 1);
    expect(first.probe_only).toBe(true);
    // The probe-only order still names every task, so the input is checked against all of them.
    expect(first.tasks.map((t) => t.spec.kind)).toEqual(["video", "thumbnail"]);
    expect(first.tasks[1]!.spec).toEqual({ kind: "thumbnail", format: "jpeg", width: 160, frames: { mode: "count", count: 5 }, sprite: {} });

    const send = encoderFor(first);
    expect((await probeAs(send)).directive).toBe("cancel");
    const waiting = (await call(`/v1/jobs/${created.json.id}`, { key })).json;
    expect(waiting.status).toBe("awaiting_confirmation");
    // (1 min × 0.004 sd h264 + 5 frames × 0.0002) × 2 for premium.
    expect(waiting.total_estimated_cost).toBe(0.01);
    expect(waiting.total_actual_cost).toBeNull();
    expect(waiting.execution.probe_duration_ms).toEqual(expect.any(Number));
    expect(waiting.execution.encode_duration_ms).toBeNull();
    for (const task of waiting.tasks.filter((t: { output_id: string | null }) => t.output_id)) expect(task).toMatchObject({ status: "waiting", started_at: null });
    expect(waiting.outputs.map((o: { status: string }) => o.status)).toEqual(["pending", "pending"]);

    // The paused attempt is over: its late events are refused, and no order follows until confirmation.
    expect((await send({ type: "task_started", stage: "encode", task_id: first.tasks[0]!.task_id })).status).toBe(409);
    await new Promise((r) => setTimeout(r, 300));
    expect(await ordersFor(created.json.id)).toHaveLength(1);
    expect((await call(`/v1/jobs/${created.json.id}`, { key })).json.tasks.find((t: { kind: string }) => t.kind === "video").status).toBe("waiting");

    const confirmed = await call(`/v1/jobs/${created.json.id}/confirm`, { key, method: "POST" });
    expect(confirmed.json).toMatchObject({ status: "processing", attempt: 2, total_estimated_cost: 0.01 });
    const second = await orderNumber(created.json.id, 2);
    expect(second).toMatchObject({ attempt: 2, probe_only: false });
    expect(second.tasks.map((t) => t.spec.kind)).toEqual(["video", "thumbnail"]);

    const send2 = encoderFor(second);
    expect((await probeAs(send2)).directive).toBe("continue");
    const [video, thumbs] = second.tasks;
    await send2({ type: "task_started", stage: "encode", task_id: video!.task_id });
    await send2({ type: "task_started", stage: "encode", task_id: thumbs!.task_id });
    await send2({ type: "task_completed", stage: "encode", task_id: video!.task_id, output: facts(video!.output_id, `${video!.output_id}.mp4`) });
    await send2({
      type: "task_completed",
      stage: "encode",
      task_id: thumbs!.task_id,
      output: facts(thumbs!.output_id, `${thumbs!.output_id}.storyboard.vtt`, { duration_ms: null, width: 800, height: 90, codec: "mjpeg", size_bytes: 20_000 }),
    });
    expect((await send2({ type: "job_completed" })).directive).toBe("cancel");

    const done = (await call(`/v1/jobs/${created.json.id}`, { key })).json;
    expect(done.status).toBe("completed");
    // Half a minute of video was made: (0.5 × 0.004 + 5 × 0.0002) × 2.
    expect(done.total_actual_cost).toBe(0.006);
    expect(done.execution.total_duration_ms).toBeGreaterThanOrEqual(0);
    expect(done.execution.encode_duration_ms).toEqual(expect.any(Number));
    expect(done.usage).toMatchObject({ video_minutes_in: 1, video_minutes_out: 0.5, gb_in: 0.004, gb_out: 0.00052 });
    expect(done.usage.tasks.map((t: { kind: string }) => t.kind)).toEqual(["probe", "import", "video", "thumbnail", "export"]);
    // A storyboard's URL is signed for its directory, so its sprite sheet resolves beside it.
    const storyboard = done.outputs[1].output_url as string;
    expect(storyboard).toContain("/storage/p/");
    expect(storyboard.endsWith(`${thumbs!.output_id}.storyboard.vtt`)).toBe(true);
  });

  it("cancels from awaiting_confirmation: no encoder call, no further order, outputs canceled, nothing charged", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob({ delayed_start: true }) })).json;
    await probeAs(encoderFor(await orderNumber(job.id, 1)));
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.status).toBe("awaiting_confirmation");
    const canceled = await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    expect(canceled.status).toBe(200);
    expect(canceled.json).toMatchObject({ status: "canceled", total_actual_cost: 0 });
    expect(canceled.json.total_estimated_cost).toBeGreaterThan(0);
    expect(canceled.json.outputs[0].status).toBe("canceled");
    expect(await cancelsFor(job.id)).toBe(0);
    const late = await call(`/v1/jobs/${job.id}/confirm`, { key, method: "POST" });
    expect(late.status).toBe(409);
    expect(late.json.error.code).toBe("invalid_state");
    await new Promise((r) => setTimeout(r, 300));
    expect(await ordersFor(job.id)).toHaveLength(1);
  });

  it("refuses confirm before the probe has finished and for a job without delayed start", async () => {
    const { key } = await seedOrg();
    const delayed = (await call("/v1/jobs", { key, body: videoJob({ delayed_start: true }) })).json;
    const early = await call(`/v1/jobs/${delayed.id}/confirm`, { key, method: "POST" });
    expect(early.status).toBe(409);
    expect(early.json.error).toMatchObject({ code: "invalid_state", details: { status: "pending" } });
    const plain = (await call("/v1/jobs", { key, body: videoJob() })).json;
    expect((await orderNumber(plain.id, 1)).probe_only).toBe(false);
    await probeAs(encoderFor(await orderNumber(plain.id, 1)));
    const refused = await call(`/v1/jobs/${plain.id}/confirm`, { key, method: "POST" });
    expect(refused.status).toBe(409);
    expect((await call(`/v1/jobs/${plain.id}`, { key })).json.status).toBe("processing");
  });
});
