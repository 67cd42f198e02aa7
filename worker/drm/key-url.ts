import type { Env } from "../env";
import { toBase64Url } from "../bytes";
import { hmacKey, signingSecret } from "../storage/hmac";

/**
 * Signed key URLs: `/v1/jobs/<job>/outputs/<output>/key?expires=<unix s>&sig=<b64url>`,
 * an HMAC-SHA256 under the storage signing secret of a canonical string with its own
 * version label, so no storage signature can stand in for a key one. Players get one,
 * fresh, on every read of the job (like output URLs); the same path without a
 * signature takes the organization's API key instead.
 */
const CANONICAL_VERSION = "KILN-DRM-KEY-V1";

export const keyPath = (jobId: string, outputId: string) => `/v1/jobs/${jobId}/outputs/${outputId}/key`;

async function hmac(env: Pick<Env, "STORAGE_SIGNING_SECRET" | "KILN_ENV">, jobId: string, outputId: string, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(signingSecret(env)), new TextEncoder().encode(`${CANONICAL_VERSION}\n${jobId}\n${outputId}\n${expires}`));
  return toBase64Url(mac);
}

export async function signKeyUrl(
  env: Pick<Env, "STORAGE_SIGNING_SECRET" | "KILN_ENV">,
  baseUrl: string,
  jobId: string,
  outputId: string,
  expiresInSeconds: number,
  now = Date.now(),
): Promise<string> {
  const expires = Math.floor(now / 1000) + expiresInSeconds;
  return `${baseUrl.replace(/\/+$/, "")}${keyPath(jobId, outputId)}?expires=${expires}&sig=${await hmac(env, jobId, outputId, expires)}`;
}

export type KeyUrlCheck = { ok: true } | { ok: false; code: "signature_invalid" | "signature_expired"; message: string };

export async function verifyKeyUrl(
  env: Pick<Env, "STORAGE_SIGNING_SECRET" | "KILN_ENV">,
  jobId: string,
  outputId: string,
  query: { expires?: string; sig?: string },
  now = Date.now(),
): Promise<KeyUrlCheck> {
  const expires = Number(query.expires);
  if (!query.sig || !/^\d{1,12}$/.test(query.expires ?? "")) return { ok: false, code: "signature_invalid", message: "The key URL's signature is missing or malformed" };
  const expected = await hmac(env, jobId, outputId, expires);
  // Compared as HMACs of both, so the time taken says nothing about the expected value.
  const [a, b] = await Promise.all([hmac(env, "cmp", expected, 0), hmac(env, "cmp", query.sig, 0)]);
  if (a !== b) return { ok: false, code: "signature_invalid", message: "The key URL's signature does not match" };
  if (expires * 1000 < now) return { ok: false, code: "signature_expired", message: "The key URL has expired; read the job again for a fresh one" };
  return { ok: true };
}
