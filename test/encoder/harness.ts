import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { EncoderEvent, WorkOrderInput } from "../../encoder/contract";
import { type EncoderOptions, createEncoderApp } from "../../encoder/app";

export const ENCODER_TOKEN = "encoder-test-token-0123456789";

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Serves files from disk over loopback HTTP, the way a user's origin would. */
export async function startMediaServer(files: Record<string, string>) {
  const server = createServer((req, res) => {
    const file = files[(req.url ?? "").slice(1)];
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": statSync(file).size });
    createReadStream(file).pipe(res);
  });
  const base = await listen(server);
  return { url: (name: string) => `${base}/${name}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export interface Received {
  path: string;
  contentType: string;
  bytes: Buffer;
  sha256: string;
}

/**
 * Stands in for the Worker at the encoder's boundary: it signs upload URLs (to
 * itself), receives the uploads, and collects events, answering each with a directive.
 */
export async function startSink() {
  const events: EncoderEvent[] = [];
  const uploads = new Map<string, Received>();
  let directive: (event: EncoderEvent) => "continue" | "cancel" = () => "continue";
  const listeners = new Set<() => void>();
  let base = "";

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", base);
    if (req.method === "POST" && url.pathname === "/callback") {
      if (req.headers.authorization !== "Bearer callback-token-0123456789") return res.writeHead(401).end();
      const event = JSON.parse((await body(req)).toString()) as EncoderEvent;
      events.push(event);
      for (const l of listeners) l();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ directive: directive(event) }));
      return;
    }
    if (req.method === "POST" && url.pathname === "/sign") {
      if (req.headers.authorization !== "Bearer export-token-0123456789") return res.writeHead(401).end();
      const request = JSON.parse((await body(req)).toString()) as { files: { path: string }[] };
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ uploads: request.files.map((f) => ({ path: f.path, url: `${base}/upload/${encodeURIComponent(f.path)}`, method: "PUT", headers: {} })) }),
      );
      return;
    }
    if (req.method === "PUT" && url.pathname.startsWith("/upload/")) {
      const path = decodeURIComponent(url.pathname.slice("/upload/".length));
      const bytes = await body(req);
      uploads.set(path, { path, contentType: req.headers["content-type"] ?? "", bytes, sha256: createHash("sha256").update(bytes).digest("hex") });
      return res.writeHead(200).end();
    }
    res.writeHead(404).end();
  };
  const server = createServer((req, res) => void handler(req, res));
  base = await listen(server);

  return {
    events,
    uploads,
    setDirective(fn: typeof directive) {
      directive = fn;
    },
    order(jobId: string, inputUrl: string, tasks: WorkOrderInput["tasks"], attempt = 1): WorkOrderInput {
      return {
        v: 1,
        job_id: jobId,
        attempt,
        lease_token: "lease-token-0123456789",
        input: { url: inputUrl },
        tasks,
        export: { sign_url: `${base}/sign`, token: "export-token-0123456789" },
        callback: { url: `${base}/callback`, token: "callback-token-0123456789" },
      };
    },
    /** Resolves with the first event matching `predicate`, waiting for it if need be. */
    waitFor(predicate: (e: EncoderEvent) => boolean, timeoutMs = 60_000): Promise<EncoderEvent> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(predicate);
          if (found) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no matching event within ${timeoutMs} ms; saw ${events.map((e) => e.type).join(", ")}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function startEncoder(options: Partial<EncoderOptions> = {}) {
  const { app, running } = createEncoderApp({ token: ENCODER_TOKEN, allowPrivateNetworks: true, ...options });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = (method: string, path: string, json?: unknown, token = ENCODER_TOKEN) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { "content-type": "application/json" }) },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
  return { base, running, call, close: () => new Promise<void>((r) => server.close(() => r())) };
}
