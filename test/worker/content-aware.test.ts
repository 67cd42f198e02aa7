import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, encoderFor, eventsBeforeOutputs, orderNumber, seedOrg } from "./helpers";

/**
 * Content-aware outputs in the Worker: the request's `content_aware` reaches the
 * encoder on that output's task only, and the per-title decision the encoder reports
 * with the output's facts is recorded on the output and shown by GET /v1/jobs/:id.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  tasks: { task_id: string; output_id: string; spec: Record<string, unknown> }[];
}

const firstOrder = (jobId: string) => orderNumber<Order>(jobId);

const file = (path: string, type: string) => ({ path, content_type: type, size_bytes: 10, sha256: "b".repeat(64) });
const facts = (outputId: string, main: string, files: ReturnType<typeof file>[]) => ({
  output_id: outputId,
  main,
  files,
  size_bytes: 10 * files.length,
  duration_ms: 3000,
  width: 640,
  height: 360,
  codec: "h264",
  sha256: "a".repeat(64),
});
const decision = {
  mode: "per_title",
  complexity: 12,
  bits_per_pixel: 0.0123,
  probe_ms: 640,
  variants: [
    { name: "h264_360p", codec: "h264", width: 640, height: 360, crf: 26, maxrate_kbps: 530, adjusted: true },
    { name: "h264_240p", codec: "h264", width: 426, height: 240, crf: 26, maxrate_kbps: 265, adjusted: true },
  ],
};

describe("content-aware outputs", () => {
  it("pass content_aware to the encoder and record the reported decision on the output", async () => {
    const { key } = await seedOrg();
    const body = {
      input: "https://media.example.com/in.mp4",
      outputs: [
        { type: "hls", video: [{ codec: "h264", height: 360 }, { codec: "h264", height: 240 }], content_aware: { mode: "per_title" } },
        { type: "mp4", video: [{ codec: "h264" }] },
      ],
    };
    const created = await call("/v1/jobs", { key, body });
    expect(created.status, created.text).toBe(201);
    const job = created.json;
    expect(job.outputs.map((o: { spec: { content_aware?: unknown }; content_aware: unknown }) => [o.spec.content_aware ?? null, o.content_aware])).toEqual([
      [{ mode: "per_title" }, null],
      [null, null],
    ]);

    const order = await firstOrder(job.id);
    const [hls, mp4] = order.tasks;
    expect(hls!.spec).toMatchObject({ kind: "output", type: "hls", content_aware: { mode: "per_title" } });
    expect(mp4!.spec).not.toHaveProperty("content_aware");

    const send = encoderFor(order);
    for (const event of eventsBeforeOutputs(order.tasks)) expect((await send(event)).status).toBe(200);
    const dir = hls!.output_id;
    const hlsFacts = facts(dir, `${dir}/master.m3u8`, [file(`${dir}/master.m3u8`, "application/vnd.apple.mpegurl"), file(`${dir}/h264_360p/seg_000.m4s`, "video/iso.segment")]);
    expect((await send({ type: "task_completed", stage: "encode", task_id: hls!.task_id, output: { ...hlsFacts, content_aware: decision } })).status).toBe(200);
    const mp4Facts = facts(mp4!.output_id, `${mp4!.output_id}.mp4`, [file(`${mp4!.output_id}.mp4`, "video/mp4")]);
    expect((await send({ type: "task_completed", stage: "encode", task_id: mp4!.task_id, output: mp4Facts })).status).toBe(200);
    expect((await send({ type: "task_completed", stage: "export", task_id: null, output: null })).status).toBe(200);
    expect((await send({ type: "job_completed" })).status).toBe(200);

    const view = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(view.status).toBe("completed");
    const [hlsOut, mp4Out] = view.outputs;
    expect(hlsOut).toMatchObject({ status: "completed", content_aware: decision, facts: { files: 2 } });
    expect(mp4Out).toMatchObject({ status: "completed", content_aware: null });

    // A restart encodes again: the old decision is not shown as the new attempt's.
    expect((await call(`/v1/jobs/${job.id}/restart`, { key, method: "POST" })).status).toBe(200);
    const restarted = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(restarted.outputs.map((o: { status: string; content_aware: unknown }) => [o.status, o.content_aware])).toEqual([
      ["pending", null],
      ["pending", null],
    ]);
  });

  it("refuses a decision that breaks the contract, without recording anything", async () => {
    const { key } = await seedOrg();
    const body = { input: "https://media.example.com/in.mp4", outputs: [{ type: "mp4", video: [{ codec: "h264" }], content_aware: { mode: "per_title" } }] };
    const job = (await call("/v1/jobs", { key, body })).json;
    const order = await firstOrder(job.id);
    const [task] = order.tasks;
    const send = encoderFor(order);
    const output = { ...facts(task!.output_id, `${task!.output_id}.mp4`, [file(`${task!.output_id}.mp4`, "video/mp4")]), content_aware: { ...decision, complexity: 101 } };
    expect((await send({ type: "task_completed", stage: "encode", task_id: task!.task_id, output })).status).toBe(400);
    const view = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(view.outputs[0]).toMatchObject({ status: "pending", content_aware: null, facts: null });
  });
});
