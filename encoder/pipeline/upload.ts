import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import path from "node:path";
import { finished } from "node:stream/promises";
import { type MultipartUpload, type WorkOrder, multipartCompletedSchema } from "../contract";
import { PipelineError } from "../errors";
import { AddressPolicy } from "../net/address-policy";
import { type NetworkAccess, guardedRequest } from "../net/guarded-fetch";

/**
 * The uploads of export: PUTs of whole files or of byte ranges (multipart parts) to
 * URLs the Worker signed, and the completion or abort of a multipart upload through
 * the Worker. Only URLs and the attempt's export token are ever used. A PUT URL may be
 * presigned on a user's bucket endpoint, so PUTs go through the guarded client: no
 * private address unless the encoder allows private networks. Completion and abort go
 * to the Worker itself.
 */

/**
 * A failed PUT is tried this many times in all: network errors, 408, 429 and 5xx only,
 * 250 ms apart doubling, so an origin that is away for a few seconds (a restart, a
 * failover) is waited out (~7.75 s) instead of failing a finished encode.
 */
export const PUT_ATTEMPTS = 6;
const RETRY_DELAY_MS = 250;
/** Completion assembles up to 10,000 parts: give it longer than a part. */
const COMPLETE_TIMEOUT_MS = 120_000;
const ABORT_TIMEOUT_MS = 10_000;
/** A storage server may be silent a while after the last byte of a large PUT before it answers. */
const PUT_SILENCE_MS = 120_000;

/** Where PUTs may connect, and how long connecting may take (the order's connect limit). */
export interface UploadNetwork {
  policy: AddressPolicy;
  resolve?: NetworkAccess["resolve"];
  connectTimeoutMs: number;
}

export function uploadNetwork(access: NetworkAccess, limits: Pick<WorkOrder["limits"], "connect_timeout_ms">): UploadNetwork {
  return { policy: new AddressPolicy(access), resolve: access.resolve, connectTimeoutMs: limits.connect_timeout_ms };
}

/** Runs at most `n` of the functions handed to it at once, in the order they came. */
export function createLimiter(n: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async function limit<T>(fn: () => Promise<T>): Promise<T> {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
export type Limiter = ReturnType<typeof createLimiter>;

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

class HttpFailure extends Error {
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
  }
}

function stopped(): PipelineError {
  return new PipelineError("canceled", "The job was canceled");
}

export interface PutTarget {
  url: string;
  headers: Record<string, string>;
  /** Bytes [offset, offset + size) of the file. */
  offset: number;
  size: number;
  contentType: string | null;
}

export interface PutResult {
  /** The response's ETag, null when the server sent none. */
  etag: string | null;
  /** With `hash`: the SHA-256 (hex) of the bytes the accepted PUT sent. */
  sha256?: string;
}

/**
 * PUTs a byte range of `file` (relative to `dir`), retrying what a retry can fix; with
 * `hash`, hashes the bytes as they go out, so the file is read once. `what` names the
 * upload in errors.
 */
export async function putRange(
  dir: string,
  file: string,
  target: PutTarget,
  what: string,
  signal: AbortSignal,
  network: UploadNetwork,
  options: { hash?: boolean } = {},
): Promise<PutResult> {
  let last: HttpFailure | null = null;
  for (let attempt = 1; attempt <= PUT_ATTEMPTS; attempt++) {
    if (signal.aborted) throw stopped();
    if (attempt > 1) await new Promise((r) => setTimeout(r, RETRY_DELAY_MS * 2 ** (attempt - 2)));
    try {
      return await putOnce(dir, file, target, signal, network, options.hash ?? false);
    } catch (err) {
      if (signal.aborted) throw stopped();
      last = err instanceof HttpFailure ? err : new HttpFailure(null, (err as Error).message);
      if (last.status !== null && !retryable(last.status)) break;
    }
  }
  const tries = last?.status !== null && !retryable(last!.status!) ? "" : ` after ${PUT_ATTEMPTS} attempts`;
  throw new PipelineError("export_failed", `upload of ${what} failed${tries}: ${last!.message}`);
}

async function putOnce(dir: string, file: string, target: PutTarget, signal: AbortSignal, network: UploadNetwork, hashed: boolean): Promise<PutResult> {
  const headers: Record<string, string> = { ...target.headers, "content-length": String(target.size) };
  if (target.contentType) headers["content-type"] = target.contentType;
  const hash = hashed ? createHash("sha256") : null;
  const bytes =
    target.size > 0 ? createReadStream(path.join(dir, file), { start: target.offset, end: target.offset + target.size - 1, highWaterMark: 1 << 20 }) : null;
  // Every chunk the upload reads passes here first.
  if (hash) bytes?.on("data", (chunk) => hash.update(chunk as Buffer));
  const res = await guardedRequest(new URL(target.url), {
    method: "PUT",
    body: bytes ?? new Uint8Array(0),
    headers,
    what: "upload",
    policy: network.policy,
    resolve: network.resolve,
    connectTimeoutMs: network.connectTimeoutMs,
    readTimeoutMs: PUT_SILENCE_MS,
    signal,
  }).finally(() => bytes?.destroy());
  // The answer is a status and headers; its body (an S3 error document at most) is not needed.
  await finished(res.resume());
  const status = res.statusCode ?? 0;
  // A redirect is not followed: it could point anywhere, and the body cannot be sent twice.
  if (status < 200 || status > 299) throw new HttpFailure(status, `answered ${status}`);
  const etag = res.headers.etag;
  return { etag: typeof etag === "string" ? etag : null, ...(hash ? { sha256: hash.digest("hex") } : {}) };
}

/**
 * A POST to the Worker (signing, completing or aborting an upload), tried again on what a
 * retry can fix (no answer, 408, 429, 5xx) on the PUTs' schedule: a Worker that restarts
 * or sheds load for a moment is waited out, not a failed export. Answers the last response;
 * throws the last network error, or at once when `signal` aborts.
 */
export async function postJson(url: string, token: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, RETRY_DELAY_MS * 2 ** (attempt - 2)));
    if (signal?.aborted) throw stopped();
    const last = attempt === PUT_ATTEMPTS;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
      if (last || !retryable(res.status)) return res;
      await res.body?.cancel();
    } catch (err) {
      if (signal?.aborted) throw stopped();
      if (last) throw err;
    }
  }
}

/**
 * Uploads a file in the parts of its plan (each part through `limit`, so parts of all
 * files share the export's concurrency), then has the Worker assemble them. On any
 * failure the multipart upload is aborted, so no parts are left behind, and the export
 * fails.
 */
export async function uploadInParts(
  order: Pick<WorkOrder, "job_id" | "attempt" | "export">,
  dir: string,
  file: { path: string; size_bytes: number },
  plan: MultipartUpload,
  limit: Limiter,
  signal: AbortSignal,
  network: UploadNetwork,
): Promise<void> {
  const target = { job_id: order.job_id, attempt: order.attempt, output_id: plan.output_id, path: plan.path, upload_id: plan.upload_id };
  try {
    checkPlanCovers(plan, file.size_bytes);
    const parts = await Promise.all(
      plan.parts.map((part) =>
        limit(async () => {
          const what = `${file.path} (part ${part.part_number} of ${plan.parts.length})`;
          const { etag } = await putRange(dir, file.path, { url: part.url, headers: plan.headers, offset: part.offset, size: part.size_bytes, contentType: null }, what, signal, network);
          if (!etag) throw new PipelineError("export_failed", `upload of ${what} was answered without an ETag`);
          return { part_number: part.part_number, etag };
        }),
      ),
    );
    const res = await postJson(plan.complete_url, order.export.token, { ...target, parts }, COMPLETE_TIMEOUT_MS, signal).catch((err: Error) => {
      throw signal.aborted ? stopped() : new PipelineError("export_failed", `could not complete the upload of ${file.path}: ${err.message}`);
    });
    const answer = multipartCompletedSchema.safeParse(await res.json().catch(() => null));
    if (!res.ok || !answer.success) throw new PipelineError("export_failed", `completing the upload of ${file.path} was answered ${res.status}`);
    if (answer.data.size_bytes !== file.size_bytes) {
      throw new PipelineError("export_failed", `${file.path} was assembled as ${answer.data.size_bytes} bytes, not ${file.size_bytes}`);
    }
  } catch (err) {
    // Best effort, and not bound to the job's signal: a canceled job's parts go too.
    await postJson(plan.abort_url, order.export.token, target, ABORT_TIMEOUT_MS)
      .then((res) => res.arrayBuffer())
      .catch(() => undefined);
    throw err;
  }
}

/** The parts must be numbered 1…n and cover the file's bytes exactly, in order. */
function checkPlanCovers(plan: MultipartUpload, size: number): void {
  let next = 0;
  for (const [index, part] of plan.parts.entries()) {
    if (part.part_number !== index + 1 || part.offset !== next) throw new PipelineError("export_failed", `the upload plan for ${plan.path} does not cover the file in order`);
    next += part.size_bytes;
  }
  if (next !== size) throw new PipelineError("export_failed", `the upload plan for ${plan.path} covers ${next} bytes, not ${size}`);
}
