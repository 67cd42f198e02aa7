import { describe, expect, it } from "vitest";
import { call, encoderFor, orderNumber, seedOrg } from "./helpers";

/*
 * Job-level clipping of outputs jobs against the real Worker (D1, the JobDO, the queue),
 * with the encoder double in place of the pool: the schema's rules, the spec and view,
 * the work order, the probe's range check, and costs and usage at the clip's length.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  tasks: { task_id: string; output_id: string; spec: Record<string, unknown> }[];
  clip?: { start_seconds: number; end_seconds: number };
}

const IN = "https://media.example.com/in.mp4";
const outputsJob = (extra: Record<string, unknown> = {}) => ({
  input: IN,
  outputs: [{ type: "mp4", video: [{ codec: "h264", resolution: "720p" }] }],
  ...extra,
});

/** A 1280×720, 10-minute input. */
const metadata = (durationMs = 600_000) => ({
  duration_ms: durationMs,
  width: 1280,
  height: 720,
  codec: "h264",
  bitrate_kbps: 2500,
  framerate: 30,
  file_size_bytes: 200_000_000,
  has_audio: true,
  audio_codec: "aac",
  rotation: 0,
});

async function create(key: string, body: Record<string, unknown>) {
  const res = await call("/v1/jobs", { key, body });
  return res;
}

async function issuesOf(key: string, body: Record<string, unknown>) {
  const res = await create(key, body);
  expect(res.status, res.text).toBe(400);
  return (res.json.error.details.issues as { path: string; message: string }[]).map((i) => [i.path, i.message]);
}

/** Plays the encoder up to the probe's metadata; returns the metadata's and the probe completion's directives. */
async function probe(order: Order, durationMs: number) {
  const send = encoderFor(order);
  await send({ type: "task_started", stage: "import", task_id: null });
  await send({ type: "task_completed", stage: "import", task_id: null, output: null });
  await send({ type: "task_started", stage: "probe", task_id: null });
  const onMetadata = await send({ type: "metadata", input_metadata: metadata(durationMs) });
  const onProbed = await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
  return { onMetadata, onProbed, send };
}

describe("clip in the native create schema", () => {
  it("accepts a clip on an outputs job, keeps it to 0.1 ms and shows it; {0, 0} is no clip", async () => {
    const { key } = await seedOrg();
    const clipped = await create(key, outputsJob({ clip: { start_seconds: 1.00004, end_seconds: 3.00006 } }));
    expect(clipped.status, clipped.text).toBe(201);
    expect(clipped.json.clip).toEqual({ start_seconds: 1, end_seconds: 3.0001 });
    expect((await call(`/v1/jobs/${clipped.json.id}`, { key })).json.clip).toEqual({ start_seconds: 1, end_seconds: 3.0001 });
    // The shortest clip is 1 ms.
    expect((await create(key, outputsJob({ clip: { start_seconds: 1, end_seconds: 1.001 } }))).status).toBe(201);
    expect((await create(key, outputsJob({ clip: { start_seconds: 0, end_seconds: 10_000_000 } }))).status).toBe(201);
    const none = await create(key, outputsJob({ clip: { start_seconds: 0, end_seconds: 0 } }));
    expect(none.status).toBe(201);
    expect(none.json.clip).toBeNull();
    expect((await create(key, outputsJob())).json.clip).toBeNull();
  });

  it("refuses each rule's breach, naming the field", async () => {
    const { key } = await seedOrg();
    const tooShort = "end_seconds must be at least 0.001 s after start_seconds ({0, 0} is no clip)";
    expect(await issuesOf(key, outputsJob({ clip: { start_seconds: 2, end_seconds: 1 } }))).toEqual([["clip.end_seconds", tooShort]]);
    expect(await issuesOf(key, outputsJob({ clip: { start_seconds: 2, end_seconds: 2 } }))).toEqual([["clip.end_seconds", tooShort]]);
    expect(await issuesOf(key, outputsJob({ clip: { start_seconds: 1, end_seconds: 1.0009 } }))).toEqual([["clip.end_seconds", tooShort]]);
    expect((await issuesOf(key, outputsJob({ clip: { start_seconds: -1, end_seconds: 2 } })))[0]![0]).toBe("clip.start_seconds");
    expect((await issuesOf(key, outputsJob({ clip: { start_seconds: 0, end_seconds: 10_000_001 } })))[0]![0]).toBe("clip.end_seconds");
    expect((await issuesOf(key, outputsJob({ clip: { start_seconds: "1", end_seconds: 2 } })))[0]![0]).toBe("clip.start_seconds");
    expect((await issuesOf(key, outputsJob({ clip: { start_seconds: 1 } })))[0]![0]).toBe("clip.end_seconds");
    expect((await issuesOf(key, outputsJob({ clip: { start_seconds: 1, end_seconds: 2, step: 1 } })))[0]![0]).toBe("clip");
  });

  it("refuses a clip on a kind job (it has options.start/end) and on a tool pipeline", async () => {
    const { key } = await seedOrg();
    const clip = { start_seconds: 1, end_seconds: 2 };
    expect(await issuesOf(key, { input: IN, kind: "video", options: { format: "mp4" }, clip })).toEqual([
      ["clip", "clip goes with outputs; a kind job trims with options.start and options.end"],
    ]);
    const tasks = [{ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "in.mp4", "out.mp4"] } }];
    expect(await issuesOf(key, { input: IN, tasks, clip })).toContainEqual(["clip", "clip goes with outputs; a tool pipeline trims with its own ffmpeg arguments"]);
  });

  it("documents clip on the Job in the OpenAPI document", async () => {
    const doc = (await call("/v1/openapi.json")).json;
    const job = doc.components.schemas.Job;
    expect(job.required).toContain("clip");
    expect(JSON.stringify(job.properties.clip)).toContain("start_seconds");
  });
});

describe("a clipped job's order, probe and costs", () => {
  it("carries the clip in the work order; a job without one sends none", async () => {
    const { key } = await seedOrg();
    const clipped = await create(key, outputsJob({ clip: { start_seconds: 60, end_seconds: 360 }, thumbnails: [{ interval: 60 }] }));
    const order = await orderNumber<Order>(clipped.json.id);
    expect(order.clip).toEqual({ start_seconds: 60, end_seconds: 360 });
    expect(order.tasks.map((t) => t.spec.kind)).toEqual(["output", "thumbnail"]);
    const plain = await create(key, outputsJob());
    expect(await orderNumber<Order>(plain.json.id)).not.toHaveProperty("clip");
  });

  it("fails the job at the probe with input_clip_out_of_range when the clip starts at or past the input's end", async () => {
    const { key } = await seedOrg();
    const created = await create(key, outputsJob({ clip: { start_seconds: 4, end_seconds: 6 } }));
    const order = await orderNumber<Order>(created.json.id);
    const { onMetadata, onProbed } = await probe(order, 4000);
    // The metadata's answer already stops the encoder; so does everything after it.
    expect(onMetadata).toEqual({ status: 200, directive: "cancel" });
    expect(onProbed.directive).toBe("cancel");
    const job = (await call(`/v1/jobs/${created.json.id}`, { key })).json;
    expect(job.status).toBe("failed");
    expect(job.error).toEqual({ code: "input_clip_out_of_range", message: expect.stringContaining("4 s") });
    expect(job.input_metadata.duration_ms).toBe(4000);
    expect(job.tasks.find((t: { kind: string }) => t.kind === "probe")).toMatchObject({ status: "failed", error: { code: "input_clip_out_of_range" } });
  });

  it("goes on with a clip inside the input, and with one whose end is past it (clamped)", async () => {
    const { key } = await seedOrg();
    for (const clip of [{ start_seconds: 1, end_seconds: 3.999 }, { start_seconds: 3.9, end_seconds: 60 }]) {
      const created = await create(key, outputsJob({ clip }));
      const { onMetadata, onProbed } = await probe(await orderNumber<Order>(created.json.id), 4000);
      expect([onMetadata.directive, onProbed.directive]).toEqual(["continue", "continue"]);
      expect((await call(`/v1/jobs/${created.json.id}`, { key })).json.status).toBe("processing");
    }
  });

  it("estimates and counts usage at the clip's length: a 5-minute clip of a 10-minute input costs what a 5-minute input does", async () => {
    const { key } = await seedOrg();
    const withThumbs = { thumbnails: [{ interval: 60 }] };
    const estimateOf = async (body: Record<string, unknown>, durationMs: number) => {
      const created = await create(key, outputsJob({ ...withThumbs, ...body }));
      await probe(await orderNumber<Order>(created.json.id), durationMs);
      return (await call(`/v1/jobs/${created.json.id}`, { key })).json;
    };
    const whole = await estimateOf({}, 300_000);
    const clipped = await estimateOf({ clip: { start_seconds: 60, end_seconds: 360 } }, 600_000);
    // An end past the input's counts to the input's end: 5 minutes again.
    const clamped = await estimateOf({ clip: { start_seconds: 300, end_seconds: 9_000 } }, 600_000);
    const unclipped = await estimateOf({}, 600_000);
    expect(whole.total_estimated_cost).toBeGreaterThan(0);
    expect(clipped.total_estimated_cost).toBe(whole.total_estimated_cost);
    expect(clamped.total_estimated_cost).toBe(whole.total_estimated_cost);
    expect(unclipped.total_estimated_cost).toBeGreaterThan(whole.total_estimated_cost);
    // Video minutes in are the clip's (what is decoded); the input's metadata stays the input's.
    expect(clipped.usage.video_minutes_in).toBe(5);
    expect(unclipped.usage.video_minutes_in).toBe(10);
    expect(clipped.input_metadata.duration_ms).toBe(600_000);
  });
});
