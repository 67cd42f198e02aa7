import { and, asc, eq, isNull, lt, or } from "drizzle-orm";
import { Hono } from "hono";
import type { Context } from "hono";
import { uploadParts, uploads } from "../db/schema";
import type { AppEnv, Env } from "../env";
import { ApiError, envelope } from "../errors";
import { newId } from "../ids";
import { authorize } from "../middleware/authenticate";
import { renderErrors } from "../middleware/render-errors";
import {
  MAX_UPLOAD_BYTES,
  MEDIA_TYPE,
  MIB,
  UPLOAD_TTL_SECONDS,
  type UploadRow,
  deleteUpload,
  findUpload,
  insertUpload,
  orm,
  refreshUpload,
  requestProbe,
  sanitizeFilename,
  stagingKey,
  uploadNotFound,
  uploadObjectKey,
} from "./store";

/**
 * tus 1.0 (https://tus.io/protocols/resumable-upload) at /v1/uploads/tus: Core,
 * creation, creation-with-upload, termination and expiration, over an R2 multipart
 * upload, authorised by the ordinary API key.
 *
 * R2 wants every part but the last to be one fixed size (≥ 5 MiB), while tus lets a
 * client send chunks of any size and resume from any offset. So each upload has a
 * fixed part size (5 MiB, larger when needed to stay within 10,000 parts) and a
 * PATCH cuts its body into whole parts as it streams; the tail that does not fill a
 * part is written to a small staging object and prepended to the next PATCH. Nothing
 * is buffered across requests in memory, any chunk size works (tus-js-client's
 * default is the whole file in one PATCH), and the offset a HEAD reports after an
 * interrupted PATCH counts every byte that reached the Worker.
 *
 * D1 holds the truth: offset = parts_done × part_size + staged_bytes. A part is
 * recorded after R2 accepts it; a re-sent part overwrites its number. The staged tail
 * is written before the row claims it, and a newer staging object always begins with
 * the bytes an older row claims, so a crash between the two loses nothing.
 * Concurrent PATCHes of one upload are kept apart by a lease on the row (423 while
 * another PATCH holds it; it lapses after LOCK_MS if that request died).
 */
export const TUS_VERSION = "1.0.0";
export const TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration";
export const MIN_PART_BYTES = 5 * MIB;
const MAX_PARTS = 10_000;
const LOCK_MS = 120_000;
const MAX_METADATA_LENGTH = 4096;
const OFFSET_TYPE = "application/offset+octet-stream";

/** The fixed R2 part size of an upload of `length` bytes: 5 MiB, or whole MiB enough for ≤ 10,000 parts. */
export function partSizeFor(length: number): number {
  return Math.max(MIN_PART_BYTES, Math.ceil(length / MAX_PARTS / MIB) * MIB);
}

const tusHeaders = { "Tus-Resumable": TUS_VERSION };

export const tusRoutes = new Hono<AppEnv>();

const renderError = renderErrors(envelope);

/** The native envelope, with the headers tus clients look for on every answer. */
function tusError(err: Error, c: Context<AppEnv>): Response {
  const res = renderError(err, c);
  res.headers.set("Tus-Resumable", TUS_VERSION);
  if (err instanceof ApiError && err.code === "tus_version_unsupported") res.headers.set("Tus-Version", TUS_VERSION);
  return res;
}
tusRoutes.onError(tusError);

function discovery(c: Context<AppEnv>) {
  return c.body(null, 204, {
    ...tusHeaders,
    "Tus-Version": TUS_VERSION,
    "Tus-Extension": TUS_EXTENSIONS,
    "Tus-Max-Size": String(MAX_UPLOAD_BYTES),
  });
}

tusRoutes.use("*", async (c, next) => {
  // OPTIONS is discovery and needs no version; everything else must speak 1.0.0.
  if (c.req.method !== "OPTIONS" && c.req.header("tus-resumable") !== TUS_VERSION) {
    throw new ApiError(412, "tus_version_unsupported", `This server speaks tus ${TUS_VERSION}: send Tus-Resumable: ${TUS_VERSION}`);
  }
  await next();
  c.res.headers.set("Tus-Resumable", TUS_VERSION);
});

tusRoutes.options("/", discovery);
tusRoutes.options("/:id", discovery);

tusRoutes.post("/", async (c) => {
  const override = c.req.header("x-http-method-override");
  if (override) throw new ApiError(405, "method_not_allowed", "X-HTTP-Method-Override applies to an upload's URL, not to creation");
  authorize(c, "uploads:create", "uploads/*");
  if (c.req.header("upload-defer-length") !== undefined) {
    throw new ApiError(400, "validation_error", "Upload-Defer-Length is not supported: declare Upload-Length");
  }
  const length = parseNonNegative(c.req.header("upload-length"), "Upload-Length", true)!;
  if (length > MAX_UPLOAD_BYTES) throw new ApiError(413, "payload_too_large", `Upload-Length exceeds Tus-Max-Size (${MAX_UPLOAD_BYTES})`);
  const rawMetadata = c.req.header("upload-metadata") ?? null;
  const metadata = rawMetadata === null ? {} : parseMetadata(rawMetadata);
  const filetype = metadata.filetype?.trim().toLowerCase();
  const contentType = filetype && MEDIA_TYPE.test(filetype) ? filetype : "application/octet-stream";
  const filename = sanitizeFilename(metadata.filename ?? metadata.name);

  // creation-with-upload: a body must be an offset stream, checked before anything is created.
  const hasBody = bodyDeclared(c);
  if (hasBody) checkOffsetType(c);

  const orgId = c.get("principal").orgId;
  const id = newId("vid");
  const key = uploadObjectKey(orgId, id, filename);
  const now = Date.now();
  const at = new Date(now).toISOString();
  const partSize = partSizeFor(length);
  let multipartId: string | null = null;
  if (length > 0) {
    const multipart = await c.env.MEDIA.createMultipartUpload(key, { httpMetadata: { contentType }, customMetadata: { upload_id: id, org_id: orgId } });
    multipartId = multipart.uploadId;
  }
  const row = {
    id,
    orgId,
    protocol: "tus" as const,
    status: "waiting" as const,
    filename,
    contentType,
    key,
    uploadLength: length,
    uploadMetadata: rawMetadata,
    multipartId,
    partSize,
    createdAt: at,
    updatedAt: at,
    expiresAt: new Date(now + UPLOAD_TTL_SECONDS * 1000).toISOString(),
  };
  await insertUpload(c.env.DB, row);
  let stored = (await findUpload(c.env.DB, orgId, id))!;
  if (length === 0) stored = await completeEmpty(c.env, stored);

  const location = new URL(`${c.req.path.replace(/\/+$/, "")}/${id}`, c.req.url).toString();
  const headers: Record<string, string> = { ...tusHeaders, Location: location };
  if (hasBody && length > 0) {
    const result = await appendRequestBody(c, stored);
    if (result.kind === "error") {
      // The upload exists even though its first chunk failed: the client can HEAD and resume.
      const res = tusError(result.error, c);
      res.headers.set("Location", location);
      return res;
    }
    stored = result.row;
    headers["Upload-Offset"] = String(stored.uploadOffset);
  }
  if (stored.status !== "ready") headers["Upload-Expires"] = new Date(stored.expiresAt).toUTCString();
  return c.body(null, 201, headers);
});

/** Hono routes HEAD to GET handlers, so HEAD is served here (with no body). */
tusRoutes.get("/:id", async (c) => {
  if (c.req.method !== "HEAD") throw new ApiError(405, "method_not_allowed", "Use HEAD for an upload's offset (GET /v1/uploads/:id for its status)");
  return head(c);
});

tusRoutes.on(["PATCH", "DELETE", "POST"], "/:id", async (c) => {
  const method = c.req.method === "POST" ? c.req.header("x-http-method-override")?.toUpperCase() : c.req.method;
  if (method === "HEAD") return head(c);
  if (method === "PATCH") return patch(c);
  if (method === "DELETE") return terminate(c);
  throw new ApiError(405, "method_not_allowed", "POST to an upload needs X-HTTP-Method-Override: PATCH, HEAD or DELETE");
});

async function load(c: Context<AppEnv>, action: "uploads:get" | "uploads:create" | "uploads:delete"): Promise<UploadRow> {
  const id = c.req.param("id")!;
  authorize(c, action, `uploads/${id}`);
  const found = await findUpload(c.env.DB, c.get("principal").orgId, id);
  if (!found || found.protocol !== "tus" || found.status === "deleted") throw uploadNotFound(id);
  const row = await refreshUpload(c.env, found);
  if (row.status === "expired") throw new ApiError(410, "upload_expired", `Upload ${id} expired at ${row.expiresAt}`);
  return row;
}

function offsetHeaders(row: UploadRow): Record<string, string> {
  const headers: Record<string, string> = {
    ...tusHeaders,
    "Upload-Offset": String(row.uploadOffset),
    "Upload-Length": String(row.uploadLength ?? 0),
    "Cache-Control": "no-store",
  };
  if (row.status !== "ready") headers["Upload-Expires"] = new Date(row.expiresAt).toUTCString();
  return headers;
}

async function head(c: Context<AppEnv>) {
  const row = await load(c, "uploads:get");
  const headers = offsetHeaders(row);
  if (row.uploadMetadata !== null) headers["Upload-Metadata"] = row.uploadMetadata;
  return c.body(null, 200, headers);
}

async function terminate(c: Context<AppEnv>) {
  const row = await load(c, "uploads:delete");
  await deleteUpload(c.env, row);
  return c.body(null, 204, tusHeaders);
}

async function patch(c: Context<AppEnv>) {
  checkOffsetType(c);
  const declared = parseNonNegative(c.req.header("upload-offset"), "Upload-Offset", true)!;
  const row = await load(c, "uploads:create");
  if (declared !== row.uploadOffset) {
    throw new ApiError(409, "upload_offset_mismatch", `Upload-Offset is ${declared} but the upload is at ${row.uploadOffset}; HEAD it and resume from there`, {
      offset: row.uploadOffset,
    });
  }
  const result = await appendRequestBody(c, row);
  if (result.kind === "error") throw result.error;
  return c.body(null, 204, offsetHeaders(result.row));
}

// ---- appending ----

type AppendResult = { kind: "done"; row: UploadRow } | { kind: "error"; error: ApiError };

/**
 * Appends the request body at the row's offset. Runs under waitUntil as well as being
 * awaited, so that when the client vanishes mid-body the bytes that arrived are still
 * saved (the body read fails, the tail is staged, the row records the offset).
 */
async function appendRequestBody(c: Context<AppEnv>, row: UploadRow): Promise<AppendResult> {
  const remaining = row.uploadLength! - row.uploadOffset;
  const lengthHeader = c.req.header("content-length");
  let declared: number | null = null;
  if (lengthHeader !== undefined) {
    if (!/^\d{1,15}$/.test(lengthHeader)) throw new ApiError(400, "validation_error", "Content-Length is not a number");
    declared = Number(lengthHeader);
    if (declared > remaining) {
      throw new ApiError(413, "payload_too_large", `The chunk (${declared} bytes) runs past Upload-Length: ${remaining} bytes remain`);
    }
  }
  const work = append(c.env, row, c.req.raw.body, declared);
  try {
    c.executionCtx.waitUntil(work.catch(() => {}));
  } catch {
    // No execution context (a direct app.fetch without one): awaiting is enough.
  }
  return work;
}

class Lease {
  constructor(
    readonly token: string,
    public expiresAt: number,
  ) {}
}

async function takeLease(env: Env, row: UploadRow): Promise<Lease> {
  const now = Date.now();
  const lease = new Lease(crypto.randomUUID(), now + LOCK_MS);
  const taken = await orm(env.DB)
    .update(uploads)
    .set({ lockToken: lease.token, lockExpiresAt: lease.expiresAt, status: "uploading", updatedAt: new Date(now).toISOString() })
    .where(
      and(
        eq(uploads.id, row.id),
        eq(uploads.uploadOffset, row.uploadOffset),
        or(eq(uploads.status, "waiting"), eq(uploads.status, "uploading")),
        or(isNull(uploads.lockToken), lt(uploads.lockExpiresAt, now)),
      ),
    )
    .returning({ id: uploads.id });
  if (taken.length > 0) return lease;
  const current = await findUpload(env.DB, row.orgId, row.id);
  if (!current || current.status === "deleted") throw uploadNotFound(row.id);
  if (current.uploadOffset !== row.uploadOffset) {
    throw new ApiError(409, "upload_offset_mismatch", `The upload moved on to offset ${current.uploadOffset}; HEAD it and resume from there`, {
      offset: current.uploadOffset,
    });
  }
  if (current.status === "ready") throw new ApiError(409, "upload_offset_mismatch", "The upload is already complete", { offset: current.uploadOffset });
  throw new ApiError(423, "upload_locked", "Another PATCH of this upload is in progress; retry when it ends");
}

class LeaseLost extends Error {}

async function append(env: Env, start: UploadRow, body: ReadableStream<Uint8Array> | null, declared: number | null): Promise<AppendResult> {
  if (declared === 0 || body === null) {
    if (declared !== null && declared > 0) return { kind: "error", error: new ApiError(400, "validation_error", "The body is shorter than Content-Length") };
    return { kind: "done", row: start };
  }
  const lease = await takeLease(env, start);
  const partSize = start.partSize!;
  const length = start.uploadLength!;
  const multipart = env.MEDIA.resumeMultipartUpload(start.key, start.multipartId!);
  let partsDone = start.partsDone;
  let committed = partsDone * partSize; // bytes in recorded parts
  const buffer = new Uint8Array(partSize);
  let filled = 0;

  if (start.stagedBytes > 0) {
    const staged = await env.MEDIA.get(stagingKey(start.id), { range: { offset: 0, length: start.stagedBytes } });
    const bytes = staged ? new Uint8Array(await staged.arrayBuffer()) : null;
    if (!bytes || bytes.byteLength !== start.stagedBytes) {
      await release(env, start.id, lease);
      throw new Error(`staged tail of ${start.id} is missing or short`);
    }
    buffer.set(bytes, 0);
    filled = bytes.byteLength;
  }

  const update = async (set: Partial<typeof uploads.$inferInsert>) => {
    const now = Date.now();
    lease.expiresAt = now + LOCK_MS;
    const done = await orm(env.DB)
      .update(uploads)
      .set({ ...set, lockExpiresAt: set.lockToken === null ? null : lease.expiresAt, updatedAt: new Date(now).toISOString() })
      .where(and(eq(uploads.id, start.id), eq(uploads.lockToken, lease.token)))
      .returning();
    if (done.length === 0) throw new LeaseLost();
    return done[0]!;
  };

  const flushPart = async () => {
    const part = await multipart.uploadPart(partsDone + 1, buffer.subarray(0, filled));
    await orm(env.DB)
      .insert(uploadParts)
      .values({ uploadId: start.id, partNumber: part.partNumber, etag: part.etag })
      .onConflictDoUpdate({ target: [uploadParts.uploadId, uploadParts.partNumber], set: { etag: part.etag } });
    partsDone += 1;
    committed += filled;
    filled = 0;
    await update({ partsDone, uploadOffset: committed, stagedBytes: 0 });
  };

  let received = 0;
  let failure: ApiError | null = null;
  const reader = body.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        failure = new ApiError(400, "validation_error", "The request body was interrupted; HEAD the upload for the offset to resume from");
        break;
      }
      if (chunk.done) break;
      let value = chunk.value;
      received += value.byteLength;
      if (declared !== null && received > declared) {
        failure = new ApiError(400, "validation_error", `The body is longer than its Content-Length (${declared})`);
        value = value.subarray(0, value.byteLength - (received - declared));
      }
      if (committed + filled + value.byteLength > length) {
        // Without a Content-Length the stream is capped at Upload-Length.
        const room = length - committed - filled;
        value = value.subarray(0, Math.max(0, room));
        failure ??= new ApiError(413, "payload_too_large", `The chunk runs past Upload-Length (${length})`);
      }
      while (value.byteLength > 0) {
        const take = Math.min(partSize - filled, value.byteLength);
        buffer.set(value.subarray(0, take), filled);
        filled += take;
        value = value.subarray(take);
        if (filled === partSize && committed + filled < length) await flushPart();
      }
      if (failure) break;
    }
    if (!failure && declared !== null && received < declared) {
      failure = new ApiError(400, "validation_error", `The body is shorter than its Content-Length (${declared}); HEAD the upload for the offset to resume from`);
    }
    if (failure) await reader.cancel().catch(() => {});

    const offset = committed + filled;
    if (offset === length) {
      if (filled > 0) await flushPart();
      const row = await complete(env, start, update);
      return failure ? { kind: "error", error: failure } : { kind: "done", row };
    }
    if (filled > 0) {
      await env.MEDIA.put(stagingKey(start.id), buffer.subarray(0, filled));
    }
    const row = await update({
      uploadOffset: offset,
      stagedBytes: filled,
      lockToken: null,
      expiresAt: new Date(Date.now() + UPLOAD_TTL_SECONDS * 1000).toISOString(),
    });
    return failure ? { kind: "error", error: failure } : { kind: "done", row };
  } catch (err) {
    if (err instanceof LeaseLost) {
      return { kind: "error", error: new ApiError(409, "upload_offset_mismatch", "The upload was changed or deleted during this PATCH; HEAD it") };
    }
    await release(env, start.id, lease).catch(() => {});
    throw err;
  }
}

async function release(env: Env, id: string, lease: Lease): Promise<void> {
  await orm(env.DB)
    .update(uploads)
    .set({ lockToken: null, lockExpiresAt: null })
    .where(and(eq(uploads.id, id), eq(uploads.lockToken, lease.token)));
}

async function complete(
  env: Env,
  start: UploadRow,
  update: (set: Partial<typeof uploads.$inferInsert>) => Promise<UploadRow>,
): Promise<UploadRow> {
  const parts = await orm(env.DB)
    .select()
    .from(uploadParts)
    .where(eq(uploadParts.uploadId, start.id))
    .orderBy(asc(uploadParts.partNumber));
  const object = await env.MEDIA.resumeMultipartUpload(start.key, start.multipartId!).complete(
    parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
  );
  const at = new Date().toISOString();
  const row = await update({
    status: "ready",
    uploadOffset: start.uploadLength!,
    stagedBytes: 0,
    sizeBytes: object.size,
    etag: object.httpEtag,
    completedAt: at,
    lockToken: null,
    probeStatus: "pending",
  });
  await env.MEDIA.delete(stagingKey(start.id));
  await orm(env.DB).delete(uploadParts).where(eq(uploadParts.uploadId, start.id));
  await requestProbe(env, row);
  return row;
}

async function completeEmpty(env: Env, row: UploadRow): Promise<UploadRow> {
  const object = await env.MEDIA.put(row.key, new Uint8Array(0), { httpMetadata: { contentType: row.contentType } });
  const at = new Date().toISOString();
  const patch = { status: "ready" as const, sizeBytes: 0, etag: object?.httpEtag ?? null, completedAt: at, updatedAt: at, probeStatus: "pending" as const };
  await orm(env.DB).update(uploads).set(patch).where(eq(uploads.id, row.id));
  await requestProbe(env, row);
  return { ...row, ...patch };
}

// ---- headers ----

function bodyDeclared(c: Context<AppEnv>): boolean {
  const length = c.req.header("content-length");
  if (length !== undefined) return length !== "0";
  return c.req.header("transfer-encoding") !== undefined || c.req.header("content-type") !== undefined;
}

function checkOffsetType(c: Context<AppEnv>): void {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== OFFSET_TYPE) throw new ApiError(415, "unsupported_media_type", `Send upload bytes as Content-Type: ${OFFSET_TYPE}`);
}

function parseNonNegative(value: string | undefined, name: string, required: boolean): number | null {
  if (value === undefined) {
    if (required) throw new ApiError(400, "validation_error", `${name} is required`);
    return null;
  }
  if (!/^\d{1,15}$/.test(value.trim())) throw new ApiError(400, "validation_error", `${name} must be a non-negative integer`);
  return Number(value.trim());
}

/** Upload-Metadata: `key base64value` pairs separated by commas; a value may be absent. */
export function parseMetadata(header: string): Record<string, string> {
  if (header.length > MAX_METADATA_LENGTH) throw new ApiError(400, "validation_error", `Upload-Metadata is longer than ${MAX_METADATA_LENGTH} characters`);
  const out: Record<string, string> = {};
  if (header.trim() === "") return out;
  for (const pair of header.split(",")) {
    const match = /^\s*([^\s,]+)(?: ([A-Za-z0-9+/]*={0,2}))?\s*$/.exec(pair);
    if (!match) throw new ApiError(400, "validation_error", "Upload-Metadata must be comma-separated `key base64value` pairs");
    const [, key, encoded] = match;
    if (Object.hasOwn(out, key!)) throw new ApiError(400, "validation_error", `Upload-Metadata repeats the key ${key}`);
    let value = "";
    if (encoded) {
      try {
        value = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0)));
      } catch {
        throw new ApiError(400, "validation_error", `Upload-Metadata value of ${key} is not base64 of UTF-8 text`);
      }
    }
    out[key!] = value;
  }
  return out;
}
