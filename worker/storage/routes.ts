import { Hono } from "hono";
import type { Context } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../env";
import { ApiError, errorResponse } from "../errors";
import { contentTypeFor } from "./content-types";
import { uploadObjectStored } from "../uploads/store";
import { isUploadGone } from "./multipart";
import { type MultipartPart, type StorageClaims, verifyStorageUrl } from "./signed-urls";

/**
 * Managed storage behind signed URLs (worker/storage/signed-urls.ts), mounted at /storage
 * outside /v1 auth: the signature is the authorization. PUT writes an object (or, for
 * a part URL, one part of a multipart upload); GET and HEAD serve one with ranges, ETags
 * and CORS so a browser player can stream directly.
 */
export const storageRoutes = new Hono<AppEnv>();

storageRoutes.use(
  "*",
  cors({
    origin: "*",
    allowMethods: ["GET", "HEAD", "PUT", "OPTIONS"],
    allowHeaders: ["Range", "If-None-Match", "If-Range", "Content-Type"],
    exposeHeaders: ["Content-Range", "Content-Length", "ETag", "Accept-Ranges", "Content-Type", "X-Request-ID"],
    maxAge: 86400,
  }),
);

// Objects are served from the API's origin: never let one run as a document there.
const SAFETY_HEADERS = { "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox" };

async function authorize(c: Context<AppEnv>): Promise<StorageClaims | Response> {
  const result = await verifyStorageUrl(c.env, c.req.raw);
  if (!result.ok) return errorResponse(c, new ApiError(403, result.reason, result.message));
  return result.claims;
}

storageRoutes.put("/*", async (c) => {
  const claims = await authorize(c);
  if (claims instanceof Response) return claims;

  const lengthHeader = c.req.header("content-length");
  if (lengthHeader === undefined) return errorResponse(c, new ApiError(411, "length_required", "Uploads must declare Content-Length"));
  if (!/^\d{1,15}$/.test(lengthHeader)) return errorResponse(c, new ApiError(400, "validation_error", "Content-Length is not a number"));
  const length = Number(lengthHeader);
  if (claims.maxBytes !== undefined && length > claims.maxBytes) {
    return errorResponse(c, new ApiError(413, "payload_too_large", `This URL accepts at most ${claims.maxBytes} bytes`));
  }
  if (claims.part) return putPart(c, claims as StorageClaims & { part: MultipartPart }, length);
  const declaredType = c.req.header("content-type");
  if (claims.contentType !== undefined && normalizeType(declaredType) !== normalizeType(claims.contentType)) {
    return errorResponse(c, new ApiError(415, "unsupported_media_type", `This URL accepts Content-Type ${claims.contentType} only`));
  }
  const contentType = declaredType ?? contentTypeFor(claims.key);

  // The body is counted on its way into a FixedLengthStream, so a body longer or shorter
  // than the declared length fails the write instead of slipping past the size limit.
  const body = c.req.raw.body;
  let object: R2Object | null;
  if (length === 0 || body === null) {
    if (length !== 0) return errorResponse(c, new ApiError(400, "validation_error", "The body is shorter than Content-Length"));
    object = await c.env.MEDIA.put(claims.key, new Uint8Array(0), { httpMetadata: { contentType } });
  } else {
    const { readable, writable } = new FixedLengthStream(length);
    const stored = c.env.MEDIA.put(claims.key, readable, { httpMetadata: { contentType } });
    const [pumped, put] = await Promise.allSettled([pumpExactly(body, writable, length), stored]);
    if (pumped.status === "rejected") {
      if (pumped.reason instanceof LengthMismatch) return errorResponse(c, new ApiError(400, "validation_error", pumped.reason.message));
      throw pumped.reason;
    }
    if (put.status === "rejected") throw put.reason;
    object = put.value;
  }
  if (!object) throw new Error(`R2 put of ${claims.key} returned null`);
  await uploadObjectStored(c.env, object);
  return c.json({ key: object.key, size: object.size, etag: object.httpEtag }, 201);
});

/**
 * One part of an R2 multipart upload. A part URL is signed for the part's exact size
 * (R2 assembles only equal parts and a shorter last one), and the part's ETag comes
 * back in the ETag header, where S3 puts it, for the encoder to report at completion.
 */
async function putPart(c: Context<AppEnv>, claims: StorageClaims & { part: MultipartPart }, length: number): Promise<Response> {
  if (claims.maxBytes !== undefined && length !== claims.maxBytes) {
    return errorResponse(c, new ApiError(400, "validation_error", `This part must be exactly ${claims.maxBytes} bytes, not ${length}`));
  }
  const body = c.req.raw.body;
  if (length === 0 || body === null) return errorResponse(c, new ApiError(400, "validation_error", "A part cannot be empty"));
  const upload = c.env.MEDIA.resumeMultipartUpload(claims.key, claims.part.uploadId);
  const { readable, writable } = new FixedLengthStream(length);
  const [pumped, put] = await Promise.allSettled([pumpExactly(body, writable, length), upload.uploadPart(claims.part.partNumber, readable)]);
  if (pumped.status === "rejected") {
    if (pumped.reason instanceof LengthMismatch) return errorResponse(c, new ApiError(400, "validation_error", pumped.reason.message));
    throw pumped.reason;
  }
  if (put.status === "rejected") {
    // The only way a validly signed part URL fails here is an upload that is over.
    if (isUploadGone(put.reason)) return errorResponse(c, new ApiError(404, "multipart_upload_not_found", "This multipart upload is no longer in progress"));
    throw put.reason;
  }
  const etag = `"${put.value.etag}"`;
  return c.json({ part_number: put.value.partNumber, etag }, 200, { ETag: etag });
}

storageRoutes.get("/*", async (c) => {
  // Hono answers HEAD through this GET route (and drops the body); c.req.method stays HEAD.
  const claims = await authorize(c);
  if (claims instanceof Response) return claims;
  const isHead = c.req.method === "HEAD";
  const maxAge = Math.max(0, claims.expires - Math.floor(Date.now() / 1000));
  // A playlist grows while its package is published as it is encoded, then ends as VOD
  // in place: players must ask again every time (its ETag makes an unchanged one a 304).
  const cacheControl = claims.key.endsWith(".m3u8") ? "private, no-cache" : `private, max-age=${maxAge}`;
  const cacheHeaders = { "Cache-Control": cacheControl, "Accept-Ranges": "bytes" };

  const rangeHeader = c.req.header("range");
  const ifNoneMatch = c.req.header("if-none-match");

  // The common case (a whole object, no validator) is a single R2 read. Ranges,
  // conditionals and HEAD first read the metadata, so that 416 and 304 are decided on
  // the object's real size and ETag rather than on R2's handling of edge cases.
  if (!rangeHeader && !ifNoneMatch && !isHead) {
    const object = await c.env.MEDIA.get(claims.key);
    if (!object) return notFound(c, claims.key);
    return c.body(object.body, 200, { ...cacheHeaders, ...objectHeaders(object, claims.key), "Content-Length": String(object.size) });
  }

  for (let attempt = 0; attempt < 3; attempt++) {
    const head = await c.env.MEDIA.head(claims.key);
    if (!head) return notFound(c, claims.key);
    if (ifNoneMatch !== undefined && etagListMatches(ifNoneMatch, head.httpEtag)) {
      return c.body(null, 304, { ...cacheHeaders, ETag: head.httpEtag, "Last-Modified": head.uploaded.toUTCString() });
    }

    let range: { offset: number; length: number } | null = null;
    const ifRange = c.req.header("if-range");
    // If-Range with a different (or weak, or date) validator means: send the whole object.
    const rangeApplies = rangeHeader !== undefined && (ifRange === undefined || ifRange === head.httpEtag);
    if (rangeApplies) {
      const parsed = parseRange(rangeHeader, head.size);
      if (parsed === "unsatisfiable") {
        c.header("Content-Range", `bytes */${head.size}`);
        c.header("Accept-Ranges", "bytes");
        return errorResponse(c, new ApiError(416, "validation_error", `Range ${rangeHeader} is outside the object (${head.size} bytes)`));
      }
      range = parsed; // null: a syntax we ignore (several ranges, other units) → the whole object
    }

    const status = range ? 206 : 200;
    const headers: Record<string, string> = {
      ...cacheHeaders,
      ...objectHeaders(head, claims.key),
      "Content-Length": String(range ? range.length : head.size),
      ...(range ? { "Content-Range": `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}` } : {}),
    };
    if (isHead) return c.body(null, status, headers);

    const object = await c.env.MEDIA.get(claims.key, { ...(range ? { range } : {}), onlyIf: { etagMatches: head.etag } });
    if (!object) return notFound(c, claims.key);
    if (!("body" in object)) continue; // replaced between the two reads: start over
    return c.body(object.body, status, headers);
  }
  throw new Error(`object ${claims.key} kept changing while being read`);
});

class LengthMismatch extends Error {}

/** Copies `body` into `writable`, failing (and aborting the write) unless it is exactly `length` bytes. */
async function pumpExactly(body: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>, length: number): Promise<void> {
  const reader = body.getReader();
  const writer = writable.getWriter();
  let seen = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.byteLength;
      if (seen > length) throw new LengthMismatch(`The body is longer than its Content-Length (${length})`);
      await writer.write(value);
    }
    if (seen !== length) throw new LengthMismatch(`The body is shorter than its Content-Length (${length})`);
    await writer.close();
  } catch (err) {
    await writer.abort(err).catch(() => {});
    await reader.cancel().catch(() => {});
    throw err;
  }
}

function notFound(c: Context<AppEnv>, key: string): Response {
  return errorResponse(c, new ApiError(404, "not_found", `No object ${key}`));
}

function objectHeaders(object: R2Object, key: string): Record<string, string> {
  const stored = object.httpMetadata?.contentType;
  return {
    // A stored generic type loses to the extension, so an m3u8 uploaded as octet-stream still plays.
    "Content-Type": stored && !/^application\/octet-stream\s*(;|$)/i.test(stored) ? stored : contentTypeFor(key),
    ETag: object.httpEtag,
    "Last-Modified": object.uploaded.toUTCString(),
    ...SAFETY_HEADERS,
  };
}

function normalizeType(type: string | undefined): string {
  return (type ?? "").trim().toLowerCase().replace(/\s*;\s*/g, ";");
}

/** Weak comparison (RFC 9110 §13.1.2): "W/" is ignored on both sides; "*" matches any. */
export function etagListMatches(header: string, etag: string): boolean {
  const strip = (tag: string) => tag.trim().replace(/^W\//, "");
  const target = strip(etag);
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || (t.length > 0 && strip(t) === target);
  });
}

/**
 * One `bytes=` range resolved against the object's size: `{offset, length}`, null for a
 * header to ignore (other units, several ranges, bad syntax: RFC 9110 lets a server
 * serve the whole representation then), or "unsatisfiable" for a 416.
 */
export function parseRange(header: string, size: number): { offset: number; length: number } | null | "unsatisfiable" {
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header.trim());
  if (!match) return null;
  const [, startText = "", endText = ""] = match;
  if (startText === "" && endText === "") return null;
  if (startText === "") {
    const suffix = Number(endText);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(startText);
  if (endText !== "" && Number(endText) < start) return null;
  if (start >= size) return "unsatisfiable";
  const end = endText === "" ? size - 1 : Math.min(Number(endText), size - 1);
  return { offset: start, length: end - start + 1 };
}
