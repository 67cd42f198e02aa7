import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { AppEnv, Env } from "../../env";
import { signStorageUrl } from "../../storage/signed-urls";
import { probeUpload } from "../../uploads/probe";
import { MIB, UPLOAD_TTL_SECONDS, type UploadRow, findUpload, insertUpload, requestProbe, sanitizeFilename, uploadObjectKey } from "../../uploads/store";
import { ClipzyError, invalidField, missingField } from "./envelope";
import { type ClipzyFormat, SNIFF_BYTES, clipzyFormats, contentTypes, formatOfName, sniffFormat } from "./format";

/**
 * Clipzy's upload (`POST /api/v1/videos/upload`, multipart): the file is checked, stored
 * as a Kiln upload (so its `vid_…` is also a `/v1` job input) and measured by the
 * encoder's ffprobe before the answer.
 */

/**
 * A Worker buffers a multipart body in memory (128 MB per isolate) and most plans cap a
 * request at 100 MB, so the default stays well under both; larger files go through
 * `/v1/uploads` (tus or a signed PUT) and then `POST /api/v1/jobs`.
 */
export const DEFAULT_MAX_FILE_SIZE_MB = 64;

/** Room for the form's other fields and its boundaries beside the file. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

/** How long an upload's `storage_url` can be read. */
const STORAGE_URL_TTL_S = 6 * 3600;

export function maxFileBytes(env: Pick<Env, "CLIPZY_MAX_FILE_SIZE_MB">): number {
  const mb = Number(env.CLIPZY_MAX_FILE_SIZE_MB);
  return Math.floor((Number.isFinite(mb) && mb > 0 ? mb : DEFAULT_MAX_FILE_SIZE_MB) * MIB);
}

const fileTooLarge = (limit: number) => new ClipzyError(413, "FILE_TOO_LARGE", `The file exceeds the ${limit / MIB} MB limit`, "payload_too_large");

/** Refuses a body that cannot hold an acceptable file: at once from its Content-Length, else as it streams in. */
export const uploadBodyLimit: MiddlewareHandler<AppEnv> = (c, next) => {
  const limit = maxFileBytes(c.env);
  return honoBodyLimit({
    maxSize: limit + FORM_OVERHEAD_BYTES,
    onError: () => {
      throw fileTooLarge(limit);
    },
  })(c, next);
};

export interface UploadedFile {
  file: File;
  format: ClipzyFormat;
}

const unsupported = (detail: string) => new ClipzyError(422, "UNSUPPORTED_FORMAT", `${detail}; accepted: ${clipzyFormats.join(", ")}`, "invalid_format");

/** The request's form, or MISSING_FIELD when it is no form at all (so it has no file). */
export async function readForm(c: Context<AppEnv>): Promise<FormData> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(?:multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(type)) throw missingField("file");
  try {
    return await c.req.raw.formData();
  } catch (err) {
    if (err instanceof ClipzyError) throw err;
    throw invalidField("body", "not a readable multipart/form-data body");
  }
}

/** The form's `file`: present, within the size limit, and a video by its name and by its first bytes. */
export async function uploadedFile(env: Pick<Env, "CLIPZY_MAX_FILE_SIZE_MB">, form: FormData): Promise<UploadedFile> {
  // workers-types says string; the runtime gives a File for a file part (formdata_parser_supports_files, on by default).
  const file = form.get("file") as File | string | null;
  if (file === null || file === "") throw missingField("file");
  if (typeof file === "string") throw invalidField("file", "must be a file, not a text field");
  const limit = maxFileBytes(env);
  if (file.size > limit) throw fileTooLarge(limit);
  if (formatOfName(file.name) === null) throw unsupported(`${JSON.stringify(file.name)} does not name a video file`);
  const format = sniffFormat(new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer()), file.size);
  if (format === null) throw unsupported(`${JSON.stringify(file.name)} is not a video: its content is none of the accepted containers`);
  return { file, format };
}

/**
 * Stores the file as a ready upload of the organization and has the encoder probe it
 * now, so the answer carries measured metadata. An encoder that is busy or unreachable
 * leaves the probe to the probe queue (the fields stay null until it answers); a probe
 * that finds no readable media is recorded and the upload kept, so the job made for it
 * fails at its first stage with the reason.
 */
export async function storeVideo(env: Env, orgId: string, id: string, { file, format }: UploadedFile): Promise<UploadRow> {
  const filename = sanitizeFilename(file.name) ?? `video.${format}`;
  const key = uploadObjectKey(orgId, id, filename);
  const contentType = contentTypes[format];
  const object = await env.MEDIA.put(key, file, { httpMetadata: { contentType } });
  const now = Date.now();
  const at = new Date(now).toISOString();
  const row = {
    id,
    orgId,
    protocol: "put" as const,
    status: "ready" as const,
    filename,
    contentType,
    key,
    maxBytes: maxFileBytes(env),
    sizeBytes: object.size,
    etag: object.httpEtag,
    createdAt: at,
    updatedAt: at,
    completedAt: at,
    expiresAt: new Date(now + UPLOAD_TTL_SECONDS * 1000).toISOString(),
    probeStatus: "pending" as const,
  };
  await insertUpload(env.DB, row);
  const outcome = await probeUpload(env, { v: 1, upload_id: id, org_id: orgId });
  if (outcome === "busy" || outcome === "unreachable") await requestProbe(env, row);
  return (await findUpload(env.DB, orgId, id))!;
}

/** A signed GET URL of the stored video, on the origin the client called. */
export function storageUrl(env: Env, row: UploadRow, origin: string): Promise<string> {
  return signStorageUrl(env, { method: "GET", key: row.key, expiresInSeconds: STORAGE_URL_TTL_S }, origin);
}
