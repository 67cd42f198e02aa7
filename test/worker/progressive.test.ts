import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, encoderFor, eventsBeforeOutputs, orderNumber, seedOrg } from "./helpers";

/**
 * Packages published while they are encoded: the encoder's `output_playable` gives the
 * output its URL while the job is still processing (and `playable_at`), the Watch says
 * `playable` once every such package plays, and the growing playlists are served
 * uncached.
 */

interface Order {
  job_id: string;
  attempt: number;
  lease_token: string;
  tasks: { task_id: string; output_id: string; spec: { kind: string; type?: string } }[];
}
interface WatchMessage {
  event: string;
  job: { status: string; outputs: { id: string; status: string; output_url: string | null; playable_at: string | null }[] };
}

const input = "https://media.example.com/in.mp4";
const h264 = [{ codec: "h264" }];

/** Signs and stores `files` (path → text) as the encoder's publisher does, through the export signing route. */
async function store(order: Order, outputId: string, files: Record<string, string>) {
  const encoded = Object.entries(files).map(([path, text]) => ({ path, bytes: new TextEncoder().encode(text) }));
  const signed = await call(`/internal/jobs/${order.job_id}/sign`, {
    headers: { authorization: `Bearer ${order.lease_token}` },
    body: { job_id: order.job_id, attempt: order.attempt, files: encoded.map((f) => ({ output_id: outputId, path: f.path, content_type: "application/octet-stream", size_bytes: f.bytes.length })) },
  });
  expect(signed.status).toBe(200);
  for (const [i, f] of encoded.entries()) {
    const put = await exports.default.fetch(
      new Request(signed.json.uploads[i].url, { method: "PUT", body: f.bytes, headers: { "content-type": "application/octet-stream", "content-length": String(f.bytes.length) } }),
    );
    expect(put.status).toBe(201);
  }
}

const master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8\n";
const growing = (segments: number, end = false) =>
  ["#EXTM3U", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:" + (end ? "VOD" : "EVENT"), ...Array.from({ length: segments }, (_, i) => `#EXTINF:2.0,\nseg_00${i}.m4s`), ...(end ? ["#EXT-X-ENDLIST"] : []), ""].join("\n");

async function openWatch(key: string, jobId: string) {
  const res = await exports.default.fetch(new Request(`https://kiln.test/v1/jobs/${jobId}/watch`, { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } }));
  expect(res.status).toBe(101);
  const socket = res.webSocket!;
  const messages: WatchMessage[] = [];
  const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve()));
  socket.addEventListener("message", (e) => {
    messages.push(JSON.parse(e.data as string));
  });
  socket.accept();
  return { messages, closed };
}

/** The body as text, without workerd's warning about reading media types as text. */
const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(ok(), what).toBe(true);
};

describe("progressive publish", () => {
  it("an adaptive_video job plays while processing: output_url from output_playable, a playable Watch event, growing playlists uncached", async () => {
    const { key } = await seedOrg();
    const job = (await call("/v1/jobs", { key, body: { input, kind: "adaptive_video", options: { format: "hls" } } })).json;
    const order = await orderNumber<Order>(job.id);
    const task = order.tasks[0]!;
    const watch = await openWatch(key, job.id);
    const send = encoderFor(order);
    for (const event of eventsBeforeOutputs(order.tasks).slice(0, -1)) await send(event);

    const before = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(before.outputs[0]).toMatchObject({ status: "processing", output_url: null, playable_at: null });

    const main = `${task.output_id}/master.m3u8`;
    await store(order, task.output_id, { [`${task.output_id}/360p/seg_000.m4s`]: "segment 0", [`${task.output_id}/360p/index.m3u8`]: growing(1), [main]: master });
    expect((await send({ type: "output_playable", task_id: task.task_id, output_id: task.output_id, main })).status).toBe(200);

    const playing = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(playing.status).toBe("processing");
    expect(playing.outputs[0].status).toBe("processing");
    expect(Date.parse(playing.outputs[0].playable_at)).toBeGreaterThan(0);
    const url = playing.outputs[0].output_url as string;
    expect(url).toBeTruthy();
    const got = await exports.default.fetch(new Request(url));
    expect(await text(got)).toBe(master);
    // The master's URL reaches the package's other files, as a player resolves them.
    const variantUrl = new URL("360p/index.m3u8", url).toString();
    const first = await exports.default.fetch(new Request(variantUrl));
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    expect(await text(first)).toBe(growing(1));
    await until("a playable Watch event", () => watch.messages.some((m) => m.event === "playable"));
    const playable = watch.messages.find((m) => m.event === "playable")!;
    expect(playable.job.status).toBe("processing");
    expect(playable.job.outputs[0]!.output_url).toBeTruthy();

    // The playlist grows in place, and a player asking again gets the new one.
    await store(order, task.output_id, { [`${task.output_id}/360p/seg_001.m4s`]: "segment 1", [`${task.output_id}/360p/index.m3u8`]: growing(2) });
    expect(await text(await exports.default.fetch(new Request(variantUrl)))).toBe(growing(2));
    // Told once: the same event again changes nothing.
    await send({ type: "output_playable", task_id: task.task_id, output_id: task.output_id, main });

    await store(order, task.output_id, { [`${task.output_id}/360p/index.m3u8`]: growing(2, true) });
    const files = [main, `${task.output_id}/360p/index.m3u8`, `${task.output_id}/360p/seg_000.m4s`, `${task.output_id}/360p/seg_001.m4s`];
    const output = {
      output_id: task.output_id,
      main,
      files: files.map((path) => ({ path, content_type: "application/octet-stream", size_bytes: 10, sha256: "c".repeat(64) })),
      size_bytes: 40,
      duration_ms: 4000,
      width: 640,
      height: 360,
      codec: "h264",
      sha256: "c".repeat(64),
    };
    await send({ type: "task_completed", stage: "encode", task_id: task.task_id, output });
    await send({ type: "job_completed" });
    await watch.closed;

    const done = (await call(`/v1/jobs/${job.id}`, { key })).json;
    expect(done.status).toBe("completed");
    expect(done.outputs[0].playable_at).toBe(playing.outputs[0].playable_at);
    const names = watch.messages.map((m) => m.event);
    expect(names.filter((n) => n === "playable")).toHaveLength(1);
    expect(names.indexOf("playable")).toBeLessThan(names.indexOf("completed"));
  });

  it("says playable once every HLS package plays; an MP4 output is not waited for, and gets its URL at completion", async () => {
    const { key } = await seedOrg();
    const created = await call("/v1/jobs", { key, body: { input, outputs: [{ type: "hls", video: h264 }, { type: "adaptive", video: h264 }, { type: "mp4", video: h264 }] } });
    expect(created.status).toBe(201);
    const order = await orderNumber<Order>(created.json.id);
    const watch = await openWatch(key, created.json.id);
    const send = encoderFor(order);
    for (const event of eventsBeforeOutputs(order.tasks).slice(0, -1)) await send(event);
    const [hls, adaptive, mp4] = order.tasks;

    await store(order, hls!.output_id, { [`${hls!.output_id}/master.m3u8`]: master });
    await send({ type: "output_playable", task_id: hls!.task_id, output_id: hls!.output_id, main: `${hls!.output_id}/master.m3u8` });
    const half = (await call(`/v1/jobs/${created.json.id}`, { key })).json;
    expect(half.outputs.map((o: { output_url: string | null }) => o.output_url !== null)).toEqual([true, false, false]);
    // An event naming a task that does not make the output is ignored.
    await send({ type: "output_playable", task_id: mp4!.task_id, output_id: adaptive!.output_id, main: `${adaptive!.output_id}/master.m3u8` });
    expect((await call(`/v1/jobs/${created.json.id}`, { key })).json.outputs[1].playable_at).toBeNull();

    await store(order, adaptive!.output_id, { [`${adaptive!.output_id}/master.m3u8`]: master });
    await send({ type: "output_playable", task_id: adaptive!.task_id, output_id: adaptive!.output_id, main: `${adaptive!.output_id}/master.m3u8` });
    await until("a playable Watch event", () => watch.messages.some((m) => m.event === "playable"));
    const playable = watch.messages.filter((m) => m.event === "playable");
    expect(playable).toHaveLength(1);
    expect(playable[0]!.job.outputs.map((o) => o.playable_at !== null)).toEqual([true, true, false]);
    expect(playable[0]!.job.outputs[2]!.output_url).toBeNull();
  });
});
