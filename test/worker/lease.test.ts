import * as helpers from "./helpers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { derivedId } from "../../worker/ids";
import type { JobState } from "../../worker/jobs/job-state";
import { call, jobDO, seedOrg, videoJob, encoderFor, outputFacts as facts } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  input: { url: string };
  tasks: { task_id: string; output_id: string; spec: Record<string, unknown> }[];
  callback: { url: string; token: string };
  export: { sign_url: string; token: string };
}

const double = (path: string, init?: RequestInit) => fetch(`${env.ENCODER_URL}${path}`, init);
const ordersFor = (jobId: string) => helpers.ordersFor<Order>(jobId);
const orderNumber = (jobId: string, n: number, timeout?: number) => helpers.orderNumber<Order>(jobId, n, timeout);

function stateOf(jobId: string): Promise<JobState> {
  return runInDurableObject(jobDO(jobId), (_i, state) => JSON.parse(state.storage.sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = 'job'").one().body));
}


const metadata = { duration_ms: 3000, width: 640, height: 360, codec: "h264", bitrate_kbps: 900, framerate: 30, file_size_bytes: 400000, has_audio: true, audio_codec: "aac", rotation: 0 };

describe("dispatch to the encoder", () => {
  it("sends the current attempt's work order with URLs and a lease token", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const order = await orderNumber(job.id, 1);
    expect(order).toMatchObject({ job_id: job.id, attempt: 1, input: { url: "https://media.example.com/in.mp4" } });
    expect(order.lease_token).toMatch(/^[0-9a-f]{48}$/);
    expect(order.callback.url).toBe(`http://127.0.0.1:8787/internal/jobs/${job.id}/events`);
    expect(order.tasks).toEqual([{ task_id: job.tasks[2].id, output_id: job.outputs[0].id, spec: { kind: "video", format: "mp4", codec: "h264", quality: "high", width: 640 } }]);
  });

  it("retries the message when the encoder answers 429, then dispatches once", async () => {
    const { orgId, key } = await seedOrg();
    const idempotencyKey = `busy-${crypto.randomUUID()}`;
    // An idempotency key names the job, so the encoder can be told about it in advance.
    const jobId = await derivedId("job", `${orgId}\n${idempotencyKey}`);
    await double("/control", { method: "POST", body: JSON.stringify({ job_id: jobId, busy: 2 }) });
    const created = await call("/v1/jobs", { key, body: videoJob({ idempotency_key: idempotencyKey }) });
    expect(created.json.id).toBe(jobId);
    // Two 429s: a standard job asks again after 3 s, then 6 s (busyRetryDelaySeconds).
    const order = await orderNumber(jobId, 1, 25_000);
    expect(order.attempt).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await ordersFor(jobId)).toHaveLength(1);
    expect((await stateOf(jobId)).dispatched_attempt).toBe(1);
  }, 40_000);

  it("sends a tool pipeline to the tools engine as its planned steps", async () => {
    const { key } = await seedOrg();
    const secret = await call("/v1/secrets", { key, body: { name: "out-keys", credentials: S3_TEST_CREDENTIALS, endpoint: env.TEST_ONLY_ALLOWED_S3_ENDPOINT } });
    expect(secret.status, secret.text).toBe(201);
    const tasks = [
      { tool: "storage:get", parameters: { location: "https://x.example.com/in/", files: ["a.mp4"] } },
      { tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "a.mp4", "b.mp4"] } },
      { tool: "storage:put", parameters: { location: "s3://{out-keys}@bucket/out/", files: ["b.mp4"] } },
    ];
    const job = (await call("/v1/jobs", { key, body: { tasks } })).json;
    const order = await helpers.orderNumber<Record<string, unknown>>(job.id, 1);
    expect(order).toMatchObject({ job_id: job.id, attempt: 1, engine: "tools" });
    expect(order.steps).toEqual([
      { tool: "storage:get", task_id: job.tasks[0].id, files: [{ name: "a.mp4", url: "https://x.example.com/in/a.mp4" }] },
      { tool: "ffmpeg:cmd", task_id: job.tasks[1].id, arguments: ["-i", "a.mp4", "b.mp4"], outputdir: "out", ignore_decoding_errors: false },
      { tool: "storage:put", task_id: job.tasks[2].id, files: [{ name: "b.mp4", output_id: job.outputs[0].id }] },
    ]);
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.status).toBe("pending");
  });

  it("sends an outputs job as one task per output, variants and subtitle URLs included", async () => {
    const { key } = await seedOrg();
    const outputs = [
      {
        type: "hls",
        video: [{ codec: "h264", resolution: "720p" }, { codec: "h264", height: 240, quality: "economy" }],
        audio: [{ codec: "aac", bitrate: 96, language: "en" }],
        segments: { duration: 4 },
        subtitle_tracks: [{ source: "https://media.example.com/en.vtt", language: "en", label: "English" }],
        path_template: "{job_id}/{output_id}",
      },
      { preset: "web_720p_standard", type: "mkv" },
    ];
    const job = (await call("/v1/jobs", { key, body: { input: "https://media.example.com/in.mp4", outputs } })).json;
    const order = await orderNumber(job.id, 1);
    const encodes = job.tasks.filter((t: { kind: string }) => t.kind === "encode");
    expect(order.tasks).toEqual([
      {
        task_id: encodes[0].id,
        output_id: job.outputs[0].id,
        spec: {
          kind: "output",
          type: "hls",
          video: outputs[0]!.video,
          audio: outputs[0]!.audio,
          segments: { duration: 4 },
          subtitles: [{ url: "https://media.example.com/en.vtt", language: "en", label: "English" }],
        },
      },
      {
        task_id: encodes[1].id,
        output_id: job.outputs[1].id,
        spec: { kind: "output", type: "mkv", video: [{ codec: "h264", resolution: "720p", quality: "standard" }], audio: [{ codec: "aac", bitrate: 128 }] },
      },
    ]);
  });
});

describe("encoder events", () => {
  it("drive the job from pending to completed with verified outputs", async () => {
    const { key } = await seedOrg();
    // A private receiver: in production mode the delivery is recorded and refused, never sent.
    const job = (await call("/v1/jobs", { key, body: videoJob({ webhook_url: "http://10.0.0.1/hook" }) })).json;
    const order = await orderNumber(job.id, 1);
    const send = encoderFor(order);
    const get = async () => (await call(`/v1/jobs/${job.id}`, { key })).json;
    const encodeTask = order.tasks[0]!.task_id;

    expect(await send({ type: "task_started", stage: "import", task_id: null })).toEqual({ status: 200, directive: "continue" });
    expect((await get()).status).toBe("probing");
    await send({ type: "task_completed", stage: "import", task_id: null, output: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    await send({ type: "metadata", input_metadata: metadata });
    await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
    let view = await get();
    expect(view.status).toBe("processing");
    expect(view.input_metadata).toEqual(metadata);
    expect(view.probed_at).not.toBeNull();
    await send({ type: "task_started", stage: "encode", task_id: encodeTask });
    await send({ type: "progress", stage: "encode", task_id: encodeTask, task_progress: 50, job_progress: 52 });
    view = await get();
    expect(view.progress).toBe(52);
    expect(view.current_stage).toBe("encode");
    expect(view.tasks.find((t: { id: string }) => t.id === encodeTask)).toMatchObject({ status: "running", progress: 50 });
    await send({ type: "task_started", stage: "export", task_id: null });
    await send({ type: "task_completed", stage: "encode", task_id: encodeTask, output: facts(order.tasks[0]!.output_id) });
    await send({ type: "task_completed", stage: "export", task_id: null, output: null });
    expect(await send({ type: "job_completed" })).toEqual({ status: 200, directive: "cancel" });

    view = await get();
    expect(view.status).toBe("completed");
    expect(view.progress).toBe(100);
    expect(view.tasks.every((t: { status: string }) => t.status === "completed")).toBe(true);
    expect(view.outputs[0]).toMatchObject({ status: "completed", file_size_bytes: 12345, facts: { width: 640, height: 360, codec: "h264", duration_ms: 3000, files: 1 } });
    expect(view.outputs[0]).not.toHaveProperty("main_key");
    const row = await env.DB.prepare("SELECT status, progress FROM jobs WHERE id = ?").bind(job.id).first();
    expect(row).toEqual({ status: "completed", progress: 100 });
    const deliveries = await env.DB.prepare("SELECT event_type FROM webhook_deliveries WHERE job_id = ?").bind(job.id).all();
    expect(deliveries.results).toEqual([{ event_type: "job.completed" }]);
  });

  it("take an input read while it arrives: the import ends after the encode has started", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const order = await orderNumber(job.id, 1);
    const send = encoderFor(order);
    const get = async () => (await call(`/v1/jobs/${job.id}`, { key })).json;
    const encodeTask = order.tasks[0]!.task_id;
    await send({ type: "task_started", stage: "import", task_id: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    await send({ type: "metadata", input_metadata: metadata });
    await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
    await send({ type: "task_started", stage: "encode", task_id: encodeTask });
    await send({ type: "progress", stage: "encode", task_id: encodeTask, task_progress: 30, job_progress: 36 });
    let view = await get();
    expect(view).toMatchObject({ status: "processing", current_stage: "encode" });
    expect(view.tasks.find((t: { kind: string }) => t.kind === "import")).toMatchObject({ status: "running" });

    await send({ type: "task_completed", stage: "import", task_id: null, output: null });
    view = await get();
    expect(view).toMatchObject({ status: "processing", current_stage: "encode", progress: 36 });
    const importTask = view.tasks.find((t: { kind: string }) => t.kind === "import");
    expect(importTask.status).toBe("completed");
    expect(Date.parse(importTask.finished_at)).toBeGreaterThanOrEqual(Date.parse(view.tasks.find((t: { id: string }) => t.id === encodeTask).started_at));

    await send({ type: "task_started", stage: "export", task_id: null });
    await send({ type: "task_completed", stage: "encode", task_id: encodeTask, output: facts(order.tasks[0]!.output_id) });
    await send({ type: "task_completed", stage: "export", task_id: null, output: null });
    await send({ type: "job_completed" });
    view = await get();
    expect(view.status).toBe("completed");
    expect(view.tasks.every((t: { status: string }) => t.status === "completed")).toBe(true);
  });

  it("refuses events with a wrong token or from another attempt, and applies a redelivered event once", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const order = await orderNumber(job.id, 1);
    const send = encoderFor(order);
    expect(await send({ type: "heartbeat", job_progress: 0 }, "f".repeat(48))).toEqual({ status: 409, directive: "cancel" });
    expect(await send({ type: "heartbeat", job_progress: 0 }, order.lease_token, 2)).toEqual({ status: 409, directive: "cancel" });
    const noToken = await call(`/internal/jobs/${job.id}/events`, { body: { type: "heartbeat" } });
    expect(noToken.status).toBe(401);
    const malformed = await call(`/internal/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${order.lease_token}` }, body: { type: "nonsense" } });
    expect(malformed.status).toBe(400);

    const event = { v: 1, job_id: job.id, attempt: 1, seq: 5, at: new Date().toISOString(), type: "progress", stage: "encode", task_id: null, task_progress: 10, job_progress: 30 };
    const post = (body: unknown) => call(`/internal/jobs/${job.id}/events`, { headers: { authorization: `Bearer ${order.lease_token}` }, body });
    await post(event);
    await post({ ...event, seq: 6, job_progress: 40 });
    await post({ ...event, seq: 5, job_progress: 90 }); // a late redelivery of seq 5
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.progress).toBe(40);
  });

  it("fails the job with the encoder's code when the input is bad", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const send = encoderFor(await orderNumber(job.id, 1));
    await send({ type: "task_started", stage: "import", task_id: null });
    await send({ type: "task_completed", stage: "import", task_id: null, output: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    expect(await send({ type: "task_failed", stage: "probe", task_id: null, error: { code: "input_unreadable", message: "not media" } })).toEqual({ status: 200, directive: "cancel" });
    const view = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(view).toMatchObject({ status: "failed", error: { code: "input_unreadable", message: "not media" } });
    expect(view.tasks.find((t: { kind: string }) => t.kind === "probe")).toMatchObject({ status: "failed", error: { code: "input_unreadable" } });
  });
});

describe("webhooks on transitions", () => {
  it("delivers every status change when the job asks for job.status_changed", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob({ webhook_url: "http://10.0.0.1/hook", webhook_events: ["job.status_changed", "job.canceled"] }) })).json;
    const send = encoderFor(await orderNumber(job.id, 1));
    await send({ type: "task_started", stage: "import", task_id: null });
    await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    await vi.waitFor(async () => {
      const rows = await env.DB.prepare("SELECT event_type FROM webhook_deliveries WHERE job_id = ? ORDER BY rowid").bind(job.id).all();
      expect(rows.results.map((r) => r.event_type)).toEqual(["job.status_changed", "job.status_changed", "job.canceled"]);
    }, { timeout: 5000, interval: 50 });
  });

  it("refuses webhook_events without a webhook_url", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body: videoJob({ webhook_events: ["job.completed"] }) });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("validation_error");
  });
});

describe("cancel", () => {
  it("reaches the running encoder directly and through the directive", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const send = encoderFor(await orderNumber(job.id, 1));
    await send({ type: "task_started", stage: "import", task_id: null });
    const res = await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    expect(res.json.status).toBe("canceled");
    const cancels = (await (await double(`/cancels/${job.id}`)).json()) as { count: number };
    expect(cancels.count).toBe(1);
    // If that call had been lost, the encoder's next event stops it.
    expect((await send({ type: "heartbeat", job_progress: 5 })).directive).toBe("cancel");
  });
});

describe("the lease watchdog (alarm, fake time)", () => {
  /** Moves the lease's deadline into the past, then fires the alarm as the clock would. */
  async function expireLease(jobId: string) {
    await runInDurableObject(jobDO(jobId), (instance) => {
      (instance as unknown as { job: JobState }).job.lease!.expires_at = Date.now() - 1;
    });
    expect(await runDurableObjectAlarm(jobDO(jobId))).toBe(true);
  }

  it("re-dispatches a silent attempt as the next one and ignores the old attempt", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const first = await orderNumber(job.id, 1);
    const sendOld = encoderFor(first);
    await sendOld({ type: "task_started", stage: "import", task_id: null });
    await sendOld({ type: "task_completed", stage: "import", task_id: null, output: null });
    await sendOld({ type: "task_started", stage: "probe", task_id: null });
    await sendOld({ type: "task_completed", stage: "probe", task_id: null, output: null });
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.status).toBe("processing");

    await expireLease(job.id);
    expect((await call(`/v1/jobs/${job.id}`, { key })).json).toMatchObject({ status: "pending", attempt: 2 });
    const second = await orderNumber(job.id, 2);
    expect(second.attempt).toBe(2);
    expect(second.lease_token).not.toBe(first.lease_token);
    expect((await sendOld({ type: "heartbeat", job_progress: 50 })).status).toBe(409);
    const send = encoderFor(second);
    expect((await send({ type: "task_started", stage: "import", task_id: null })).directive).toBe("continue");
  });

  it("fails the job with encoder_lost after MAX_ATTEMPTS lost attempts", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const order = await orderNumber(job.id, attempt);
      expect(order.attempt).toBe(attempt);
      await expireLease(job.id);
    }
    const view = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(view).toMatchObject({ status: "failed", error: { code: "encoder_lost" } });
    expect(await ordersFor(job.id)).toHaveLength(3);
    const state = await stateOf(job.id);
    expect(state.lost_attempts).toBe(3);
  });
});

describe("delayed start", () => {
  it("stops after probing, waits for confirmation, then dispatches a fresh attempt", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob({ delayed_start: true }) })).json;
    const send = encoderFor(await orderNumber(job.id, 1));
    await send({ type: "task_started", stage: "import", task_id: null });
    await send({ type: "task_completed", stage: "import", task_id: null, output: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    await send({ type: "metadata", input_metadata: metadata });
    expect((await send({ type: "task_completed", stage: "probe", task_id: null, output: null })).directive).toBe("cancel");
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.status).toBe("awaiting_confirmation");
    const confirmed = await call(`/v1/jobs/${job.id}/confirm`, { key, method: "POST" });
    expect(confirmed.json).toMatchObject({ status: "processing", attempt: 2 });
    expect(confirmed.json.confirmed_at).not.toBeNull();
    const second = await orderNumber(job.id, 2);
    const send2 = encoderFor(second);
    await send2({ type: "task_started", stage: "import", task_id: null });
    expect((await send2({ type: "task_completed", stage: "probe", task_id: null, output: null })).directive).toBe("continue");
    expect((await call(`/v1/jobs/${job.id}`, { key })).json.status).toBe("processing");
  });
});

describe("encoder events for an outputs job", () => {
  it("one shared run's progress moves every output; some outputs failing ends the job partial, with playlist and manifest URLs", async () => {
    const { key } = await seedOrg();
    const body = {
      input: "https://media.example.com/in.mp4",
      outputs: [
        { type: "adaptive", video: [{ codec: "h264", height: 360 }] },
        { type: "hls", video: [{ codec: "h264", height: 360 }] },
        { type: "mp4", video: [{ codec: "h264" }] },
      ],
    };
    const job = (await call("/v1/jobs", { key, body })).json;
    const order = await orderNumber(job.id, 1);
    const send = encoderFor(order);
    const get = async () => (await call(`/v1/jobs/${job.id}`, { key })).json;
    const [adaptive, hls, mp4] = order.tasks;

    await send({ type: "task_started", stage: "import", task_id: null });
    await send({ type: "task_completed", stage: "import", task_id: null, output: null });
    await send({ type: "task_started", stage: "probe", task_id: null });
    await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
    for (const t of order.tasks) await send({ type: "task_started", stage: "encode", task_id: t.task_id });
    let view = await get();
    expect(view.outputs.map((o: { status: string }) => o.status)).toEqual(["processing", "processing", "processing"]);
    await send({ type: "progress", stage: "encode", task_id: null, task_progress: 40, job_progress: 44 });
    view = await get();
    expect(view.tasks.filter((t: { kind: string }) => t.kind === "encode").map((t: { progress: number }) => t.progress)).toEqual([40, 40, 40]);

    await send({ type: "task_failed", stage: "encode", task_id: hls!.task_id, error: { code: "input_unreachable", message: "subtitle track 1 (en): 404" } });
    await send({ type: "task_started", stage: "export", task_id: null });
    const dir = adaptive!.output_id;
    const file = (path: string, type: string) => ({ path, content_type: type, size_bytes: 10, sha256: "b".repeat(64) });
    await send({
      type: "task_completed",
      stage: "encode",
      task_id: adaptive!.task_id,
      output: {
        ...facts(dir),
        main: `${dir}/master.m3u8`,
        manifest: `${dir}/manifest.mpd`,
        files: [file(`${dir}/master.m3u8`, "application/vnd.apple.mpegurl"), file(`${dir}/manifest.mpd`, "application/dash+xml"), file(`${dir}/seg_0_00001.m4s`, "video/iso.segment")],
      },
    });
    await send({ type: "task_completed", stage: "encode", task_id: mp4!.task_id, output: facts(mp4!.output_id) });
    await send({ type: "task_completed", stage: "export", task_id: null, output: null });
    await send({ type: "job_completed" });

    view = await get();
    expect(view.status).toBe("partial");
    const [a, h, m] = view.outputs;
    expect(a).toMatchObject({ status: "completed", facts: { files: 3 } });
    expect(a.output_url).toMatch(/\/master\.m3u8$/);
    expect(a.manifest_url).toMatch(/\/manifest\.mpd$/);
    // Both are signed for the package's directory, so every segment they name is reachable.
    expect(a.output_url.replace(/master\.m3u8$/, "")).toBe(a.manifest_url.replace(/manifest\.mpd$/, ""));
    expect(a).not.toHaveProperty("manifest_key");
    expect(h).toMatchObject({ status: "failed", output_url: null, manifest_url: null, error: { code: "input_unreachable" } });
    expect(m).toMatchObject({ status: "completed", manifest_url: null });
    expect(m.output_url).toMatch(/\.mp4/);
  });
});
