import { AwsClient } from "aws4fetch";
import type { Env } from "../env";
import { encodeKeyPath, keyProblem } from "../storage/keys";
import { type OriginCredentials, decryptCredentials } from "./crypto";
import type { OriginRow, OriginPermission, OriginProvider } from "./store";

/**
 * The S3 protocol as origins speak it, signed with aws4fetch (SigV4). Every provider is
 * addressed path-style (`<endpoint>/<bucket>/<key>`), which S3, R2, GCS's
 * interoperability endpoint and local S3 servers all accept and which keeps bucket
 * names with dots valid under TLS.
 */
export const GCS_ENDPOINT = "https://storage.googleapis.com";
export const DEFAULT_S3_REGION = "us-east-1";

export interface OriginLocation {
  provider: OriginProvider;
  bucket: string;
  path: string | null;
  region: string;
  endpoint: string | null;
}

export function defaultRegion(provider: OriginProvider): string {
  return provider === "s3" ? DEFAULT_S3_REGION : "auto";
}

/** The endpoint requests go to: the origin's own, or the provider's public one. */
export function resolvedEndpoint(origin: Omit<OriginLocation, "path">): string {
  if (origin.endpoint) return origin.endpoint.replace(/\/+$/, "");
  if (origin.provider === "gcs") return GCS_ENDPOINT;
  if (origin.provider === "s3") return `https://s3.${origin.region}.amazonaws.com`;
  // Validation requires an endpoint for R2 (its account URL); reaching here is a bug.
  throw new Error("an r2 origin has no endpoint");
}

/** The object key `key` lives at inside the origin: under its `path`, if any. */
export function originObjectKey(origin: Pick<OriginLocation, "path">, key: string): string {
  return origin.path ? `${origin.path}/${key}` : key;
}

/** The URL of the object at `bucketKey`, a key from the bucket's root (not under `path`). */
export function bucketObjectUrl(location: Omit<OriginLocation, "path">, bucketKey: string): URL {
  return new URL(`${resolvedEndpoint(location)}/${encodeURIComponent(location.bucket)}/${encodeKeyPath(bucketKey)}`);
}

export function objectUrl(origin: OriginLocation, key: string): URL {
  return bucketObjectUrl(origin, originObjectKey(origin, key));
}

function client(origin: Omit<OriginLocation, "path">, credentials: OriginCredentials): AwsClient {
  return new AwsClient({
    accessKeyId: credentials.access_key_id,
    secretAccessKey: credentials.secret_access_key,
    service: "s3",
    region: origin.region,
    // Probes are answered once; the probe itself decides what a failure means.
    retries: 0,
  });
}

// ---- the access check at creation ----

export type AccessProblem = { code: "origin_access_denied" | "origin_not_found" | "origin_unreachable"; message: string; details: Record<string, unknown> };

const PROBE_TIMEOUT_MS = 10_000;
const ACCESS_DENIED_CODES = new Set(["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "InvalidSecurity", "Unauthorized"]);

/** The `<Code>` of an S3 XML error body, if any. */
function s3ErrorCode(body: string): string | null {
  return /<Code>\s*([A-Za-z0-9.]+)\s*<\/Code>/.exec(body)?.[1] ?? null;
}

async function signedSend(aws: AwsClient, url: URL, init: { method: string; body?: string } = { method: "GET" }): Promise<Response> {
  const request = await aws.sign(url.toString(), { method: init.method, body: init.body });
  // Never follow a redirect: a 301 (wrong region) is an answer, and a redirect must not
  // carry a signed request somewhere the user did not name.
  return fetch(request, { redirect: "manual", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
}

async function classify(step: string, origin: OriginLocation, response: Response): Promise<AccessProblem | null> {
  if (response.ok) return null;
  const body = (await response.text().catch(() => "")).slice(0, 4096);
  const s3Code = s3ErrorCode(body);
  const details = { step, status: response.status, provider_code: s3Code, bucket: origin.bucket };
  if ((s3Code && ACCESS_DENIED_CODES.has(s3Code)) || response.status === 401 || response.status === 403) {
    return {
      code: "origin_access_denied",
      message: `The credentials were refused by bucket ${origin.bucket} (${s3Code ?? `HTTP ${response.status}`} on ${step}); check the access key and that it may ${step === "list" ? "list" : "write to"} the bucket`,
      details,
    };
  }
  if (s3Code === "NoSuchBucket" || response.status === 404) {
    return { code: "origin_not_found", message: `Bucket ${origin.bucket} does not exist at ${resolvedEndpoint(origin)}`, details };
  }
  const hint = s3Code === "PermanentRedirect" || s3Code === "AuthorizationHeaderMalformed" || (response.status >= 300 && response.status < 400)
    ? "; the bucket may be in another region (set region) or at another endpoint"
    : "";
  return { code: "origin_unreachable", message: `Bucket ${origin.bucket} answered ${s3Code ?? `HTTP ${response.status}`} on ${step}${hint}`, details };
}

/**
 * Checks the credentials against the bucket with real signed requests: read → a
 * ListObjectsV2 of at most one key under `path`; write → PUT then DELETE of a tiny
 * probe object under `path`. Null when every granted permission works.
 */
export async function checkOriginAccess(
  origin: OriginLocation,
  credentials: OriginCredentials,
  permissions: readonly OriginPermission[],
): Promise<AccessProblem | null> {
  const aws = client(origin, credentials);
  const base = resolvedEndpoint(origin);
  try {
    if (permissions.includes("read")) {
      const list = new URL(`${base}/${encodeURIComponent(origin.bucket)}`);
      list.searchParams.set("list-type", "2");
      list.searchParams.set("max-keys", "1");
      if (origin.path) list.searchParams.set("prefix", `${origin.path}/`);
      const problem = await classify("list", origin, await signedSend(aws, list));
      if (problem) return problem;
    }
    if (permissions.includes("write")) {
      const probe = objectUrl(origin, `.kiln-origin-check-${crypto.randomUUID()}`);
      const problem = await classify("write", origin, await signedSend(aws, probe, { method: "PUT", body: "kiln origin check\n" }));
      if (problem) return problem;
      const removed = await signedSend(aws, probe, { method: "DELETE" });
      // A 404 on DELETE of what was just written is a consistent answer, not a failure.
      if (!removed.ok && removed.status !== 404) {
        const cleanup = await classify("delete", origin, removed);
        if (cleanup) return cleanup;
      }
    }
    return null;
  } catch (err) {
    const reason = err instanceof Error && err.name === "TimeoutError" ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s` : "the connection failed";
    return { code: "origin_unreachable", message: `Could not reach ${base}: ${reason}`, details: { bucket: origin.bucket } };
  }
}

// ---- presigned URLs for the encoder ----

/** SigV4 query signatures are valid for at most 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export class OriginPresignError extends Error {}

/**
 * A SigV4 query-signed URL (`X-Amz-Signature`, `X-Amz-Expires`) for one object of the
 * origin, for dispatch to hand the encoder: GET needs the `read` permission, PUT `write`.
 * `key` is relative to the origin's `path`.
 */
export async function presignOriginUrl(
  env: Pick<Env, "ORIGIN_CREDENTIALS_KEY">,
  origin: OriginRow,
  options: { method: "GET" | "PUT"; key: string; expiresInSeconds: number },
): Promise<string> {
  const needed: OriginPermission = options.method === "GET" ? "read" : "write";
  if (!originPermissions(origin).includes(needed)) throw new OriginPresignError(`origin ${origin.id} is not granted ${needed}`);
  const problem = keyProblem(options.key);
  if (problem) throw new OriginPresignError(problem);
  const credentials = await decryptCredentials(env, { orgId: origin.orgId, originId: origin.id }, origin.credentials);
  return presignObjectUrl(origin, credentials, { ...options, key: originObjectKey(origin, options.key) });
}

/**
 * The same for any S3-compatible location and credentials (an origin's or a secret's),
 * with `key` from the bucket's root.
 */
export async function presignObjectUrl(
  location: Omit<OriginLocation, "path">,
  credentials: OriginCredentials,
  options: { method: "GET" | "PUT"; key: string; expiresInSeconds: number },
): Promise<string> {
  const problem = keyProblem(options.key);
  if (problem) throw new OriginPresignError(problem);
  const expires = Math.floor(options.expiresInSeconds);
  if (!(expires >= 1 && expires <= MAX_PRESIGN_SECONDS)) throw new OriginPresignError(`expiresInSeconds must be 1…${MAX_PRESIGN_SECONDS}`);
  const url = bucketObjectUrl(location, options.key);
  url.searchParams.set("X-Amz-Expires", String(expires));
  const signed = await client(location, credentials).sign(url.toString(), { method: options.method, aws: { signQuery: true } });
  return signed.url;
}

export function originPermissions(origin: Pick<OriginRow, "permissions">): OriginPermission[] {
  return JSON.parse(origin.permissions) as OriginPermission[];
}
