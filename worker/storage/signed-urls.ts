import type { Env } from "../env";
import { fromBase64Url, toBase64Url } from "../bytes";
import { StorageSigningError, hmacKey, signingSecret } from "./hmac";
import { FORBIDDEN_CHARS, encodeKeyPath, keyProblem, prefixProblem } from "./keys";

/**
 * Signed URLs for managed storage (R2 behind the Worker's /storage routes).
 *
 * Two shapes:
 *
 * - object scope, one key and one method:
 *   `/storage/<key>?method=GET|PUT&expires=<unix s>[&max=<bytes>][&ctype=<type>]&sig=<b64url>`
 * - prefix scope, GET only, any key that begins with a signed prefix:
 *   `/storage/p/<expires>/<depth>/<sig>/<prefix segments…>/<rest of key>`
 *   The signature sits in the path because players resolve playlist entries relative
 *   to the playlist's URL, which drops the query string. The prefix is a folder (ending
 *   in "/"; `depth` is its number of segments) or a folder and a file-name stem
 *   (`depth` is `<segments>.<stem length>`: "jobs/j/out_1." reaches a thumbnail set's
 *   `out_1.001.jpg`… or a storyboard's sprite sheet beside it, and nothing else of the
 *   job). A whole job's folder is never a prefix: it would reach every output of the job.
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
   * GET only: "prefix" lets the URL also reach every key that begins with `prefix`, a
   * folder ending in "/" or a folder and a file-name stem (default: the key's directory,
   * e.g. "jobs/j/out/" for "jobs/j/out/master.m3u8").
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
  /** Prefix scope: the signed prefix (a folder ending in "/", or a folder and a stem). */
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

export const MAX_EXPIRES_IN_SECONDS = 7 * 24 * 3600;
const MAX_CONTENT_TYPE_LENGTH = 255;
const CANONICAL_VERSION = "KILN-STORAGE-V1";
const PREFIX_MARKER = "p";
const JOB_FOLDER = /^jobs\/[^/]+\/$/;

/**
 * Why `prefix` cannot be signed: not a folder ("a/b/") or a folder and a stem
 * ("a/b/out_1."), or a whole job's folder. Null when it can.
 */
function signablePrefixProblem(prefix: string): string | null {
  if (typeof prefix !== "string") return "prefix must be a string";
  const cut = prefix.lastIndexOf("/");
  if (cut < 1) return "prefix must hold a folder";
  const folderIssue = prefixProblem(prefix.slice(0, cut + 1));
  if (folderIssue) return folderIssue;
  if (cut < prefix.length - 1 && keyProblem(prefix) !== null) return "the file-name stem is not a valid key segment";
  if (JOB_FOLDER.test(prefix)) return "a job's whole folder reaches all of its outputs; sign an output's folder or stem";
  return null;
}

/** The `depth` path segment: the folder's segment count, and the stem's length when there is one. */
function depthOf(prefix: string): string {
  const cut = prefix.lastIndexOf("/");
  const segments = prefix.slice(0, cut).split("/").length;
  const stem = prefix.length - cut - 1;
  return stem === 0 ? String(segments) : `${segments}.${stem}`;
}

/** The prefix a `depth` path segment marks out of the key's segments (depthOf read back); null when it is malformed. */
function prefixAt(depthText: string, keySegments: string[]): string | null {
  const [segmentText, stemText, ...extra] = depthText.split(".");
  const depth = parseIntStrict(segmentText ?? null);
  const stem = stemText === undefined ? 0 : parseIntStrict(stemText);
  if (depth === null || stem === null || extra.length > 0 || depth < 1 || depth >= keySegments.length) return null;
  if (stemText !== undefined && (stem < 1 || stem > keySegments[depth]!.length)) return null;
  return keySegments.slice(0, depth).join("/") + "/" + keySegments[depth]!.slice(0, stem);
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
    const prefixIssue = signablePrefixProblem(prefix);
    if (prefixIssue) throw new StorageSigningError(`invalid prefix ${JSON.stringify(prefix)}: ${prefixIssue}`);
    if (!key.startsWith(prefix)) throw new StorageSigningError(`key ${JSON.stringify(key)} is not under prefix ${JSON.stringify(prefix)}`);
    const sig = await sign(secret, { method, scope, subject: prefix, expires });
    return `${base}/storage/${PREFIX_MARKER}/${expires}/${depthOf(prefix)}/${sig}/${encodeKeyPath(key)}`;
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
    const prefix = prefixAt(depthText, keySegments);
    if (expires === null || prefix === null) return invalid("Malformed prefix-scoped URL");
    key = keySegments.join("/");
    sigText = sig;
    canonical = { method: "GET", scope: "prefix", subject: prefix, expires };
  }

  // HMAC-SHA256 is 32 bytes: exactly 43 unpadded base64url characters.
  const sigBytes = sigText.length === 43 ? fromBase64Url(sigText) : null;
  if (!sigBytes) return invalid("Malformed signature");
  const problem = keyProblem(key);
  if (problem) return invalid(`Invalid storage key: ${problem}`);
  // Also refuses the job-wide prefixes signed before outputs were scoped to themselves.
  if (canonical.scope === "prefix" && signablePrefixProblem(canonical.subject)) return invalid("Invalid signed prefix");

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
