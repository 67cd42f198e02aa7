import type { Env } from "../env";

// The Worker's HMAC secret (STORAGE_SIGNING_SECRET), shared by signed storage URLs,
// watch tokens and key URLs, each signing strings of its own shape.

/** The value `npm start` passes (scripts/stack.mjs): fine locally, refused in production. */
export const DEVELOPMENT_SIGNING_SECRET = "kiln-dev-storage-signing-secret-not-for-production";
export const MIN_SECRET_LENGTH = 32;

/** Thrown for misuse by the caller or a misconfigured Worker; never for a client's bad URL. */
export class StorageSigningError extends Error {
  override name = "StorageSigningError";
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
