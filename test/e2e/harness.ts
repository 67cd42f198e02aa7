import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, openSync, readdirSync, writeFileSync } from "node:fs";
import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Parser } from "m3u8-parser";
import { Webhook } from "standardwebhooks";
import S3rver from "s3rver";
import WebSocket from "ws";
import { type SeededOrganization, type Stack, startStack } from "../../scripts/stack.mjs";

/** A free loopback port, found by letting the OS pick one. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface E2EStack extends Stack {
  workDir: string;
  stateDir: string;
  logFile: string;
  api: (path: string, init?: { method?: string; body?: unknown }) => Promise<{ status: number; json: any }>;
}

/**
 * The whole local stack, started the way `npm start` starts it, in its own state directory,
 * or in `stateDir` that an earlier stack left (bench:list seeds D1 between two).
 */
export async function bootStack(
  vars: Record<string, string> = {},
  encoderEnv: Record<string, string> = {},
  options: {
    supervise?: boolean;
    cronTickMs?: number;
    organizations?: SeededOrganization[];
    /** Encoder processes behind ENCODER_URL (default 1). */
    encoders?: number;
    stateDir?: string;
  } = {},
): Promise<E2EStack> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-e2e-"));
  // Tool runs are sandboxed as uid 65534, which must pass through to the job's
  // directory, as it does through /tmp in `npm start`: searchable, not listable.
  chmodSync(scratch, 0o711);
  const workDir = path.join(scratch, "work");
  const port = await freePort();
  const encoderPorts: number[] = [];
  while (encoderPorts.length < (options.encoders ?? 1)) {
    const candidate = await freePort();
    if (candidate !== port && !encoderPorts.includes(candidate)) encoderPorts.push(candidate);
  }
  const logFile = path.join(scratch, "stack.log");
  const stateDir = options.stateDir ?? path.join(scratch, "state");
  const log = openSync(logFile, "a");
  const stack = await startStack({ port, encoderPorts, stateDir, workDir, vars, encoderEnv, log, supervise: options.supervise, cronTickMs: options.cronTickMs, organizations: options.organizations });
  const api = async (p: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${stack.url}${p}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { authorization: `Bearer ${stack.devKey}`, ...(init.body === undefined ? {} : { "content-type": "application/json" }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
  console.log(`e2e stack at ${stack.url}, logs in ${path.join(scratch, "stack.log")}`);
  return Object.assign(stack, { workDir, stateDir, logFile, api });
}

/** Every object in the stack's local R2 bucket under `prefix`, read from wrangler's state. */
export function r2Objects(stack: E2EStack, prefix: string): { key: string; size: number }[] {
  const dir = path.join(stack.stateDir, "v3", "r2", "miniflare-R2BucketObject");
  const rows: { key: string; size: number }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")) {
    const like = `${prefix.replaceAll("'", "''")}%`;
    const out = execFileSync("sqlite3", ["-readonly", "-json", "-cmd", ".timeout 10000", path.join(dir, file), `SELECT key, size FROM _mf_objects WHERE key LIKE '${like}' ORDER BY key`], { encoding: "utf8" });
    if (out.trim()) rows.push(...JSON.parse(out));
  }
  return rows;
}

/**
 * An S3-protocol server on loopback (s3rver) that can be stopped and started again on
 * the same port and directory, as an origin that goes away and comes back. `created`
 * counts the objects it stored per key.
 */
export async function restartableS3Server(buckets: string[]) {
  const directory = mkdtempSync(path.join(os.tmpdir(), "kiln-s3rver-"));
  const port = await freePort();
  const created = new Map<string, number>();
  let server: S3rver | null = null;
  const start = async () => {
    server = new S3rver({ address: "127.0.0.1", port, silent: true, directory, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
    (server as unknown as { on(name: "event", listener: (event: any) => void): void }).on("event", (event) => {
      for (const record of event.Records ?? []) {
        if (!String(record.eventName).includes("ObjectCreated")) continue;
        const key = decodeURIComponent(record.s3.object.key);
        created.set(key, (created.get(key) ?? 0) + 1);
      }
    });
    await server.run();
  };
  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    created,
    start,
    async stop() {
      await server?.close();
      server = null;
    },
  };
}

/** A seeded PRNG (mulberry32): a fault schedule printed with its seed can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Serves files over loopback HTTP, as a user's own machine would. */
export async function serveFiles(files: Record<string, string>) {
  const { readFileSync } = await import("node:fs");
  const server = createServer((req, res) => {
    const file = files[(req.url ?? "").slice(1)];
    if (!file) return res.writeHead(404).end();
    const bytes = readFileSync(file);
    res.writeHead(200, { "content-length": bytes.length }).end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: (name: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}`, close: () => close(server) };
}

function close(server: Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

export interface ReceivedHook {
  body: string;
  headers: IncomingHttpHeaders;
  status: number;
}

/**
 * A webhook receiver on loopback. `failFirst` answers 500 that many times first;
 * every request is recorded with what it was answered.
 */
export async function webhookReceiver(failFirst = 0) {
  const received: ReceivedHook[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const status = received.length < failFirst ? 500 : 200;
    received.push({ body: Buffer.concat(chunks).toString(), headers: req.headers, status });
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received, close: () => close(server) };
}

export function verifyHook(secret: string, hook: ReceivedHook): any {
  const headers = {
    "webhook-id": String(hook.headers["webhook-id"]),
    "webhook-timestamp": String(hook.headers["webhook-timestamp"]),
    "webhook-signature": String(hook.headers["webhook-signature"]),
  };
  return new Webhook(secret).verify(hook.body, headers);
}

export interface WatchEvent {
  event: string;
  job: any;
  server_time: string;
}

/**
 * Opens a job's Watch as a browser would (watch token in the query) and collects events
 * until the server closes it. "Closed" means the server's close frame arrived (the
 * socket is closing): the local dev proxy is slow to drop the TCP connection after it,
 * which is not what is under test.
 */
export async function watchJob(stack: E2EStack, jobId: string): Promise<{ events: WatchEvent[]; closed: Promise<void> }> {
  const minted = await stack.api(`/v1/jobs/${jobId}/watch-token`, { method: "POST" });
  const socket = new WebSocket(minted.json.watch_url);
  const events: WatchEvent[] = [];
  let serverClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve, reject) => {
    serverClosed = resolve;
    socket.on("close", () => resolve());
    socket.on("error", reject);
  });
  socket.on("message", (data) => {
    events.push(JSON.parse(String(data)));
    if (events.at(-1)!.event === "completed") {
      const check = setInterval(() => {
        if (socket.readyState >= WebSocket.CLOSING) {
          clearInterval(check);
          socket.terminate();
          serverClosed();
        }
      }, 20);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return { events, closed };
}

/** Asks `probe` every 100 ms until `ok` holds; fails naming `what` and the last value after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The job, once its status is one of `statuses`. */
export function jobWithStatus(stack: E2EStack, id: string, statuses: string[], timeoutMs = 90_000): Promise<any> {
  return until(`job ${id} to be ${statuses.join("/")}`, async () => (await stack.api(`/v1/jobs/${id}`)).json, (job) => statuses.includes(job.status), timeoutMs);
}

export async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

export function saveTemp(bytes: Buffer, name: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-e2e-out-")), name);
  writeFileSync(file, bytes);
  return file;
}

export function parsePlaylist(text: string): any {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest;
}

/**
 * Downloads an HLS package through its signed master URL the way a player does,
 * resolving every playlist entry relative to the URL it came from.
 */
export async function downloadHls(masterUrl: string) {
  const master = parsePlaylist((await download(masterUrl)).toString());
  const variants = [];
  for (const playlist of master.playlists ?? []) {
    const variantUrl = new URL(playlist.uri, masterUrl).toString();
    const manifest = parsePlaylist((await download(variantUrl)).toString());
    const segments: Buffer[] = [];
    const init = manifest.segments[0]?.map?.uri;
    const initBytes = init ? await download(new URL(init, variantUrl).toString()) : null;
    for (const segment of manifest.segments) segments.push(await download(new URL(segment.uri, variantUrl).toString()));
    variants.push({ attributes: playlist.attributes, manifest, initBytes, segments });
  }
  return { master, variants };
}

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function ffprobeJson(file: string): any {
  return JSON.parse(execFileSync("ffprobe", ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", file], { encoding: "utf8" }));
}

/** One AES-128 HLS and one CENC DASH output of `input`: the encrypted packages the DRM and dashboard tests play. */
export const encryptedPackagesJob = (input: string) => ({
  input,
  outputs: [
    { type: "hls", video: [{ codec: "h264", height: 360 }], drm: { scheme: "aes-128" } },
    { type: "dash", video: [{ codec: "h264", height: 360 }], drm: { scheme: "cenc" } },
  ],
});
