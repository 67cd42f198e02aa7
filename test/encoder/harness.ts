import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type EncoderEvent, type StyleOrderInput, type ToolsOrderInput, type TranscodeOrderInput, styleStages } from "../../encoder/contract";
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

export interface SinkMultipart {
  /** Files larger than this get a multipart plan (when the encoder asks for one). */
  thresholdBytes: number;
  partBytes: number;
}

/** A multipart upload as the sink saw it: its parts, every PUT attempt, and how it ended. */
export interface SinkMultipartUpload {
  path: string;
  parts: Map<number, Buffer>;
  attempts: number[];
  state: "open" | "completed" | "aborted";
}

const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

/**
 * Stands in for the Worker at the encoder's boundary: it signs upload URLs (to
 * itself), receives the uploads, and collects events, answering each with a directive.
 * With `multipart` set, large files get multipart plans as the Worker's do: part PUTs
 * answered with an ETag, completion (ETags checked, parts assembled) and abort.
 * `failPart` answers a part PUT with an error status instead (by part number and how
 * many times that part was tried before); `failSign` does the same for signing requests
 * (by how many came before).
 */
export async function startSink() {
  const events: EncoderEvent[] = [];
  const uploads = new Map<string, Received>();
  /** Every single PUT stored, in order, with the number of events received before it. */
  const puts: (Received & { eventsBefore: number })[] = [];
  const multipartUploads = new Map<string, SinkMultipartUpload>();
  let multipart: SinkMultipart | null = null;
  let failPart: (partNumber: number, tries: number) => number | null = () => null;
  let failSign: (tries: number) => number | null = () => null;
  let signRequests = 0;
  let directive: (event: EncoderEvent) => "continue" | "cancel" = () => "continue";
  const listeners = new Set<() => void>();
  let base = "";
  const json = (res: ServerResponse, status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
  const received = (path: string, contentType: string, bytes: Buffer): Received => ({ path, contentType, bytes, sha256: createHash("sha256").update(bytes).digest("hex") });

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
      const signFailure = failSign(signRequests++);
      if (signFailure !== null) return res.writeHead(signFailure).end();
      const request = JSON.parse((await body(req)).toString()) as { multipart?: boolean; files: { output_id: string; path: string; size_bytes: number; content_type: string }[] };
      const plan = (f: (typeof request.files)[number]) => {
        if (!multipart || !request.multipart || f.size_bytes <= multipart.thresholdBytes) {
          return { kind: "put", path: f.path, url: `${base}/upload/${encodeURIComponent(f.path)}`, method: "PUT", headers: {} };
        }
        const uploadId = `mpu-${multipartUploads.size + 1}`;
        multipartUploads.set(uploadId, { path: f.path, parts: new Map(), attempts: [], state: "open" });
        const parts = [];
        for (let offset = 0, n = 1; offset < f.size_bytes; offset += multipart.partBytes, n++) {
          parts.push({ part_number: n, offset, size_bytes: Math.min(multipart.partBytes, f.size_bytes - offset), url: `${base}/part/${uploadId}/${n}` });
        }
        return { kind: "multipart", path: f.path, output_id: f.output_id, upload_id: uploadId, parts, headers: {}, complete_url: `${base}/complete`, abort_url: `${base}/abort` };
      };
      return json(res, 200, { uploads: request.files.map(plan) });
    }
    if (req.method === "PUT" && url.pathname.startsWith("/part/")) {
      const [, , uploadId, n] = url.pathname.split("/");
      const upload = multipartUploads.get(uploadId!);
      const bytes = await body(req);
      if (!upload || upload.state !== "open") return res.writeHead(404).end();
      const partNumber = Number(n);
      const tries = upload.attempts.filter((p) => p === partNumber).length;
      upload.attempts.push(partNumber);
      const failure = failPart(partNumber, tries);
      if (failure !== null) return res.writeHead(failure).end();
      upload.parts.set(partNumber, bytes);
      return res.writeHead(200, { etag: `"${md5(bytes)}"` }).end();
    }
    if (req.method === "POST" && (url.pathname === "/complete" || url.pathname === "/abort")) {
      if (req.headers.authorization !== "Bearer export-token-0123456789") return res.writeHead(401).end();
      const request = JSON.parse((await body(req)).toString()) as { upload_id: string; path: string; parts?: { part_number: number; etag: string }[] };
      const upload = multipartUploads.get(request.upload_id);
      if (!upload || upload.state !== "open" || upload.path !== request.path) return json(res, 404, { error: { code: "multipart_upload_not_found" } });
      if (url.pathname === "/abort") {
        upload.state = "aborted";
        return json(res, 200, { path: request.path, aborted: true });
      }
      const listed = request.parts ?? [];
      const matches = listed.every((p, i) => p.part_number === i + 1 && upload.parts.has(p.part_number) && p.etag === `"${md5(upload.parts.get(p.part_number)!)}"`);
      if (!matches || listed.length !== upload.parts.size) return json(res, 400, { error: { code: "multipart_part_missing" } });
      const bytes = Buffer.concat(listed.map((p) => upload.parts.get(p.part_number)!));
      upload.state = "completed";
      uploads.set(request.path, received(request.path, "", bytes));
      return json(res, 200, { path: request.path, size_bytes: bytes.length });
    }
    if (req.method === "PUT" && url.pathname.startsWith("/upload/")) {
      const path = decodeURIComponent(url.pathname.slice("/upload/".length));
      const stored = received(path, req.headers["content-type"] ?? "", await body(req));
      uploads.set(path, stored);
      puts.push({ ...stored, eventsBefore: events.length });
      for (const l of listeners) l();
      return res.writeHead(200).end();
    }
    res.writeHead(404).end();
  };
  const server = createServer((req, res) => void handler(req, res));
  base = await listen(server);

  return {
    /** Where it listens; `PUT /upload/<path>` stores a file without a signing round trip. */
    base,
    events,
    uploads,
    puts,
    multipartUploads,
    setDirective(fn: typeof directive) {
      directive = fn;
    },
    /** Multipart plans for files over the threshold from now on (null: single PUTs only). */
    setMultipart(value: SinkMultipart | null) {
      multipart = value;
    },
    setFailPart(fn: typeof failPart) {
      failPart = fn;
    },
    setFailSign(fn: typeof failSign) {
      failSign = fn;
      signRequests = 0;
    },
    get signRequests() {
      return signRequests;
    },
    order(jobId: string, inputUrl: string, tasks: TranscodeOrderInput["tasks"], attempt = 1): TranscodeOrderInput {
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
    /** A tool pipeline's order (engine "tools"), reporting to this sink. */
    toolsOrder(jobId: string, steps: ToolsOrderInput["steps"], toolLimits: ToolsOrderInput["tool_limits"] = {}, attempt = 1): ToolsOrderInput {
      return {
        v: 1,
        engine: "tools",
        job_id: jobId,
        attempt,
        lease_token: "lease-token-0123456789",
        steps,
        tool_limits: toolLimits,
        export: { sign_url: `${base}/sign`, token: "export-token-0123456789" },
        callback: { url: `${base}/callback`, token: "callback-token-0123456789" },
      };
    },
    /** A style job's order (engine "style"): its stages' tasks named `task_<stage>`, reporting to this sink. */
    styleOrder(jobId: string, inputUrl: string, templateUrl: string | null, render: StyleOrderInput["render"], attempt = 1): StyleOrderInput {
      const stages = render ? styleStages : styleStages.filter((s) => s !== "style_application" && s !== "rendering");
      return {
        v: 1,
        engine: "style",
        job_id: jobId,
        attempt,
        lease_token: "lease-token-0123456789",
        input: { url: inputUrl },
        template: templateUrl === null ? null : { url: templateUrl },
        tasks: stages.map((stage) => ({ task_id: `task_${stage}`, stage })),
        render,
        export: { sign_url: `${base}/sign`, token: "export-token-0123456789" },
        callback: { url: `${base}/callback`, token: "callback-token-0123456789" },
      };
    },
    /** Resolves once `ok` holds, looked at after every event and PUT. */
    until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!ok()) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${what} did not happen within ${timeoutMs} ms`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
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
  const { app, running, warmProbes, cores } = createEncoderApp({ token: ENCODER_TOKEN, allowPrivateNetworks: true, ...options });
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
  const close = () => {
    warmProbes.close();
    return new Promise<void>((r) => server.close(() => r()));
  };
  return { base, running, warmProbes, cores, call, close };
}
