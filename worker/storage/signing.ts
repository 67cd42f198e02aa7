import type { MultipartUpload, SignResponse } from "../../encoder/contract";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { multipartLimits, planParts } from "./multipart";
import { fromBase64Url, toBase64Url } from "../bytes";

/**
 * Signed URLs for managed storage (R2 behind the Worker's /storage routes).
 *
 * Two shapes:
 *
 * - object scope, one key and one method:
 *   `/storage/<key>?method=GET|PUT&expires=<unix s>[&max=<bytes>][&ctype=<type>]&sig=<b64url>`
 * - prefix scope, GET only, any key under a prefix ending in "/":
 *   `/storage/p/<expires>/<depth>/<sig>/<prefix segments…>/<rest of key>`
 *   The signature sits in the path because players resolve playlist entries relative
 *   to the playlist's URL, which drops the query string; `depth` says how many of the
 *   key's segments make up the signed prefix.
 *
 * A URL with a `sig` query parameter is always object scope, so an object key that
 * happens to begin with "p/" stays addressable. An object-scope PUT may name one part of
 * an R2 multipart upload (`&upload=<id>&part=<n>`): the route stores the body as that part.
 *
 * The HMAC-SHA256 is over a canonical string of version, method, scope, key or prefix,
 * expiry and the optional constraints, one per line (keys and content types cannot
 * hold control characters, so the lines cannot be confused).
 */

export type StorageMethod = "GET" | "PUT";

export interface SignOptions {
  method: StorageMethod;
  /** The object the URL points at. */
  key: string;
  expiresInSeconds: number;
  /** PUT only: the largest body accepted (Content-Length). */
  maxBytes?: number;
  /** PUT only: the Content-Type the upload must declare. */
  contentType?: string;
  /**
   * GET only: "prefix" lets the URL also reach every key under `prefix` (default: the
   * key's directory, e.g. "jobs/j/out/" for "jobs/j/out/master.m3u8").
   */
  scope?: "object" | "prefix";
  prefix?: string;
  /** PUT only: the body is this part of this R2 multipart upload of the key. */
  part?: MultipartPart;
}

export interface MultipartPart {
  uploadId: string;
  partNumber: number;
}

export interface StorageClaims {
  method: StorageMethod;
  scope: "object" | "prefix";
  /** The key the request addresses. */
  key: string;
  /** Prefix scope: the signed prefix (ends in "/"). */
  prefix?: string;
  /** Unix seconds. */
  expires: number;
  maxBytes?: number;
  contentType?: string;
  part?: MultipartPart;
}

export type VerifyResult =
  | { ok: true; claims: StorageClaims }
  | { ok: false; reason: "signature_invalid" | "signature_expired"; message: string };

/** The value `npm start` passes (scripts/stack.mjs): fine locally, refused in production. */
export const DEVELOPMENT_SIGNING_SECRET = "kiln-dev-storage-signing-secret-not-for-production";
export const MIN_SECRET_LENGTH = 32;
export const MAX_EXPIRES_IN_SECONDS = 7 * 24 * 3600;
export const MAX_KEY_BYTES = 1024;
const MAX_CONTENT_TYPE_LENGTH = 255;
const CANONICAL_VERSION = "KILN-STORAGE-V1";
const PREFIX_MARKER = "p";

/** Thrown for misuse by the caller or a misconfigured Worker; never for a client's bad URL. */
export class StorageSigningError extends Error {
  override name = "StorageSigningError";
}

// Control characters (C0, DEL, C1) and the backslash, which URL parsers treat as "/".
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\\]/;

/** Why `key` is not an acceptable object key, or null when it is. */
export function keyProblem(key: string): string | null {
  if (typeof key !== "string" || key.length === 0) return "key is empty";
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) return `key is longer than ${MAX_KEY_BYTES} bytes`;
  if (key.startsWith("/")) return "key must not start with /";
  if (FORBIDDEN_CHARS.test(key)) return "key contains a control character or backslash";
  for (const segment of key.split("/")) {
    if (segment === "") return "key has an empty segment (// or a trailing /)";
    if (segment === "." || segment === "..") return `key has a "${segment}" segment`;
  }
  return null;
}

/** Why `prefix` is not an acceptable key prefix (non-empty, ending in "/"), or null. */
export function prefixProblem(prefix: string): string | null {
  if (typeof prefix !== "string" || !prefix.endsWith("/")) return "prefix must end with /";
  const problem = keyProblem(prefix.slice(0, -1));
  return problem && problem.replace(/^key/, "prefix");
}

/** Encodes a key for a URL path, one segment at a time (the slashes stay). */
export function encodeKeyPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** The secret, or a StorageSigningError when it is missing, short, or the dev default in production. */
export function signingSecret(env: Pick<Env, "STORAGE_SIGNING_SECRET" | "KILN_ENV">): string {
  const secret = env.STORAGE_SIGNING_SECRET;
  if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
    throw new StorageSigningError(
      `STORAGE_SIGNING_SECRET is missing or shorter than ${MIN_SECRET_LENGTH} characters; set it with \`wrangler secret put STORAGE_SIGNING_SECRET\``,
    );
  }
  if (env.KILN_ENV === "production" && secret === DEVELOPMENT_SIGNING_SECRET) {
    throw new StorageSigningError(
      "STORAGE_SIGNING_SECRET is the development default that `npm start` uses; production must set its own with `wrangler secret put STORAGE_SIGNING_SECRET`",
    );
  }
  return secret;
}

const keyCache = new Map<string, Promise<CryptoKey>>();
/** An HMAC-SHA256 key for `secret`, imported once per isolate. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
    key.catch(() => keyCache.delete(secret));
  }
  return key;
}

interface Canonical {
  method: StorageMethod;
  scope: "object" | "prefix";
  /** The key (object scope) or the prefix (prefix scope). */
  subject: string;
  expires: number;
  maxBytes?: number;
  contentType?: string;
  part?: MultipartPart;
}

function canonicalString(c: Canonical): string {
  const lines = [CANONICAL_VERSION, c.method, c.scope, c.subject, String(c.expires), c.maxBytes === undefined ? "" : String(c.maxBytes), c.contentType ?? ""];
  // Only part URLs have the two extra lines, so every URL signed before parts existed stays valid.
  if (c.part) lines.push(c.part.uploadId, String(c.part.partNumber));
  return lines.join("\n");
}

async function sign(secret: string, c: Canonical): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(canonicalString(c)));
  return toBase64Url(mac);
}

/**
 * A signed URL for one object (or, with `scope: "prefix"`, for every object under a
 * prefix). `baseUrl` is the Worker's origin (and optional path prefix), without "/storage".
 * `now` (ms) exists for tests that need an already-expired URL.
 */
export async function signStorageUrl(env: Pick<Env, "STORAGE_SIGNING_SECRET" | "KILN_ENV">, options: SignOptions, baseUrl: string, now = Date.now()): Promise<string> {
  const secret = signingSecret(env);
  const { method, key, expiresInSeconds, maxBytes, contentType, part } = options;
  const scope = options.scope ?? "object";
  if (method !== "GET" && method !== "PUT") throw new StorageSigningError(`method must be GET or PUT, not ${String(method)}`);
  const problem = keyProblem(key);
  if (problem) throw new StorageSigningError(`invalid storage key ${JSON.stringify(key)}: ${problem}`);
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_EXPIRES_IN_SECONDS) {
    throw new StorageSigningError(`expiresInSeconds must be an integer from 1 to ${MAX_EXPIRES_IN_SECONDS}`);
  }
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) throw new StorageSigningError("maxBytes must be a non-negative integer");
  if (contentType !== undefined && (contentType.length === 0 || contentType.length > MAX_CONTENT_TYPE_LENGTH || FORBIDDEN_CHARS.test(contentType))) {
    throw new StorageSigningError("contentType must be 1–255 characters without control characters");
  }
  if (method === "GET" && (maxBytes !== undefined || contentType !== undefined || part !== undefined)) {
    throw new StorageSigningError("maxBytes, contentType and part constrain uploads only");
  }
  if (part !== undefined && partProblem(part.uploadId, part.partNumber)) throw new StorageSigningError(`invalid part: ${partProblem(part.uploadId, part.partNumber)}`);
  const base = baseUrl.replace(/\/+$/, "");
  const expires = Math.floor(now / 1000) + expiresInSeconds;

  if (scope === "prefix") {
    if (method !== "GET") throw new StorageSigningError("prefix scope is for GET only");
    const prefix = options.prefix ?? key.slice(0, key.lastIndexOf("/") + 1);
    const prefixIssue = prefixProblem(prefix);
    if (prefixIssue) throw new StorageSigningError(`invalid prefix ${JSON.stringify(prefix)}: ${prefixIssue}`);
    if (!key.startsWith(prefix)) throw new StorageSigningError(`key ${JSON.stringify(key)} is not under prefix ${JSON.stringify(prefix)}`);
    const depth = prefix.split("/").length - 1;
    const sig = await sign(secret, { method, scope, subject: prefix, expires });
    return `${base}/storage/${PREFIX_MARKER}/${expires}/${depth}/${sig}/${encodeKeyPath(key)}`;
  }
  if (scope !== "object") throw new StorageSigningError(`unknown scope ${String(scope)}`);
  if (options.prefix !== undefined) throw new StorageSigningError("prefix needs scope: \"prefix\"");

  const sig = await sign(secret, { method, scope, subject: key, expires, maxBytes, contentType, part });
  const query = new URLSearchParams({ method, expires: String(expires) });
  if (maxBytes !== undefined) query.set("max", String(maxBytes));
  if (contentType !== undefined) query.set("ctype", contentType);
  if (part !== undefined) {
    query.set("upload", part.uploadId);
    query.set("part", String(part.partNumber));
  }
  query.set("sig", sig);
  return `${base}/storage/${encodeKeyPath(key)}?${query}`;
}

const invalid = (message: string): VerifyResult => ({ ok: false, reason: "signature_invalid", message });

const MAX_UPLOAD_ID_LENGTH = 1024;
const MAX_PART_NUMBER = 10_000;

function partProblem(uploadId: string, partNumber: number): string | null {
  if (typeof uploadId !== "string" || uploadId.length === 0 || uploadId.length > MAX_UPLOAD_ID_LENGTH || FORBIDDEN_CHARS.test(uploadId)) {
    return "the upload id must be 1–1024 characters without control characters";
  }
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) return `the part number must be 1…${MAX_PART_NUMBER}`;
  return null;
}

/** Decodes the path segments after "/storage/", or null when one is malformed or holds a "/". */
function decodeSegments(rawPath: string): string[] | null {
  const segments = rawPath.split("/");
  const decoded: string[] = [];
  for (const raw of segments) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment.includes("/")) return null;
    decoded.push(segment);
  }
  return decoded;
}

/** The key a /storage URL addresses, whatever its scope, or null when the path is not one. */
function parseStoragePath(url: URL): { rawPath: string } | null {
  const marker = "/storage/";
  const at = url.pathname.indexOf(marker);
  if (at < 0) return null;
  return { rawPath: url.pathname.slice(at + marker.length) };
}

/**
 * Checks a request against its signed URL: the signature (constant-time, through
 * WebCrypto's HMAC verify), the method (HEAD counts as GET), the expiry and the key's
 * shape. Constraints (max bytes, content type) are returned for the route to enforce.
 * Throws StorageSigningError only when the Worker itself is misconfigured.
 */
export async function verifyStorageUrl(env: Pick<Env, "STORAGE_SIGNING_SECRET" | "KILN_ENV">, request: Request, now = Date.now()): Promise<VerifyResult> {
  const url = new URL(request.url);
  const requestMethod = request.method === "HEAD" ? "GET" : request.method;
  const path = parseStoragePath(url);
  if (!path) return invalid("Not a storage URL");
  const params = url.searchParams;
  for (const name of ["method", "expires", "sig", "max", "ctype", "upload", "part"]) {
    if (params.getAll(name).length > 1) return invalid(`Query parameter ${name} appears more than once`);
  }

  let canonical: Canonical;
  let key: string;
  let sigText: string;
  if (params.has("sig")) {
    const segments = decodeSegments(path.rawPath);
    if (!segments) return invalid("Malformed storage key in the URL");
    key = segments.join("/");
    const method = params.get("method");
    if (method !== "GET" && method !== "PUT") return invalid("The URL names no method");
    const expires = parseIntStrict(params.get("expires"));
    if (expires === null) return invalid("The URL has no valid expiry");
    const maxText = params.get("max");
    const maxBytes = maxText === null ? undefined : parseIntStrict(maxText);
    if (maxBytes === null) return invalid("The URL has a malformed size limit");
    const contentType = params.get("ctype") ?? undefined;
    if (contentType !== undefined && FORBIDDEN_CHARS.test(contentType)) return invalid("The URL has a malformed content type");
    const uploadId = params.get("upload");
    const partText = params.get("part");
    let part: MultipartPart | undefined;
    if (uploadId !== null || partText !== null) {
      const partNumber = parseIntStrict(partText);
      if (uploadId === null || partNumber === null || partProblem(uploadId, partNumber)) return invalid("The URL names a malformed upload part");
      part = { uploadId, partNumber };
    }
    sigText = params.get("sig")!;
    canonical = { method, scope: "object", subject: key, expires, maxBytes, contentType, part };
  } else {
    const segments = decodeSegments(path.rawPath);
    if (!segments || segments[0] !== PREFIX_MARKER || segments.length < 5) return invalid("The URL carries no signature");
    const [, expiresText, depthText, sig, ...keySegments] = segments as [string, string, string, string, ...string[]];
    const expires = parseIntStrict(expiresText);
    const depth = parseIntStrict(depthText);
    if (expires === null || depth === null || depth < 1 || depth >= keySegments.length) return invalid("Malformed prefix-scoped URL");
    key = keySegments.join("/");
    const prefix = keySegments.slice(0, depth).join("/") + "/";
    sigText = sig;
    canonical = { method: "GET", scope: "prefix", subject: prefix, expires };
  }

  // HMAC-SHA256 is 32 bytes: exactly 43 unpadded base64url characters.
  const sigBytes = sigText.length === 43 ? fromBase64Url(sigText) : null;
  if (!sigBytes) return invalid("Malformed signature");
  const problem = keyProblem(key);
  if (problem) return invalid(`Invalid storage key: ${problem}`);
  if (canonical.scope === "prefix" && prefixProblem(canonical.subject)) return invalid("Invalid signed prefix");

  const secret = signingSecret(env);
  const good = await crypto.subtle.verify("HMAC", await hmacKey(secret), sigBytes, new TextEncoder().encode(canonicalString(canonical)));
  if (!good) return invalid("The signature does not match this URL");
  if (canonical.method !== requestMethod) return invalid(`The URL is signed for ${canonical.method}, not ${request.method}`);
  if (Math.floor(now / 1000) >= canonical.expires) return { ok: false, reason: "signature_expired", message: "The signed URL has expired" };

  return {
    ok: true,
    claims: {
      method: canonical.method,
      scope: canonical.scope,
      key,
      ...(canonical.scope === "prefix" ? { prefix: canonical.subject } : {}),
      expires: canonical.expires,
      ...(canonical.maxBytes === undefined ? {} : { maxBytes: canonical.maxBytes }),
      ...(canonical.contentType === undefined ? {} : { contentType: canonical.contentType }),
      ...(canonical.part === undefined ? {} : { part: canonical.part }),
    },
  };
}

function parseIntStrict(text: string | null): number | null {
  if (text === null || !/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}

// ---- export: one batch of upload URLs for the encoder ----

/** How long the encoder has to start each upload once it holds the URLs. */
export const UPLOAD_URL_TTL_SECONDS = 3600;

export interface UploadFile {
  output_id: string;
  path: string;
  content_type: string;
  size_bytes: number;
}

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The managed-storage key of a job's output file: `jobs/<jobId>/<path>`. */
export function outputKey(jobId: string, path: string): string {
  return `jobs/${jobId}/${path}`;
}

/** A 400 for an export listing a path that is absolute, climbs out ("..") or repeats. */
export function assertExportPaths(files: { path: string }[]): void {
  const seen = new Set<string>();
  for (const [index, file] of files.entries()) {
    const problem = keyProblem(file.path)?.replace(/^key/, "path") ?? (seen.has(file.path) ? "path is listed twice" : null);
    if (problem) {
      throw new ApiError(400, "validation_error", `files.${index}.path: ${problem}`, { issues: [{ path: `files.${index}.path`, message: problem }] });
    }
    seen.add(file.path);
  }
}

/**
 * Signs one PUT URL per file the encoder exported, in one batch (the names of HLS
 * segments are known only after encoding). Each URL is bound to its key, the declared
 * size (as the upper limit) and the declared Content-Type. With `multipart` (the encoder
 * can upload in parts), a file over MULTIPART_THRESHOLD_BYTES gets a multipart plan
 * instead (see ./multipart.ts). Paths are relative to the job's folder; one that is
 * absolute, climbs out ("..") or repeats is a 400. `keyOf` places a file elsewhere than
 * `jobs/<jobId>/<path>` (a path template's key).
 */
export async function signUploads(
  env: Pick<Env, "STORAGE_SIGNING_SECRET" | "KILN_ENV" | "MEDIA" | "MULTIPART_THRESHOLD_BYTES" | "MULTIPART_PART_BYTES">,
  baseUrl: string,
  jobId: string,
  files: UploadFile[],
  options: { expiresInSeconds?: number; multipart?: boolean; keyOf?: (file: UploadFile) => string } = {},
): Promise<SignResponse> {
  if (!JOB_ID.test(jobId)) throw new ApiError(400, "validation_error", `Invalid job id ${JSON.stringify(jobId)}`);
  assertExportPaths(files);
  const keyOf = options.keyOf ?? ((file: UploadFile) => outputKey(jobId, file.path));
  const expiresInSeconds = options.expiresInSeconds ?? UPLOAD_URL_TTL_SECONDS;
  const limits = options.multipart ? multipartLimits(env) : null;
  const uploads = await Promise.all(
    files.map(async (file) => {
      const key = keyOf(file);
      if (limits && file.size_bytes > limits.thresholdBytes) {
        const upload = await env.MEDIA.createMultipartUpload(key, { httpMetadata: { contentType: file.content_type } });
        const parts = await Promise.all(
          planParts(file.size_bytes, limits.partBytes).map(async (part) => ({
            ...part,
            url: await signStorageUrl(
              env,
              { method: "PUT", key, expiresInSeconds, maxBytes: part.size_bytes, part: { uploadId: upload.uploadId, partNumber: part.part_number } },
              baseUrl,
            ),
          })),
        );
        return multipartPlan(baseUrl, jobId, file, upload.uploadId, parts);
      }
      return {
        kind: "put" as const,
        path: file.path,
        url: await signStorageUrl(env, { method: "PUT", key, expiresInSeconds, maxBytes: file.size_bytes, contentType: file.content_type }, baseUrl),
        method: "PUT" as const,
        headers: {},
      };
    }),
  );
  return { uploads };
}

/**
 * A multipart plan: the parts' signed URLs (R2 through /storage, or a bucket's
 * presigned UploadPart URLs) and the Worker routes that complete or abort it, authorised
 * by the lease token like signing. The encoder echoes `output_id` and `path` back, so
 * the Worker finds the file's place again.
 */
export function multipartPlan(
  baseUrl: string,
  jobId: string,
  file: UploadFile,
  uploadId: string,
  parts: MultipartUpload["parts"],
): MultipartUpload {
  const routes = `${baseUrl.replace(/\/+$/, "")}/internal/jobs/${jobId}/multipart`;
  return {
    kind: "multipart",
    path: file.path,
    output_id: file.output_id,
    upload_id: uploadId,
    parts,
    headers: {},
    complete_url: `${routes}/complete`,
    abort_url: `${routes}/abort`,
  };
}
