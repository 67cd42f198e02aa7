import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { call, jobDO, seedOrg, videoJob, orderNumber } from "./helpers";

interface Order {
  job_id: string;
  lease_token: string;
  tasks: { task_id: string; output_id: string }[];
}
interface WatchMessage {
  event: string;
  job: { id: string; status: string; progress: number; outputs: { output_url: string | null }[] };
  server_time: string;
}

const firstOrder = (jobId: string) => orderNumber<Order>(jobId);

function encoderFor(order: Order) {
  let seq = 0;
  return (body: Record<string, unknown>) =>
    call(`/internal/jobs/${order.job_id}/events`, {
      headers: { authorization: `Bearer ${order.lease_token}` },
      body: { v: 1, job_id: order.job_id, attempt: 1, seq: seq++, at: new Date().toISOString(), ...body },
    });
}

/** Runs a job through to completion the way the encoder would, uploading its output. */
async function runToCompletion(order: Order, pauseMs = 0) {
  const send = encoderFor(order);
  const task = order.tasks[0]!;
  const pause = () => new Promise((r) => setTimeout(r, pauseMs));
  await send({ type: "task_started", stage: "import", task_id: null });
  await send({ type: "task_completed", stage: "import", task_id: null, output: null });
  await send({ type: "task_started", stage: "probe", task_id: null });
  await send({ type: "task_completed", stage: "probe", task_id: null, output: null });
  await send({ type: "task_started", stage: "encode", task_id: task.task_id });
  for (const p of [20, 40, 60, 80]) {
    await send({ type: "progress", stage: "encode", task_id: task.task_id, task_progress: p, job_progress: p });
    await pause();
  }
  const bytes = new TextEncoder().encode("not really an mp4, but bytes the storage must keep exactly");
  const sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const path = `${task.output_id}.mp4`;
  const signed = await call(`/internal/jobs/${order.job_id}/sign`, {
    headers: { authorization: `Bearer ${order.lease_token}` },
    body: { job_id: order.job_id, attempt: 1, files: [{ output_id: task.output_id, path, content_type: "video/mp4", size_bytes: bytes.length }] },
  });
  expect(signed.status).toBe(200);
  const put = await exports.default.fetch(new Request(signed.json.uploads[0].url, { method: "PUT", body: bytes, headers: { "content-type": "video/mp4", "content-length": String(bytes.length) } }));
  expect(put.status).toBe(201);
  const file = { path, content_type: "video/mp4", size_bytes: bytes.length, sha256: sha };
  await send({ type: "task_completed", stage: "encode", task_id: task.task_id, output: { output_id: task.output_id, main: path, files: [file], size_bytes: bytes.length, duration_ms: 1000, width: 64, height: 64, codec: "h264", sha256: sha } });
  await send({ type: "job_completed" });
  return bytes;
}

describe("Watch over a WebSocket", () => {
  it("sends snapshot → progress → status_change → completed with monotonic progress, then closes", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const order = await firstOrder(job.id);
    const res = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } }));
    expect(res.status).toBe(101);
    const socket = res.webSocket!;
    const messages: WatchMessage[] = [];
    const closed = new Promise<number>((resolve) => socket.addEventListener("close", (e) => resolve(e.code)));
    socket.addEventListener("message", (e) => messages.push(JSON.parse(e.data as string)));
    socket.accept();

    const uploaded = await runToCompletion(order, 250);
    expect(await closed).toBe(1000);
    const names = messages.map((m) => m.event);
    expect(names[0]).toBe("snapshot");
    expect(names).toContain("progress");
    expect(names).toContain("status_change");
    expect(names.at(-1)).toBe("completed");
    const progress = messages.map((m) => m.job.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    for (const m of messages) expect(new Date(m.server_time).getTime()).toBeGreaterThan(0);
    const last = messages.at(-1)!;
    expect(last.job.status).toBe("completed");

    // The completed event carries a signed URL that serves the stored bytes.
    const download = await exports.default.fetch(new Request(last.job.outputs[0]!.output_url!));
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(uploaded);
  });

  it("still sends the progress a job made when it ends inside the progress debounce", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const order = await firstOrder(job.id);
    const res = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } }));
    const socket = res.webSocket!;
    const messages: WatchMessage[] = [];
    const closed = new Promise<number>((resolve) => socket.addEventListener("close", (e) => resolve(e.code)));
    socket.addEventListener("message", (e) => messages.push(JSON.parse(e.data as string)));
    socket.accept();

    await runToCompletion(order);
    expect(await closed).toBe(1000);
    const names = messages.map((m) => m.event);
    const shown = messages.filter((m) => m.event === "progress");
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.at(-1)!.job.progress).toBe(80);
    expect(names.indexOf("progress")).toBeLessThan(names.lastIndexOf("status_change"));
    const progress = messages.map((m) => m.job.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("accepts a short-lived watch token instead of a key, for browsers, and only for its job", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const other = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const minted = await call(`/v1/jobs/${job.id}/watch-token`, { key, method: "POST" });
    expect(minted.status).toBe(201);
    expect(minted.json.watch_url).toContain(`/v1/jobs/${job.id}/watch?token=`);
    expect(new Date(minted.json.expires_at).getTime() - Date.now()).toBeLessThanOrEqual(300_000);
    const token = encodeURIComponent(minted.json.token);
    const ok = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch?token=${token}`, { headers: { upgrade: "websocket" } }));
    expect(ok.status).toBe(101);
    ok.webSocket!.accept();
    ok.webSocket!.close();
    const wrongJob = await call(`/v1/jobs/${other.id}/watch?token=${token}`, { headers: { upgrade: "websocket" } });
    expect(wrongJob.status).toBe(401);
    expect(wrongJob.json.error.code).toBe("token_invalid");
    const tampered = await call(`/v1/jobs/${job.id}/watch?token=${token.slice(0, -3)}abc`, { headers: { upgrade: "websocket" } });
    expect(tampered.status).toBe(401);
  });
});

describe("Watch as NDJSON", () => {
  it("streams the same events as lines of JSON and ends after completed", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const order = await firstOrder(job.id);
    const res = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { authorization: `Bearer ${key}` } }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const text = res.text();
    await runToCompletion(order, 250);
    const lines = (await text).trim().split("\n").map((l) => JSON.parse(l) as WatchMessage);
    expect(lines[0]!.event).toBe("snapshot");
    expect(lines.at(-1)!.event).toBe("completed");
    expect(lines.some((l) => l.event === "progress")).toBe(true);
  });

  it("answers a finished job with snapshot and completed at once", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    await call(`/v1/jobs/${job.id}/cancel`, { key, method: "POST" });
    const res = await call(`/v1/jobs/${job.id}/watch`, { key });
    const lines = res.text.trim().split("\n").map((l) => JSON.parse(l) as WatchMessage);
    expect(lines.map((l) => l.event)).toEqual(["snapshot", "completed"]);
    expect(lines[1]!.job.status).toBe("canceled");
  });

  it("is a 404 for another org's job", async () => {
    const a = await seedOrg();
    const b = await seedOrg();
    const job = (await call("/v1/jobs", { key: a.key, body: videoJob() })).json;
    expect((await call(`/v1/jobs/${job.id}/watch`, { key: b.key })).status).toBe(404);
    expect((await call(`/v1/jobs/${job.id}/watch-token`, { key: b.key, method: "POST" })).status).toBe(404);
  });
});

describe("Watch heartbeats", () => {
  it("sends a heartbeat when the DO's alarm fires while a watcher is connected", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    await firstOrder(job.id);
    const res = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } }));
    const socket = res.webSocket!;
    const messages: WatchMessage[] = [];
    socket.addEventListener("message", (e) => messages.push(JSON.parse(e.data as string)));
    socket.accept();
    const stub = jobDO(job.id);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await vi.waitFor(() => expect(messages.map((m) => m.event)).toEqual(["snapshot", "heartbeat"]), { timeout: 3000, interval: 20 });
    expect(messages[1]!.job.id).toBe(job.id);
    socket.close();
  });
});

describe("Watch events are news only", () => {
  it("sends progress without a status_change when the status did not change", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: videoJob() })).json;
    const order = await firstOrder(job.id);
    const send = encoderFor(order);
    await send({ type: "task_started", stage: "import", task_id: null });
    const res = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${job.id}/watch`, { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } }));
    const socket = res.webSocket!;
    const messages: WatchMessage[] = [];
    socket.addEventListener("message", (e) => messages.push(JSON.parse(e.data as string)));
    socket.accept();
    await send({ type: "progress", stage: "import", task_id: null, task_progress: 50, job_progress: 5 });
    await vi.waitFor(() => expect(messages.map((m) => m.event)).toEqual(["snapshot", "progress"]), { timeout: 3000, interval: 20 });
    await new Promise((r) => setTimeout(r, 300));
    expect(messages.map((m) => m.event)).toEqual(["snapshot", "progress"]);
    expect(messages[1]!.job.progress).toBe(5);
    socket.close();
  });
});
