import { mkdtempSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type CreateJobRequest, type Fetch, FileResumeStore, Kiln, KilnError, type WatchEvent, WebhookVerificationError, verifyWebhook } from "../../sdk/src/index";
import { clipPath } from "../encoder/clips";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type S3Server, startS3Server } from "../worker/s3-server";
import { type E2EStack, bootStack, ffprobeJson, r2Objects, serveFiles, until, webhookReceiver } from "./harness";

/*
 * The TypeScript SDK (sdk/) against the whole local stack: a job created, followed with
 * `for await` over the WebSocket and the NDJSON stream at once, its file and packages
 * downloaded and ffprobed, its webhook verified; typed errors; a tus upload stopped and
 * resumed; every other resource; and 250 jobs paged through. The paging test stops the
 * encoder (so its jobs wait cheaply), so it and the create retries come last.
 */
let stack: E2EStack;
let s3: S3Server;
let media: Awaited<ReturnType<typeof serveFiles>>;
let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
let kiln: Kiln;
const BUCKET = "kiln-sdk";
const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-sdk-"));

beforeAll(async () => {
  [stack, s3, hooks] = await Promise.all([bootStack(), startS3Server([BUCKET]), webhookReceiver()]);
  media = await serveFiles({ "clip.mp4": clipPath("landscape") });
  // Node 20 has no WebSocket of its own: the SDK takes `ws`.
  kiln = new Kiln({ baseUrl: stack.url, apiKey: stack.devKey, WebSocket });
});
afterAll(async () => {
  await media?.close();
  await hooks?.close();
  await s3?.close();
  await stack?.stop();
});

/** The files under `dir`, relative to it, sorted. */
function relativeFiles(dir: string, files: string[]): string[] {
  return files.map((file) => path.relative(dir, file)).sort();
}

/** The objects of an output's package folder in the stack's R2, relative to it, sorted. */
function storedPackage(jobId: string, outputId: string): string[] {
  const prefix = `jobs/${jobId}/${outputId}/`;
  return r2Objects(stack, prefix)
    .map((o) => o.key.slice(prefix.length))
    .sort();
}

/** Every item of an async iterable (Node 20 has no Array.fromAsync). */
async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const seconds = (probed: any) => Number(probed.format.duration);
const videoStream = (probed: any) => probed.streams.find((s: any) => s.codec_type === "video");

describe("the SDK", () => {
  it("uploads a clip, creates a job, follows it with for await (WebSocket and NDJSON), downloads every output and verifies its webhook", async () => {
    const upload = await kiln.uploads.put(clipPath("landscape"));
    expect(upload).toMatchObject({ status: "ready", protocol: "put", content_type: "video/mp4", size_bytes: statSync(clipPath("landscape")).size });

    const created = await kiln.jobs.create({
      input: upload.id,
      outputs: [
        { type: "mp4", video: [{ codec: "h264", height: 180, quality: "economy" }] },
        { type: "hls", video: [{ codec: "h264", height: 180 }, { codec: "h264", height: 144 }] },
        { type: "dash", video: [{ codec: "h264", height: 180 }] },
        { type: "dash", dash: { profile: "on-demand" }, video: [{ codec: "h264", height: 144 }] },
      ],
      webhook_url: hooks.url,
    });
    expect(created.status).toBe("pending");

    // One client over the WebSocket (a watch token, never the key, in its URL), one without a WebSocket: the NDJSON stream.
    const requests = { socket: [] as string[], stream: [] as string[] };
    const recording = (into: string[]): Fetch => (request) => {
      into.push(`${request.method} ${new URL(request.url).pathname}`);
      return fetch(request);
    };
    const overSocket = new Kiln({ baseUrl: stack.url, apiKey: stack.devKey, WebSocket, fetch: recording(requests.socket) });
    const overStream = new Kiln({ baseUrl: stack.url, apiKey: stack.devKey, WebSocket: null, fetch: recording(requests.stream) });
    const collect = async (client: Kiln) => {
      const events: WatchEvent[] = [];
      for await (const event of client.jobs.watch(created.id)) events.push(event);
      return events;
    };
    const [socketEvents, streamEvents] = await Promise.all([collect(overSocket), collect(overStream)]);
    expect(requests.socket).toEqual([`POST /v1/jobs/${created.id}/watch-token`]);
    expect(requests.stream).toEqual([`GET /v1/jobs/${created.id}/watch`]);
    console.log(`watch: ${socketEvents.length} events over the socket, ${streamEvents.length} over the stream`);
    for (const events of [socketEvents, streamEvents]) {
      expect(events[0]!.event).toBe("snapshot");
      expect(events.at(-1)!.event).toBe("completed");
      expect(events.filter((e) => e.event === "completed")).toHaveLength(1);
      expect(events.some((e) => e.event === "progress" || e.event === "status_change")).toBe(true);
      expect(events.every((e) => e.job.id === created.id)).toBe(true);
    }
    const job = socketEvents.at(-1)!.job;
    expect(job.status, JSON.stringify(job.error ?? job.outputs.map((o) => o.error))).toBe("completed");
    expect(streamEvents.at(-1)!.job.status).toBe("completed");
    const [mp4, hls, dash, onDemand] = job.outputs;

    // The file: to a path, byte for byte what the job reports, and the video asked for.
    const mp4File = path.join(scratch, "out.mp4");
    const got = await kiln.download(mp4!, mp4File);
    expect(got).toEqual({ path: mp4File, files: [mp4File], bytes: mp4!.file_size_bytes });
    const probed = ffprobeJson(mp4File);
    expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    expect(seconds(probed)).toBeCloseTo(3, 0);

    // The packages: every file the stack stored for them, at its place, playable from disk.
    for (const [output, heights] of [
      [hls!, [180, 144]],
      [dash!, [180]],
      [onDemand!, [144]],
    ] as const) {
      const dir = path.join(scratch, output.id);
      const result = await kiln.download(output, dir);
      expect(relativeFiles(dir, result.files)).toEqual(storedPackage(job.id, output.id));
      expect(path.dirname(result.path)).toBe(dir);
      const local = ffprobeJson(result.path);
      expect(local.streams.filter((s: any) => s.codec_type === "video").map((s: any) => s.height).sort()).toEqual([...heights].sort());
      expect(seconds(local)).toBeCloseTo(3, 0);
      console.log(`${output.type} ${JSON.stringify(output.spec.dash ?? {})}: ${result.files.length} files, ${result.bytes} bytes`);
    }

    // The webhook: a real delivery, verified with the organization's secret; a tampered body is not.
    const hook = (await until("the webhook", async () => hooks.received[0], (h) => h !== undefined))!;
    const event = await kiln.webhooks.verify(hook.body, hook.headers);
    expect(event).toMatchObject({ type: "job.completed", data: { id: job.id, status: "completed" } });
    const { secret } = await kiln.webhooks.secret();
    expect(verifyWebhook(Buffer.from(hook.body), hook.headers, secret).data.id).toBe(job.id);
    expect(() => verifyWebhook(hook.body.replace('"completed"', '"failed"'), hook.headers, secret)).toThrow(WebhookVerificationError);
    const deliveries = await kiln.webhooks.deliveries(job.id);
    expect(deliveries).toEqual([expect.objectContaining({ id: hook.headers["webhook-id"], status: "delivered", event_type: "job.completed" })]);
  });

  it("throws KilnErrors typed by code: 404, 400, 422 and 401", async () => {
    const caught = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KilnError);
      return error as KilnError;
    };

    const missing = await caught(kiln.jobs.get("job_doesnotexist000000000"));
    expect(missing).toMatchObject({ status: 404, code: "not_found", retryAfter: null });
    expect(missing.requestId).toMatch(/^req_/);

    const noInput = await caught(kiln.jobs.create({ kind: "video", options: { format: "mp4" } }));
    expect(noInput).toMatchObject({ status: 400, code: "input_required" });
    expect((noInput.details as { issues: unknown[] }).issues.length).toBeGreaterThan(0);

    // A body the SDK's types refuse, as one read from a file might be.
    const avi = { input: media.url("clip.mp4"), outputs: [{ type: "avi", video: [{ codec: "h264" }] }] } as unknown as CreateJobRequest;
    const badFormat = await caught(kiln.jobs.create(avi));
    expect(badFormat).toMatchObject({ status: 400, code: "invalid_format" });

    const noPreset = await caught(kiln.jobs.create({ input: media.url("clip.mp4"), outputs: [{ preset: "no_such_preset" }] }));
    expect(noPreset).toMatchObject({ status: 422, code: "preset_not_found" });

    const stranger = new Kiln({ baseUrl: stack.url, apiKey: "sk_not_a_key_at_all" });
    const unauthorized = await caught(stranger.jobs.get("job_doesnotexist000000000"));
    expect(unauthorized).toMatchObject({ status: 401, code: "token_invalid" });
  });

  it("uploads with tus, is stopped part way, and a second run resumes from the server's offset", async () => {
    const file = clipPath("landscape");
    const size = statSync(file).size;
    const store = new FileResumeStore(path.join(scratch, "tus-uploads.json"));
    const chunkSize = 64 * 1024;
    expect(size).toBeGreaterThan(3 * chunkSize);

    const stop = new AbortController();
    const first = kiln.uploads.tus(file, { store, chunkSize, signal: stop.signal, onProgress: (sent) => sent >= size / 2 && stop.abort(new Error("stopped")) });
    await expect(first).rejects.toThrow("stopped");

    // The store remembers the upload; the server holds part of it.
    const remembered = await store.findAllUploads();
    expect(remembered).toHaveLength(1);
    const uploadUrl = remembered[0]!.uploadUrl!;
    const head = await until(
      "the interrupted PATCH to settle",
      () => fetch(uploadUrl, { method: "HEAD", headers: { authorization: `Bearer ${stack.devKey}`, "tus-resumable": "1.0.0" } }),
      (res) => res.status === 200,
    );
    const offset = Number(head.headers.get("upload-offset"));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(size);
    console.log(`tus: stopped at ${offset} of ${size} bytes`);
    const id = uploadUrl.split("/").pop()!;
    expect(await kiln.uploads.get(id)).toMatchObject({ status: "uploading", bytes_received: offset });

    const reported: number[] = [];
    const resumes: { offset: number; progressSeen: number }[] = [];
    const second = await kiln.uploads.tus(file, { store, chunkSize, onProgress: (sent) => reported.push(sent), onResume: (at) => resumes.push({ offset: at, progressSeen: reported.length }) });
    expect(second.resumedFrom).toBe(offset);
    // Told once, before the first byte of this run.
    expect(resumes).toEqual([{ offset, progressSeen: 0 }]);
    expect(second.upload).toMatchObject({ id, status: "ready", size_bytes: size, protocol: "tus" });
    expect(Math.min(...reported)).toBeGreaterThanOrEqual(offset);
    expect(await store.findAllUploads()).toEqual([]);
    // The bytes put together across both runs are the clip: the encoder probes what it stored.
    const probed = await until("the upload's probe", () => kiln.uploads.get(id), (u) => u.probe?.status === "completed" || u.probe?.status === "failed");
    expect(probed.probe).toMatchObject({ status: "completed", error: null });
    expect((probed.probe!.metadata as { duration_ms?: number } | null)?.duration_ms).toBeGreaterThan(2900);
  });

  it("manages origins, secrets, presets and keys", async () => {
    const origin = await kiln.origins.create({ name: "sdk", provider: "s3", bucket: BUCKET, endpoint: s3.url, credentials: S3_TEST_CREDENTIALS, permissions: ["read", "write"] });
    expect(await kiln.origins.get(origin.id)).toEqual(origin);
    expect((await all(kiln.origins.list())).map((o) => o.id)).toContain(origin.id);
    await kiln.origins.delete(origin.id);
    await expect(kiln.origins.get(origin.id)).rejects.toMatchObject({ status: 404, code: "not_found" });

    const secret = await kiln.secrets.create({ name: "sdk-keys", credentials: { access_key_id: "AKIAEXAMPLEKEY7XQA", secret_access_key: "x".repeat(40) } });
    expect(secret).toMatchObject({ name: "sdk-keys", access_key_hint: "…7XQA" });
    await expect(kiln.secrets.create({ name: "sdk-keys", credentials: S3_TEST_CREDENTIALS })).rejects.toMatchObject({ status: 409, code: "secret_name_taken" });
    expect((await all(kiln.secrets.list())).map((s) => s.id)).toEqual([secret.id]);
    await kiln.secrets.delete(secret.id);

    const preset = await kiln.presets.create({ slug: "sdk_small", name: "Small", output: { type: "mp4", video: [{ codec: "h264", height: 180 }] } });
    expect(await kiln.presets.get("sdk_small")).toMatchObject({ id: preset.id, builtin: false });
    const builtins = await all(kiln.presets.list({ scope: "builtin" }));
    expect(builtins.map((p) => p.slug)).toContain("web_1080p_standard");
    await kiln.presets.delete(preset.id!);

    const key = await kiln.keys.create({ name: "sdk reader", statements: [{ effect: "allow", actions: ["jobs:get", "jobs:list"], resources: ["*"] }] });
    expect(key.secret).toMatch(/^sk_/);
    expect((await kiln.keys.list()).map((k) => k.id)).toContain(key.id);
    const reader = new Kiln({ baseUrl: stack.url, apiKey: key.secret });
    await expect(reader.jobs.create({ input: media.url("clip.mp4"), kind: "video" })).rejects.toMatchObject({ status: 403, code: "forbidden" });
    await kiln.keys.revoke(key.id);
    await expect(reader.jobs.page()).rejects.toMatchObject({ status: 401 });
  });

  it("pages through 250 jobs with the auto-paginating iterator, seeing each once, newest first", async () => {
    // With no encoder, created jobs wait for one: 250 jobs cost the stack little.
    await stack.killEncoder();
    const secret = await kiln.secrets.create({ name: "sdk-paging", credentials: S3_TEST_CREDENTIALS, endpoint: s3.url });
    const tag = `paging-${Date.now()}`;
    const input = media.url("clip.mp4");
    // The three forms in turn.
    const bodies = [
      { input, kind: "video" as const, options: { format: "mp4", width: 320 }, tags: [tag] },
      { input, outputs: [{ type: "mp4" as const, video: [{ codec: "h264" as const, height: 180 }] }], tags: [tag] },
      {
        tasks: [
          { tool: "storage:get", parameters: { location: media.url(""), files: ["clip.mp4"] } },
          { tool: "storage:put", parameters: { location: `s3://{${secret.name}}@${BUCKET}/out/{job_id}/`, files: ["clip.mp4"] } },
        ],
        tags: [tag],
      },
    ];
    const created: string[] = [];
    const started = Date.now();
    for (let i = 0; i < 250; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, 250 - i) }, (_, j) => kiln.jobs.create(bodies[(i + j) % 3]!)));
      created.push(...batch.map((j) => j.id));
    }
    console.log(`created 250 jobs in ${Date.now() - started} ms`);
    expect(new Set(created).size).toBe(250);

    const seen: { id: string; created_at: string }[] = [];
    for await (const job of kiln.jobs.list({ tag, limit: 100 })) seen.push(job);
    expect(seen).toHaveLength(250);
    expect(new Set(seen.map((j) => j.id))).toEqual(new Set(created));
    const order = seen.map((j) => `${j.created_at}|${j.id}`);
    expect(order).toEqual([...order].sort().reverse());

    let pages = 0;
    const byPage: string[] = [];
    for await (const page of kiln.jobs.pages({ tag })) {
      pages += 1;
      expect(page.total_count).toBe(250);
      byPage.push(...page.data.map((j) => j.id));
    }
    expect(pages).toBe(13);
    expect(byPage).toEqual(seen.map((j) => j.id));
  });

  it("tries a create again after a lost answer or a 429, with the same idempotency key: one job", async () => {
    const tag = `retry-${Date.now()}`;
    const sent: { key: string | null; at: number }[] = [];
    let faults = ["lost", "429"];
    // Transport faults: the first answer is lost after the server made the job; the second is a 429 with Retry-After.
    const faulty: Fetch = async (request) => {
      const create = request.method === "POST" && new URL(request.url).pathname === "/v1/jobs";
      if (!create) return fetch(request);
      sent.push({ key: request.headers.get("idempotency-key"), at: Date.now() });
      const fault = faults.shift();
      if (fault === "429") {
        const body = { error: { code: "rate_limited", message: "slow down", request_id: "req_fault" } };
        return new Response(JSON.stringify(body), { status: 429, headers: { "content-type": "application/json", "retry-after": "1" } });
      }
      const response = await fetch(request);
      if (fault === "lost") {
        expect(response.status).toBe(201);
        await response.body?.cancel();
        throw new TypeError("fetch failed: connection reset");
      }
      return response;
    };
    const flaky = new Kiln({ baseUrl: stack.url, apiKey: stack.devKey, fetch: faulty, retry: { baseDelayMs: 10 } });
    const job = await flaky.jobs.create({ input: media.url("clip.mp4"), kind: "video", tags: [tag] });

    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((s) => s.key)).size).toBe(1);
    expect(sent[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent[2]!.at - sent[1]!.at).toBeGreaterThanOrEqual(1000);
    expect((await all(kiln.jobs.list({ tag }))).map((j) => j.id)).toEqual([job.id]);

    // A 429 past the SDK's tries is a KilnError carrying Retry-After.
    faults = ["429", "429"];
    const impatient = new Kiln({ baseUrl: stack.url, apiKey: stack.devKey, fetch: faulty, retry: { retries: 1 } });
    await expect(impatient.jobs.create({ input: media.url("clip.mp4"), kind: "video", tags: [tag] })).rejects.toMatchObject({ status: 429, code: "rate_limited", retryAfter: 1 });
  });
});
