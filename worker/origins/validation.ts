import type { Env } from "../env";
import { keyProblem } from "../storage/keys";
import { webhookUrlRefusal } from "../webhooks/url-policy";
import type { OriginProvider } from "./store";

/** S3 and R2 bucket names: 3–63 of a-z 0-9 . -, starting and ending alphanumeric. */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** GCS also allows _ and, with dots, longer names. */
const GCS_BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

export function bucketProblem(provider: OriginProvider, bucket: string): string | null {
  const shape = provider === "gcs" ? GCS_BUCKET : S3_BUCKET;
  if (!shape.test(bucket)) {
    return provider === "gcs"
      ? "a GCS bucket name: 3–222 of a-z 0-9 . _ -, starting and ending with a letter or digit"
      : "a bucket name: 3–63 of a-z 0-9 . -, starting and ending with a letter or digit";
  }
  if (bucket.includes("..")) return "must not contain ..";
  if (IPV4.test(bucket)) return "must not look like an IP address";
  return null;
}

/** `path` as stored: no leading or trailing slash; null for the bucket's root. */
export function normalizeOriginPath(path: string | undefined): string | null {
  if (path === undefined) return null;
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "");
  return trimmed === "" ? null : trimmed;
}

export function originPathProblem(path: string): string | null {
  const problem = keyProblem(path);
  return problem && problem.replace(/^key/, "path");
}

/** Shape rules for `endpoint` that do not depend on the environment. */
export function endpointShapeProblem(endpoint: string): string | null {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "not a valid URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an https URL";
  if (url.username || url.password) return "must not carry credentials";
  if (url.search || url.hash || endpoint.includes("?") || endpoint.includes("#")) return "must not have a query or fragment";
  if (url.pathname !== "/") return "must be the service's base URL (no path); put the folder in path";
  return null;
}

/**
 * Environment rules: in production only https, and not a private or loopback host (the
 * Worker would otherwise sign requests into networks the user does not own). Outside
 * production plain http is allowed, for a local S3 server. The Worker tests run in
 * production mode against a local S3 server, named in TEST_ONLY_ALLOWED_S3_ENDPOINT.
 */
export function endpointRefusal(endpoint: string, env: Pick<Env, "KILN_ENV" | "TEST_ONLY_ALLOWED_S3_ENDPOINT">): string | null {
  const url = new URL(endpoint);
  if (env.KILN_ENV !== "production") return null;
  if (env.TEST_ONLY_ALLOWED_S3_ENDPOINT && url.origin === env.TEST_ONLY_ALLOWED_S3_ENDPOINT) return null;
  if (url.protocol !== "https:") return "must be an https URL";
  return webhookUrlRefusal(endpoint, env);
}

/** The stored form: the URL's origin, without a trailing slash. */
export function normalizeEndpoint(endpoint: string | undefined): string | null {
  return endpoint === undefined ? null : new URL(endpoint).origin;
}
