/**
 * The rules for object keys in managed storage and in users' buckets: what a key may
 * hold, how it goes into a URL path, and where a job's outputs live.
 */

export const MAX_KEY_BYTES = 1024;

// Control characters (C0, DEL, C1) and the backslash, which URL parsers treat as "/".
export const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\\]/;

// A surrogate with no partner (a JSON "\ud800" parses to one): it has no UTF-8 form, so
// no URL path can carry the key and no store would keep the name as given.
const LONE_SURROGATE = /\p{Cs}/u;

/** Why `key` is not an acceptable object key, or null when it is. */
export function keyProblem(key: string): string | null {
  if (typeof key !== "string" || key.length === 0) return "key is empty";
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) return `key is longer than ${MAX_KEY_BYTES} bytes`;
  if (key.startsWith("/")) return "key must not start with /";
  if (FORBIDDEN_CHARS.test(key)) return "key contains a control character or backslash";
  if (LONE_SURROGATE.test(key)) return "key is not well-formed Unicode (it holds a lone surrogate)";
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

/** The managed-storage key of a job's output file: `jobs/<jobId>/<path>`. */
export function outputKey(jobId: string, path: string): string {
  return `jobs/${jobId}/${path}`;
}
