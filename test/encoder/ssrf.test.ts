import { readFileSync } from "node:fs";
import { lookup } from "node:dns/promises";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { type AddressInfo, type Server as NetServer, createServer as createNetServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncoderEvent, ToolsOrderInput, TranscodeOrderInput } from "../../encoder/contract";
import type { Resolver } from "../../encoder/net/guarded-fetch";
import { nonPublicHosts } from "../shared/ssrf-hosts";
import { clipPath } from "./clips";
import { startEncoder } from "./harness";

/*
 * The SSRF corpus through the real encoder app in production mode (no private
 * networks): every entry point that opens a connection to a user-supplied URL — the
 * job's input, subtitle files, storage:get, export PUTs (the signed URLs can point at a
 * user's bucket endpoint) and the upload probe — is given every target. A listener on
 * the targets' loopback port (127.0.0.1, and ::1 when the machine has it) counts every
 * connection; none may be made, and each refusal must be the guard's (forbidden), not
 * a connection that failed.
 *
 * "Public" in this test is one server on 127.0.0.2 at the same port, the only endpoint
 * exempt from the policy (TEST-ONLY exemptAddresses), reached under public-looking
 * names through an injected resolver: it redirects to each target, and it is the first
 * answer of names that rebind to loopback on their next lookup.
 */

let port = 0;
let connections = 0;
const counters: NetServer[] = [];
let publicServer: Server;
let sink: Server;
let sinkBase = "";
let encoder: Awaited<ReturnType<typeof startEncoder>>;
const events: EncoderEvent[] = [];
const listeners = new Set<() => void>();
/** Where each job's export PUT goes: the sink signs it there. */
const putTargets = new Map<string, string>();
const rebindLookups = new Map<string, number>();
const clip = readFileSync(clipPath("small"));

function listenOn(server: Server | NetServer, host: string, at: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(at, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * Names the encoder resolves here; any other goes to the system, without a final dot
 * (which DNS ignores, but this machine's hosts-file lookup does not).
 */
const resolve: Resolver = async (hostname) => {
  const name = hostname.toLowerCase();
  if (name === "public.example.test") return [{ address: "127.0.0.2", family: 4 }];
  if (name.startsWith("rebind-")) {
    const seen = rebindLookups.get(name) ?? 0;
    rebindLookups.set(name, seen + 1);
    return [{ address: seen === 0 ? "127.0.0.2" : "127.0.0.1", family: 4 }];
  }
  const fixed: Record<string, [string, 4 | 6][]> = {
    "loopback.example.test": [["127.0.0.1", 4]],
    "ipv6-loopback.example.test": [["::1", 6]],
    "metadata.example.test": [["169.254.169.254", 4]],
    "lan.example.test": [["192.168.0.10", 4]],
    // One public address and one private: the name is refused, not its public half used.
    "mixed.example.test": [["93.184.216.34", 4], ["127.0.0.1", 4]],
  };
  if (fixed[name]) return fixed[name].map(([address, family]) => ({ address, family }));
  return lookup(hostname.replace(/\.$/, ""), { all: true });
};

/** Targets that must never be connected to, each in a spelling that reaches loopback or another non-public network. */
function directTargets(): string[] {
  const hosts = [
    ...nonPublicHosts,
    "172.31.255.255", // the top of 172.16/12
    "255.255.255.255", // broadcast
    "loopback.example.test",
    "ipv6-loopback.example.test",
    "metadata.example.test",
    "lan.example.test",
    "mixed.example.test",
  ];
  return hosts.map((host) => `http://${host}:${port}/secret`);
}

interface Target {
  url: string;
  /** How it reaches a non-public address: given directly, by a redirect, or by a name that rebinds. */
  via: "direct" | "redirect" | "rebind";
}

let targets: Target[] = [];

function publicHandler(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? "/", "http://public.example.test");
  req.resume();
  if (url.pathname === "/clip.mp4") return res.writeHead(200, { "content-type": "video/mp4", "content-length": clip.length }).end(clip);
  if (url.pathname === "/to") return res.writeHead(307, { location: url.searchParams.get("target")! }).end();
  // The same name again: its next lookup answers loopback.
  if (url.pathname === "/rebind") return res.writeHead(302, { location: "/after" }).end();
  res.writeHead(404).end();
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** The Worker's side of the encoder: events, and export signing that points each job's PUT at its target. */
async function sinkHandler(req: IncomingMessage, res: ServerResponse) {
  const text = await body(req);
  const json = (value: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
  if (req.url === "/callback") {
    events.push(JSON.parse(text) as EncoderEvent);
    for (const l of listeners) l();
    return json({ directive: "continue" });
  }
  if (req.url === "/sign") {
    const request = JSON.parse(text) as { job_id: string; files: { path: string }[] };
    return json({ uploads: request.files.map((f) => ({ kind: "put", path: f.path, url: putTargets.get(request.job_id)!, method: "PUT", headers: {} })) });
  }
  res.writeHead(404).end();
}

function waitFor(predicate: (e: EncoderEvent) => boolean, timeoutMs = 60_000): Promise<EncoderEvent> {
  return new Promise((resolvePromise, reject) => {
    const check = () => {
      const found = events.find(predicate);
      if (!found) return;
      listeners.delete(check);
      clearTimeout(timer);
      resolvePromise(found);
    };
    const timer = setTimeout(() => {
      listeners.delete(check);
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    listeners.add(check);
    check();
  });
}

const jobEnd = (jobId: string) => waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)));

const wire = () => ({
  attempt: 1,
  lease_token: "lease-token-0123456789",
  export: { sign_url: `${sinkBase}/sign`, token: "export-token-0123456789" },
  callback: { url: `${sinkBase}/callback`, token: "callback-token-0123456789" },
});

let jobs = 0;
const newJobId = (entry: string) => `job_ssrf_${entry}_${++jobs}`;

/** Runs `fn` over `items`, at most `n` at once (the encoder's slots). */
async function eachLimited<T>(items: T[], n: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** A slot is freed a moment after the job's last event: a 429 until then is waited out. */
async function submit(order: TranscodeOrderInput | ToolsOrderInput): Promise<void> {
  for (;;) {
    const res = await encoder.call("POST", "/work", order);
    if (res.status !== 429) return expect(res.status).toBe(202);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const failureOf = (e: EncoderEvent) => (e.type === "task_failed" ? e.error : null);
const entryPoints: string[] = [];

beforeAll(async () => {
  const counter = () =>
    createNetServer((socket) => {
      connections++;
      socket.destroy();
    });
  const v4 = counter();
  port = await listenOn(v4, "127.0.0.1", 0);
  counters.push(v4);
  const v6 = counter();
  await listenOn(v6, "::1", port).then(
    () => counters.push(v6),
    () => undefined,
  );
  publicServer = createServer(publicHandler);
  await listenOn(publicServer, "127.0.0.2", port);
  sink = createServer((req, res) => void sinkHandler(req, res));
  sinkBase = `http://127.0.0.1:${await listenOn(sink, "127.0.0.1", 0)}`;

  const direct = directTargets();
  const publicUrl = (path: string) => `http://public.example.test:${port}${path}`;
  targets = [
    ...direct.map((url): Target => ({ url, via: "direct" })),
    ...direct.map((url): Target => ({ url: publicUrl(`/to?target=${encodeURIComponent(url)}`), via: "redirect" })),
    ...["a", "b"].map((k): Target => ({ url: `http://rebind-${k}.example.test:${port}/rebind`, via: "rebind" })),
  ];
  encoder = await startEncoder({ allowPrivateNetworks: false, concurrency: 4, heartbeatMs: 1_000, testNetwork: { exemptAddresses: [`127.0.0.2:${port}`], resolve } });
});

afterAll(async () => {
  await encoder.close();
  for (const s of [...counters, publicServer, sink]) await new Promise<void>((r) => s.close(() => r()));
  console.log(`figures: ssrf ${targets.length} targets × ${entryPoints.length} entry points (${entryPoints.join(", ")}), ${connections} connections made`);
});

/** A fresh rebinding name per use: its first lookup is the public server, the next ones loopback. */
function fresh(target: Target, use: string): string {
  return target.via === "rebind" ? target.url.replace(/rebind-(\w+)/, `rebind-$1-${use}`) : target.url;
}

describe("SSRF corpus through the encoder in production mode", { timeout: 300_000 }, () => {
  it("has at least 40 targets of each kind a URL can take to a private address", () => {
    expect(targets.filter((t) => t.via === "direct").length).toBeGreaterThanOrEqual(40);
    expect(new Set(targets.map((t) => t.via))).toEqual(new Set(["direct", "redirect", "rebind"]));
  });

  it("a job's input: refused with input_forbidden, never connected to", async () => {
    entryPoints.push("input");
    await eachLimited(targets, 4, async (target, i) => {
      const jobId = newJobId("input");
      await submit({ v: 1, job_id: jobId, input: { url: fresh(target, `in${i}`) }, tasks: [{ task_id: "t", output_id: "o", spec: { kind: "image", format: "jpeg" } }], ...wire() });
      const end = await jobEnd(jobId);
      expect([target.url, failureOf(end)]).toEqual([target.url, expect.objectContaining({ code: "input_forbidden", message: expect.stringMatching(/may not connect to/) })]);
    });
    expect(connections).toBe(0);
  });

  it("subtitle files: each output with one fails with input_forbidden, never connected to", async () => {
    entryPoints.push("subtitles");
    const batches: Target[][] = [];
    for (let i = 0; i < targets.length; i += 40) batches.push(targets.slice(i, i + 40));
    for (const [b, batch] of batches.entries()) {
      const jobId = newJobId("subtitles");
      const tasks = batch.map((target, i) => ({
        task_id: `t${i}`,
        output_id: `o${i}`,
        spec: { kind: "output" as const, type: "hls" as const, video: [{ codec: "h264" as const }], subtitles: [{ url: fresh(target, `sub${b}_${i}`), language: "en" }] },
      }));
      await submit({ v: 1, job_id: jobId, input: { url: `http://public.example.test:${port}/clip.mp4` }, tasks, ...wire() });
      await jobEnd(jobId);
      for (const [i, target] of batch.entries()) {
        const failed = events.find((e) => e.job_id === jobId && e.type === "task_failed" && e.task_id === `t${i}`);
        expect([target.url, failed && failureOf(failed)]).toEqual([target.url, expect.objectContaining({ code: "input_forbidden" })]);
      }
    }
    expect(connections).toBe(0);
  });

  it("storage:get: refused with input_forbidden, never connected to", async () => {
    entryPoints.push("storage:get");
    await eachLimited(targets, 4, async (target, i) => {
      const jobId = newJobId("get");
      await submit({ v: 1, engine: "tools", job_id: jobId, steps: [{ tool: "storage:get", task_id: "get", files: [{ name: "a.bin", url: fresh(target, `get${i}`) }] }], tool_limits: {}, ...wire() });
      // A pipeline ends with its failed step's task_failed.
      const end = await waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || e.type === "task_failed"));
      expect([target.url, failureOf(end)]).toEqual([target.url, expect.objectContaining({ code: "input_forbidden" })]);
    });
    expect(connections).toBe(0);
  });

  it("export PUTs (storage:put to a presigned URL): refused, never connected to, redirects not followed", async () => {
    entryPoints.push("export PUT");
    await eachLimited(targets, 4, async (target, i) => {
      const jobId = newJobId("put");
      putTargets.set(jobId, fresh(target, `put${i}`));
      await submit({
        v: 1,
        engine: "tools",
        job_id: jobId,
        steps: [
          { tool: "storage:get", task_id: "get", files: [{ name: "a.mp4", url: `http://public.example.test:${port}/clip.mp4` }] },
          { tool: "storage:put", task_id: "put", files: [{ name: "a.mp4", output_id: "out_a" }] },
        ],
        tool_limits: {},
        ...wire(),
      });
      const end = await waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || e.type === "task_failed"));
      const expected = target.via === "direct" ? /may not connect to/ : /answered 30[27]/;
      expect([target.url, end.type === "task_failed" && end.task_id]).toEqual([target.url, "put"]);
      expect([target.url, failureOf(end)]).toEqual([target.url, expect.objectContaining({ code: "export_failed", message: expect.stringMatching(expected) })]);
    });
    expect(connections).toBe(0);
  });

  it("the upload probe: answered input_forbidden, never connected to", async () => {
    entryPoints.push("probe");
    await eachLimited(targets, 4, async (target, i) => {
      const res = await encoder.call("POST", "/probe", { v: 1, url: fresh(target, `probe${i}`) });
      expect([target.url, await res.json()]).toEqual([target.url, { ok: false, error: expect.objectContaining({ code: "input_forbidden" }) }]);
    });
    expect(connections).toBe(0);
  });
});
