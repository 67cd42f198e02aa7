import { and, desc, eq, ne } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { uploadParts, uploads } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { afterCursor, pageOf } from "../pagination";
import { keyProblem } from "../storage/keys";

export type UploadRow = typeof uploads.$inferSelect;
export type UploadStatus = UploadRow["status"];

export const GIB = 1024 * 1024 * 1024;
export const MIB = 1024 * 1024;
/** The largest upload either protocol accepts. */
export const MAX_UPLOAD_BYTES = 50 * GIB;
export const DEFAULT_MAX_BYTES = 5 * GIB;
/** How long a direct upload's PUT URL, or an idle tus upload, stays usable. */
export const UPLOAD_TTL_SECONDS = 24 * 3600;

const UPLOAD_ID = /^vid_[a-z0-9]{1,64}$/;

/** `uploads/<org>/<id>/<filename>`: the R2 key of an upload's object. */
export function uploadObjectKey(orgId: string, uploadId: string, filename: string | null): string {
  return `uploads/${orgId}/${uploadId}/${filename ?? "file"}`;
}

/** Where a tus upload keeps the bytes after its last full part (see worker/uploads/tus.ts). */
export function stagingKey(uploadId: string): string {
  return `tus-staging/${uploadId}`;
}

/** Why `name` cannot be an upload's file name (one key segment), or null. */
export function filenameProblem(name: string): string | null {
  if (name.includes("/")) return "must not contain /";
  const problem = keyProblem(name);
  return problem && problem.replace(/^key/, "filename");
}

/** A file name from an untrusted source (tus metadata) made safe as a key segment, or null. */
export function sanitizeFilename(name: string | undefined): string | null {
  if (name === undefined) return null;
  let clean = name.replace(/[\u0000-\u001f\u007f-\u009f\\/]/g, "_").trim();
  while (new TextEncoder().encode(clean).length > 200) clean = clean.slice(0, -1);
  if (clean === "" || clean === "." || clean === "..") return null;
  return filenameProblem(clean) ? null : clean;
}

/** `type/subtype`, lower-case, of the families media arrives in. */
export const MEDIA_TYPE = /^(?:video|audio|image|application)\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export const orm = (db: D1Database) => drizzle(db);

export async function insertUpload(db: D1Database, row: typeof uploads.$inferInsert): Promise<void> {
  await orm(db).insert(uploads).values(row);
}

/** The organization's upload, or null (another org's upload is as absent as a missing one). */
export async function findUpload(db: D1Database, orgId: string, id: string): Promise<UploadRow | null> {
  if (!UPLOAD_ID.test(id)) return null;
  const rows = await orm(db).select().from(uploads).where(and(eq(uploads.id, id), eq(uploads.orgId, orgId))).limit(1);
  return rows[0] ?? null;
}

export function uploadNotFound(id: string): ApiError {
  return new ApiError(404, "not_found", `No upload ${id}`);
}

const isPast = (iso: string, now: number) => Date.parse(iso) <= now;

/**
 * Asks for the encoder's probe of an upload that just became ready (worker/uploads/probe.ts
 * answers the message). A failed send is logged: the upload stays usable, without facts.
 */
export async function requestProbe(env: Pick<Env, "PROBES">, row: Pick<UploadRow, "id" | "orgId">): Promise<void> {
  try {
    await env.PROBES.send({ v: 1, upload_id: row.id, org_id: row.orgId }, { contentType: "json" });
  } catch (err) {
    console.error(JSON.stringify({ level: "error", upload_id: row.id, message: `probe request failed: ${String(err)}` }));
  }
}

/**
 * A direct upload whose object is in R2 becomes `ready` with the object's size and
 * ETag, once: whichever caller's update wins asks for the probe.
 */
async function settleDirectUpload(env: Pick<Env, "DB" | "PROBES">, row: UploadRow, object: R2Object, now: number): Promise<UploadRow> {
  const patch = {
    status: "ready" as const,
    sizeBytes: object.size,
    etag: object.httpEtag,
    contentType: object.httpMetadata?.contentType ?? row.contentType,
    completedAt: object.uploaded.toISOString(),
    updatedAt: new Date(now).toISOString(),
    probeStatus: "pending" as const,
  };
  const won = await orm(env.DB)
    .update(uploads)
    .set(patch)
    .where(and(eq(uploads.id, row.id), eq(uploads.status, "waiting")))
    .returning({ id: uploads.id });
  if (won.length === 0) return (await findUpload(env.DB, row.orgId, row.id)) ?? row;
  await requestProbe(env, row);
  return { ...row, ...patch };
}

const DIRECT_UPLOAD_KEY = /^uploads\/([^/]+)\/(vid_[a-z0-9]{1,64})\/[^/]+$/;

/**
 * Called by the /storage route after every PUT: a direct upload's object has landed,
 * so the upload is ready now rather than the next time someone reads it.
 */
export async function uploadObjectStored(env: Pick<Env, "DB" | "PROBES">, object: R2Object, now = Date.now()): Promise<void> {
  const match = DIRECT_UPLOAD_KEY.exec(object.key);
  if (!match) return;
  const row = await findUpload(env.DB, match[1]!, match[2]!);
  if (row?.protocol === "put" && row.status === "waiting" && row.key === object.key) await settleDirectUpload(env, row, object, now);
}

/**
 * Brings a row up to date with R2. A direct upload is `waiting` until its PUT lands:
 * the object's presence (MEDIA.head) flips it to `ready` with its size and ETag (the
 * /storage route usually has already). An unfinished upload past its expiry becomes
 * `expired` (a tus upload's parts and staged tail are dropped then).
 */
export async function refreshUpload(env: Pick<Env, "DB" | "MEDIA" | "PROBES">, row: UploadRow, now = Date.now()): Promise<UploadRow> {
  if (row.protocol === "put" && row.status === "waiting") {
    const head = await env.MEDIA.head(row.key);
    if (head) return settleDirectUpload(env, row, head, now);
  }
  if ((row.status === "waiting" || row.status === "uploading") && isPast(row.expiresAt, now)) {
    await expireUpload(env, row);
    return { ...row, status: "expired", updatedAt: new Date(now).toISOString() };
  }
  return row;
}

async function dropTusState(env: Pick<Env, "DB" | "MEDIA">, row: UploadRow): Promise<void> {
  if (row.protocol !== "tus") return;
  if (row.multipartId && row.status !== "ready") {
    await env.MEDIA.resumeMultipartUpload(row.key, row.multipartId).abort().catch(() => {});
  }
  await env.MEDIA.delete(stagingKey(row.id));
  await orm(env.DB).delete(uploadParts).where(eq(uploadParts.uploadId, row.id));
}

/**
 * Marks the upload expired (unless its status moved meanwhile) and removes what it
 * stored: the object, and a tus upload's parts and staged tail. False when another
 * caller changed it first.
 */
export async function expireUpload(env: Pick<Env, "DB" | "MEDIA">, row: UploadRow): Promise<boolean> {
  const done = await orm(env.DB)
    .update(uploads)
    .set({ status: "expired", updatedAt: new Date().toISOString(), lockToken: null, lockExpiresAt: null })
    .where(and(eq(uploads.id, row.id), eq(uploads.status, row.status)))
    .returning({ id: uploads.id });
  if (done.length === 0) return false;
  await dropTusState(env, row);
  await env.MEDIA.delete(row.key);
  return true;
}

/** Deletes the object (and any unfinished tus state) and marks the row deleted. */
export async function deleteUpload(env: Pick<Env, "DB" | "MEDIA">, row: UploadRow): Promise<UploadRow> {
  const at = new Date().toISOString();
  await orm(env.DB)
    .update(uploads)
    .set({ status: "deleted", deletedAt: at, updatedAt: at, lockToken: null, lockExpiresAt: null })
    .where(eq(uploads.id, row.id));
  await dropTusState(env, row);
  await env.MEDIA.delete(row.key);
  return { ...row, status: "deleted", deletedAt: at, updatedAt: at };
}

// ---- the API view ----

export function uploadView(row: UploadRow, extra: { upload_url?: string } = {}) {
  return {
    id: row.id,
    object: "upload" as const,
    protocol: row.protocol,
    status: row.status,
    filename: row.filename,
    content_type: row.contentType,
    size_bytes: row.status === "ready" ? row.sizeBytes : null,
    max_bytes: row.protocol === "put" ? row.maxBytes : row.uploadLength,
    bytes_received: row.protocol === "tus" ? row.uploadOffset : row.status === "ready" ? row.sizeBytes : null,
    etag: row.status === "ready" ? row.etag : null,
    probe: probeView(row),
    ...extra,
    expires_at: row.expiresAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    completed_at: row.completedAt,
    deleted_at: row.deletedAt,
  };
}
export type UploadView = ReturnType<typeof uploadView>;

/** What the encoder's probe found, once the upload is ready: null before. */
function probeView(row: UploadRow) {
  if (row.probeStatus === null) return null;
  return {
    status: row.probeStatus,
    metadata: row.probeStatus === "completed" ? row.probeMetadata : null,
    error: row.probeStatus === "failed" ? { code: row.probeErrorCode ?? "input_unreadable", message: row.probeErrorMessage ?? "" } : null,
    probed_at: row.probedAt,
  };
}

// ---- listing ----

/** Newest first, ties broken by id; deleted uploads only when asked for by status. */
export async function listUploads(db: D1Database, query: { orgId: string; status: UploadStatus | null; limit: number; cursor: string | null }) {
  const filters = [eq(uploads.orgId, query.orgId), query.status ? eq(uploads.status, query.status) : ne(uploads.status, "deleted")];
  if (query.cursor !== null) filters.push(afterCursor(uploads.createdAt, uploads.id, query.cursor));
  const rows = await orm(db)
    .select()
    .from(uploads)
    .where(and(...filters))
    .orderBy(desc(uploads.createdAt), desc(uploads.id))
    .limit(query.limit + 1);
  const { page, has_more, next_cursor } = pageOf(rows, query.limit);
  return { object: "list" as const, data: page.map((row) => uploadView(row)), has_more, next_cursor };
}

// ---- as a job input ----

export type UploadInputProblem = { code: "upload_not_found" | "upload_not_ready"; message: string };

/** The ready upload a job input names, or why it cannot be used. */
export async function resolveUploadInput(
  env: Pick<Env, "DB" | "MEDIA" | "PROBES">,
  orgId: string,
  uploadId: string,
): Promise<{ ok: true; upload: UploadRow } | ({ ok: false } & UploadInputProblem)> {
  const found = await findUpload(env.DB, orgId, uploadId);
  if (!found || found.status === "deleted") return { ok: false, code: "upload_not_found", message: `No upload ${uploadId}` };
  const row = await refreshUpload(env, found);
  if (row.status !== "ready") {
    return { ok: false, code: "upload_not_ready", message: `Upload ${uploadId} is ${row.status}, not ready: finish uploading it first` };
  }
  return { ok: true, upload: row };
}

export const isUploadRef = (input: string | undefined | null): input is string => typeof input === "string" && input.startsWith("vid_");
