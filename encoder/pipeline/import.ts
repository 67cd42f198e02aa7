import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { FailureCode } from "../contract";
import { PipelineError } from "../errors";
import { LAYOUT_HEAD_BYTES } from "../media/mp4-layout";
import { AddressPolicy, type AddressPolicyOptions } from "../net/address-policy";
import { GuardedFetchError, type Resolver, describeOrigin, guardedRequest, toGuardedError } from "../net/guarded-fetch";

/** Why an import failed: a contract failure code and a message safe to show users. */
export class ImportError extends PipelineError {
  constructor(code: FailureCode, message: string) {
    super(code, message);
    this.name = "ImportError";
  }
}

export interface ImportOptions extends AddressPolicyOptions {
  /** Largest input accepted, in bytes (WorkOrder.limits.max_input_bytes). */
  maxBytes: number;
  /** Limit on DNS + TCP + TLS for each hop (WorkOrder.limits.connect_timeout_ms). */
  connectTimeoutMs: number;
  /** Limit on any silence from the server once connected (WorkOrder.limits.read_timeout_ms). */
  readTimeoutMs: number;
  /** Redirects followed at most; one more fails the import. Default 5. */
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Bytes written so far, and the announced total (Content-Length) if there was one. */
  onProgress?: (bytes: number, total: number | null) => void;
  /**
   * Called once with the first LAYOUT_HEAD_BYTES of the body (fewer for a shorter one) and the
   * announced total, as soon as they have arrived and `destFile` exists, so the caller
   * can start reading a file that is still growing.
   */
  onHead?: (head: Buffer, total: number | null) => void;
  /** How host names are resolved (tests inject one so no packet leaves the machine). */
  resolve?: Resolver;
  /** CA certificates (PEM) to trust for https instead of Node's bundled ones (tests, private CAs in development). */
  ca?: string | Buffer;
}

export interface ImportResult {
  bytes: number;
  contentType: string | null;
  redirects: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_REDIRECTS = 5;

const codeOf: Record<GuardedFetchError["kind"], FailureCode> = {
  forbidden: "input_forbidden",
  connect_timeout: "input_unreachable",
  read_timeout: "input_unreachable",
  network: "input_unreachable",
  canceled: "canceled",
};

function canceled(): ImportError {
  return new ImportError("canceled", "The job was canceled");
}

/**
 * Downloads the input `url` (http or https, as the Worker hands it, signed for s3/gs
 * inputs) into `destFile`, following at most `maxRedirects` redirects, each hop checked
 * against the address policy. Fails with an ImportError: input_forbidden (a non-public
 * address, or a non-http scheme), input_too_large (Content-Length or the bytes received
 * pass maxBytes), input_unreachable (connect or read timeout, network error, HTTP
 * status ≥ 400, too many redirects, a truncated body) or canceled. On any failure
 * `destFile` is removed.
 */
export async function importInput(url: string, destFile: string, options: ImportOptions): Promise<ImportResult> {
  const { signal } = options;
  const file = { created: false };
  try {
    const { res, origin, redirects } = await openInput(url, options);
    const total = contentLength(res);
    if (total !== null && total > options.maxBytes) {
      res.destroy();
      throw new ImportError("input_too_large", `The input is ${total} bytes; the limit is ${options.maxBytes} bytes`);
    }
    const bytes = await download(res, destFile, file, origin, total, options);
    const contentType = res.headers["content-type"] ?? null;
    return { bytes, contentType, redirects };
  } catch (err) {
    if (file.created) await rm(destFile, { force: true });
    throw asImportError(err, signal);
  }
}

/**
 * The last `length` bytes of the input `total` bytes long, fetched by a range request
 * beside the import (redirects followed and checked as the import's are): a file read
 * while it arrives may need its end early (an MPEG-TS's timing). Null when the server
 * does not answer with exactly that range; the caller then waits for the whole file.
 */
export async function fetchTail(url: string, total: number, length: number, options: Omit<ImportOptions, "onProgress" | "onHead">): Promise<Buffer | null> {
  const from = Math.max(0, total - length);
  try {
    const { res } = await openInput(url, options, { range: `bytes=${from}-${total - 1}` });
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers["content-range"] ?? "");
    const sameFile = range && (range[3] === "*" || Number(range[3]) === total);
    if (res.statusCode !== 206 || !range || !sameFile || Number(range[1]) !== from || Number(range[2]) !== total - 1) {
      res.destroy();
      return null;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > total - from) {
        res.destroy();
        return null;
      }
      chunks.push(chunk);
    }
    return bytes === total - from ? Buffer.concat(chunks) : null;
  } catch {
    if (options.signal?.aborted) throw canceled();
    return null;
  }
}

/** The response to a GET of `url` that is not a redirect, each hop checked against the address policy. */
async function openInput(url: string, options: Omit<ImportOptions, "onProgress" | "onHead">, headers?: Record<string, string>): Promise<{ res: IncomingMessage; origin: string; redirects: number }> {
  const policy = new AddressPolicy(options);
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const { signal } = options;
  let current = parseUrl(url);
  let redirects = 0;
  for (;;) {
    if (signal?.aborted) throw canceled();
    const origin = describeOrigin(current);
    const res = await guardedRequest(current, {
      policy,
      connectTimeoutMs: options.connectTimeoutMs,
      readTimeoutMs: options.readTimeoutMs,
      signal,
      resolve: options.resolve,
      ca: options.ca,
      headers,
    });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECT_STATUSES.has(status) && location) {
      res.destroy();
      if (redirects >= maxRedirects) throw new ImportError("input_unreachable", `The input URL redirected more than ${maxRedirects} times`);
      redirects++;
      current = parseUrl(location, current);
      continue;
    }
    if (status < 200 || status > 299) {
      res.destroy();
      throw new ImportError("input_unreachable", `${origin} answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`);
    }
    return { res, origin, redirects };
  }
}

function asImportError(err: unknown, signal: AbortSignal | undefined): ImportError {
  if (signal?.aborted) return canceled();
  if (err instanceof ImportError) return err;
  if (err instanceof GuardedFetchError) return new ImportError(codeOf[err.kind], err.message);
  return new ImportError("input_unreachable", toGuardedError(err, "the input server").message);
}

function parseUrl(raw: string, base?: URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(raw, base);
  } catch {
    throw new ImportError("input_unreachable", base ? "The input URL redirected to an invalid URL" : "The input URL is not a valid URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ImportError("input_forbidden", `Only http and https input URLs can be imported, not ${parsed.protocol}${base ? " (in a redirect)" : ""}`);
  }
  return parsed;
}

function contentLength(res: IncomingMessage): number | null {
  const raw = res.headers["content-length"];
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}

/** Streams the body into `destFile`, failing as soon as it passes maxBytes. */
async function download(res: IncomingMessage, destFile: string, state: { created: boolean }, origin: string, total: number | null, options: ImportOptions): Promise<number> {
  let bytes = 0;
  options.onProgress?.(0, total);
  let head: Buffer[] | null = options.onHead ? [] : null;
  const giveHead = () => {
    if (!head) return;
    const first = Buffer.concat(head).subarray(0, LAYOUT_HEAD_BYTES);
    head = null;
    void opened.then((ok) => ok && options.onHead!(first, total));
  };
  const limiter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback) {
      bytes += chunk.length;
      if (bytes > options.maxBytes) {
        callback(new ImportError("input_too_large", `The input is larger than the limit of ${options.maxBytes} bytes`));
        return;
      }
      options.onProgress?.(bytes, total);
      if (head) {
        head.push(chunk);
        if (bytes >= LAYOUT_HEAD_BYTES) giveHead();
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      giveHead();
      callback();
    },
  });
  // "wx": the working dir is fresh, so an existing file (or a symlink planted there) is an error.
  // A 1 MiB buffer instead of 16 KiB: the socket is no longer paused after every chunk,
  // which made a loopback import 2.5× slower (bench/encode).
  const file = createWriteStream(destFile, { flags: "wx", highWaterMark: 1 << 20 });
  // Whether the file came to exist; a failed open fails the pipeline below instead.
  const opened = new Promise<boolean>((resolve) => {
    file.once("open", () => resolve(true));
    file.once("error", () => resolve(false));
  });
  // Ours to remove on failure, unless it was already there (the open failed with EEXIST).
  state.created = true;
  let writeError: NodeJS.ErrnoException | undefined;
  file.once("error", (err: NodeJS.ErrnoException) => {
    writeError = err;
    if (err.code === "EEXIST") state.created = false;
  });
  try {
    await pipeline(res, limiter, file);
  } catch (err) {
    if (writeError && !(err instanceof ImportError) && !(err instanceof GuardedFetchError)) {
      // Our disk, not the input: report it as a failure on our side, not the user's.
      throw new ImportError("encode_failed", `Could not store the input${writeError.code ? ` (${writeError.code})` : ""}`);
    }
    if (err instanceof ImportError || err instanceof GuardedFetchError) throw err;
    throw new ImportError("input_unreachable", toGuardedError(err, origin).message);
  }
  if (total !== null && bytes !== total) {
    throw new ImportError("input_unreachable", `${origin} ended the input after ${bytes} of ${total} bytes`);
  }
  return bytes;
}
