import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type E2EStack, type ReceivedHook, bootStack, download, r2Objects, restartableS3Server, seededRandom, serveFiles, sha256, until, verifyHook } from "./harness";

/*
 * The whole local stack under faults: the encoder killed (SIGKILL, ffmpeg with it) at
 * seeded random points of a run of mixed jobs and brought back by the supervisor, the
 * Worker (wrangler dev) killed and started again on its state directory, the S3 origin
 * stopped while a job exports to it, and a webhook receiver down for longer than three
 * retry intervals. Every job must end completed, or failed with a specific code; every
 * output is stored once, with the bytes its facts hash; every webhook is delivered once.
 *
 * The knobs are short stack vars, not fake time (wrangler dev runs in its own process):
 * a 4 s lease, 1 s heartbeats, a webhook retry base of 0.2 s, whose waits round to
 * 0, 1, 5 and 25 s (retry.ts: base·5^(n−1), rounded), and the webhook sweep every 2 s
 * with a 10 s grace: wrangler dev's queues live in memory, so the Worker's restart loses
 * the messages it held, and the sweep (webhooks/sweep.ts) is what sends them again.
 */
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 2 ** 31);
const KILLS = 3;
const JOBS = 20;
const BUCKET = "kiln-faults";
const SECRET = "faults-s3";

let stack: E2EStack;
let media: Awaited<ReturnType<typeof serveFiles>>;
let s3: Awaited<ReturnType<typeof restartableS3Server>>;
let hooks: Awaited<ReturnType<typeof switchableReceiver>>;
let webhookSecret: string;
let exportOrigin: string;
const started = Date.now();
const figures = { jobs: 0, kills: 0, workerRestarts: 0, s3Outages: 0, laterAttempts: 0, failed: [] as string[], webhooks: 0, failedHookAttempts: 0, objects: 0 };

/** A webhook receiver that answers 503 while `down` (a proxy up, the app behind it not), recording every request. */
async function switchableReceiver() {
  const received: ReceivedHook[] = [];
  let down = false;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const status = down ? 503 : 200;
    received.push({ body: Buffer.concat(chunks).toString(), headers: req.headers, status });
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    setDown: (value: boolean) => (down = value),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

beforeAll(async () => {
  console.log(`faults seed ${SEED} (FAULTS_SEED=${SEED} replays the kill schedule)`);
  [stack, s3, media, hooks] = await Promise.all([
    bootStack(
      { LEASE_TIMEOUT_MS: "4000", MAX_ATTEMPTS: "5", WEBHOOK_RETRY_BASE_SECONDS: "0.2", WEBHOOK_SWEEP_GRACE_SECONDS: "10" },
      { ENCODER_HEARTBEAT_MS: "1000", ENCODER_CONCURRENCY: "2" },
      { supervise: true, cronTickMs: 2_000 },
    ),
    restartableS3Server([BUCKET]),
    serveFiles({ "clip.mp4": clipPath("small") }),
    switchableReceiver(),
  ]);
  webhookSecret = (await stack.api("/v1/webhooks/secret")).json.secret;
  const put = await fetch(`${s3.url}/${BUCKET}/in/clip.mp4`, { method: "PUT", body: readFileSync(clipPath("small")) });
  expect(put.status).toBe(200);
  const secret = await stack.api("/v1/secrets", { body: { name: SECRET, credentials: S3_TEST_CREDENTIALS, endpoint: s3.url } });
  expect(secret.status, JSON.stringify(secret.json)).toBe(201);
  const origin = await stack.api("/v1/origins", {
    body: { name: "faults s3", provider: "s3", bucket: BUCKET, endpoint: s3.url, credentials: S3_TEST_CREDENTIALS, path: "exports", permissions: ["read", "write"] },
  });
  expect(origin.status, JSON.stringify(origin.json)).toBe(201);
  exportOrigin = origin.json.id;
});
afterAll(async () => {
  console.log(
    `figures: faults ${figures.jobs} jobs, ${figures.kills} encoder kills (${stack?.encoderRestarts ?? 0} supervised restarts), ${figures.workerRestarts} worker restarts, ` +
      `${figures.s3Outages} S3 outages, ${figures.laterAttempts} jobs completed on a later attempt, ${figures.failed.length} failed with a code (${figures.failed.join(", ") || "none"}), ` +
      `${figures.objects} stored objects each written once, ${figures.webhooks} webhooks delivered exactly once (${figures.failedHookAttempts} failed attempts before), ` +
      `seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  await hooks?.close();
  await media?.close();
  await s3?.stop();
  await stack?.stop();
});

const at = (folder: string) => `s3://{${SECRET}}@${BUCKET}/${folder}`;
const small = () => media.url("clip.mp4");
/** Five small jobs, one of each kind the suite mixes. */
const bodies: Record<string, () => Record<string, unknown>> = {
  video: () => ({ input: small(), kind: "video", options: { format: "mp4", codec: "h264", width: 320, quality: "low" } }),
  audio: () => ({ input: small(), kind: "audio", options: { format: "mp3" } }),
  image: () => ({ input: small(), kind: "image", options: { format: "webp", start: 1, width: 160 } }),
  outputs: () => ({ input: small(), outputs: [{ type: "mkv", video: [{ codec: "h264", height: 180 }] }, { type: "hls", video: [{ codec: "h264", height: 144 }] }] }),
  tools: () => ({
    tasks: [
      { tool: "storage:get", parameters: { location: at("in/"), files: ["clip.mp4"] } },
      { tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "clip.mp4", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-an", "out/short.mp4"] } },
      { tool: "storage:put", parameters: { location: at("tools/{job_id}/"), files: ["short.mp4"], base_dir: "out" } },
    ],
  }),
};
const kinds = Object.keys(bodies);
const TERMINAL = ["completed", "failed", "canceled", "partial"];

async function create(body: Record<string, unknown>): Promise<string> {
  const created = await stack.api("/v1/jobs", { body: { ...body, webhook_url: hooks.url } });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  return created.json.id;
}
const job = async (id: string) => (await stack.api(`/v1/jobs/${id}`)).json;
const ended = (id: string) => until(`job ${id} to end`, () => job(id), (j) => TERMINAL.includes(j.status), 240_000);
const encoding = (j: any) => j.status === "processing" && j.tasks.some((t: any) => t.status === "running" && t.progress > 0);

/** Objects in the job's S3 folder: what s3rver holds under `prefix`. */
async function s3Keys(prefix: string): Promise<string[]> {
  const { AwsClient } = await import("aws4fetch");
  const aws = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });
  const text = await (await aws.fetch(`${s3.url}/${BUCKET}?list-type=2&prefix=${encodeURIComponent(prefix)}`)).text();
  return [...text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]!);
}

/**
 * A job ended as the suite requires: completed with every output stored once (the
 * objects under the job's place are exactly its outputs', one per single-file output,
 * with the bytes its facts hash), or failed with a specific code.
 */
async function checkEnded(done: any) {
  figures.jobs += 1;
  if (done.status === "failed") {
    expect(done.error?.code, JSON.stringify(done.error)).toMatch(/^[a-z_]+$/);
    expect(done.error.code).not.toBe("internal_error");
    figures.failed.push(done.error.code);
    return;
  }
  expect(done.status, JSON.stringify(done.error)).toBe("completed");
  if (done.attempt > 1) figures.laterAttempts += 1;
  const inBucket = done.outputs.filter((o: any) => typeof o.location === "string" && o.location.startsWith("s3://"));
  if (inBucket.length > 0) {
    const folder = inBucket[0].location.slice(`s3://${BUCKET}/`.length).replace(/[^/]+$/, "");
    const keys = await s3Keys(folder);
    expect(keys.sort()).toEqual(inBucket.map((o: any) => o.location.slice(`s3://${BUCKET}/`.length)).sort());
    for (const key of keys) expect(s3.created.get(key), `writes of ${key}`).toBe(1);
    figures.objects += keys.length;
  } else {
    const objects = r2Objects(stack, `jobs/${done.id}/`);
    for (const o of objects) expect(done.outputs.some((out: any) => o.key.startsWith(`jobs/${done.id}/${out.id}`)), `${o.key} is no output's`).toBe(true);
    for (const out of done.outputs) expect(objects.filter((o) => o.key.startsWith(`jobs/${done.id}/${out.id}`)).length, `objects of ${out.id}`).toBeGreaterThan(0);
    figures.objects += objects.length;
  }
  for (const out of done.outputs) {
    expect(out.status).toBe("completed");
    if (out.type === "hls" || out.type === "dash") continue; // a package's URL is its playlist's, not the hashed file's
    const bytes = await download(out.output_url);
    expect(sha256(bytes), `${done.id}/${out.id}`).toBe(out.facts.sha256);
  }
}

/**
 * Each job's webhooks, once the receiver has been up for a while: exactly one answered
 * 2xx, every attempt under one webhook-id, every signature verifying.
 */
async function checkHooks(ids: string[]) {
  const forJob = (id: string) => hooks.received.filter((h) => JSON.parse(h.body).data?.id === id);
  await until("a delivered webhook per job", async () => ids.map((id) => forJob(id).filter((h) => h.status === 200).length), (n) => n.every((c) => c >= 1), 90_000);
  // Long enough for a duplicate to show: the first retries come within a second.
  await new Promise((r) => setTimeout(r, 3_000));
  for (const id of ids) {
    const got = forJob(id);
    expect(got.filter((h) => h.status === 200), `deliveries of ${id}`).toHaveLength(1);
    expect(new Set(got.map((h) => h.headers["webhook-id"])).size, `webhook ids of ${id}`).toBe(1);
    for (const h of got) expect(verifyHook(webhookSecret, h)).toMatchObject({ data: { id } });
    figures.webhooks += 1;
    figures.failedHookAttempts += got.length - 1;
  }
}

describe("faults", () => {
  it(`the encoder killed at ${KILLS} seeded random points of ${JOBS} mixed jobs: each ends, outputs once, webhooks once`, async () => {
    const random = seededRandom(SEED);
    // A kill comes after a random number of jobs has ended (so some are still running) and a random delay.
    const schedule = Array.from({ length: KILLS }, () => ({ after: Math.floor(random() * (JOBS - 4)), delayMs: Math.floor(random() * 2_000) })).sort((a, b) => a.after - b.after);
    console.log(`faults kill schedule (seed ${SEED}): ${schedule.map((k) => `after ${k.after} ended + ${k.delayMs} ms`).join("; ")}`);
    const ids = await Promise.all(Array.from({ length: JOBS }, (_, i) => create(bodies[kinds[i % kinds.length]!]!())));
    const done = new Map<string, any>();
    const endedCount = async () => {
      for (const id of ids) {
        if (done.has(id)) continue;
        const j = await job(id);
        if (TERMINAL.includes(j.status)) done.set(id, j);
      }
      return done.size;
    };
    for (const kill of schedule) {
      await until(`${kill.after} jobs ended`, endedCount, (n) => n >= kill.after, 240_000);
      await new Promise((r) => setTimeout(r, kill.delayMs));
      await until("the encoder back", async () => (await fetch(`${stack.encoderUrl}/health`).catch(() => null))?.ok ?? false, (ok) => ok, 60_000);
      await stack.killEncoder();
      figures.kills += 1;
      // The API stays up while the encoder is down.
      expect((await fetch(`${stack.url}/health`)).status).toBe(200);
      expect((await stack.api(`/v1/jobs/${ids[0]}`)).status).toBe(200);
    }
    await until("all jobs ended", endedCount, (n) => n === JOBS, 300_000);
    expect(stack.encoderRestarts).toBeGreaterThanOrEqual(KILLS);
    for (const id of ids) await checkEnded(done.get(id));
    await checkHooks(ids);
    expect(readFileSync(stack.logFile, "utf8")).toMatch(/\[supervise\] encoder exited \(signal SIGKILL\)/);
  }, 420_000);

  it("the Worker killed mid-encode and started again on its state: the jobs end, outputs once, webhooks once", async () => {
    const ids = [await create(bodies.video!()), await create(bodies.outputs!()), await create(bodies.audio!())];
    await until("an encode under way", () => job(ids[1]!), (j) => encoding(j) || TERMINAL.includes(j.status));
    await stack.restartWorker();
    figures.workerRestarts += 1;
    for (const id of ids) await checkEnded(await ended(id));
    await checkHooks(ids);
  });

  it("the S3 origin away while a job exports to it, then back: the job completes, its object stored once", async () => {
    // The input comes from elsewhere, so the job runs; the origin is away from before its
    // export until 2 s after the export began (or the job gave up): the outage meets it.
    await s3.stop();
    figures.s3Outages += 1;
    const id = await create({ ...bodies.video!(), output_origin_id: exportOrigin });
    const during = await until("the export to begin", () => job(id), (j) => TERMINAL.includes(j.status) || j.tasks.some((t: any) => t.kind === "export" && t.status !== "waiting"), 120_000);
    await new Promise((r) => setTimeout(r, 2_000));
    await s3.start();
    const done = await ended(id);
    console.log(`faults: S3 outage met the export (${during.status}, export ${during.tasks.find((t: any) => t.kind === "export")?.status}); the job ended ${done.status} on attempt ${done.attempt}`);
    // An outage shorter than the upload's retries is waited out, not a failed job.
    expect(done.status, JSON.stringify(done.error)).toBe("completed");
    await checkEnded(done);
    await checkHooks([id]);
  });

  it("a webhook receiver down for longer than three retry intervals, then up: each webhook delivered once, same id, signed", async () => {
    hooks.setDown(true);
    const ids = [await create(bodies.audio!()), await create(bodies.image!())];
    for (const id of ids) await checkEnded(await ended(id));
    const attemptsOf = (id: string) => hooks.received.filter((h) => JSON.parse(h.body).data?.id === id).length;
    // Four failed attempts have spanned three retry intervals (0, 1 and 5 s); the next waits 25 s.
    await until("four failed attempts per job", async () => ids.map(attemptsOf), (n) => n.every((c) => c >= 4), 60_000);
    hooks.setDown(false);
    await checkHooks(ids);
    for (const id of ids) {
      const listed = (await stack.api(`/v1/jobs/${id}/webhooks`)).json;
      expect(listed.data).toHaveLength(1);
      expect(listed.data[0].status).toBe("delivered");
      expect(listed.data[0].attempts.map((a: any) => a.status_code)).toEqual([...Array(listed.data[0].attempts.length - 1).fill(503), 200]);
    }
  });
});
