import type { Env } from "../env";

/**
 * Origin and secret credentials at rest: AES-256-GCM under the `ORIGIN_CREDENTIALS_KEY`
 * Worker secret (base64 of 32 random bytes; `wrangler secret put ORIGIN_CREDENTIALS_KEY`),
 * a fresh random 12-byte IV per record, and the owning org and the origin's or secret's
 * id as additional authenticated data, so a ciphertext copied onto another row (or from
 * an origin onto a secret) does not decrypt.
 * Stored as `v1.<iv base64>.<ciphertext+tag base64>`; the version prefix leaves room
 * for key rotation (not implemented: one key today).
 */
export interface OriginCredentials {
  access_key_id: string;
  secret_access_key: string;
}

/** The key is missing or malformed: origins refuse to operate rather than store plaintext. */
export class OriginKeyError extends Error {}

const VERSION = "v1";
const keyCache = new Map<string, Promise<CryptoKey>>();

function decodeBase64(text: string): Uint8Array | null {
  try {
    const bin = atob(text.trim().replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

const encodeBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/** The AES-GCM key, or an OriginKeyError saying how to set it (never echoing the value). */
export function originKey(env: Pick<Env, "ORIGIN_CREDENTIALS_KEY">): Promise<CryptoKey> {
  const secret = env.ORIGIN_CREDENTIALS_KEY;
  if (typeof secret !== "string" || secret.trim() === "") {
    throw new OriginKeyError(
      "ORIGIN_CREDENTIALS_KEY is not set; origins need it to encrypt credentials. Set 32 random bytes as base64 with `wrangler secret put ORIGIN_CREDENTIALS_KEY` (e.g. `openssl rand -base64 32`)",
    );
  }
  let key = keyCache.get(secret);
  if (!key) {
    const raw = decodeBase64(secret);
    if (!raw || raw.byteLength !== 32) {
      throw new OriginKeyError("ORIGIN_CREDENTIALS_KEY must be base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)");
    }
    key = crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    keyCache.set(secret, key);
  }
  return key;
}

/** The record a ciphertext belongs to. */
export type CredentialBinding = { orgId: string; originId: string } | { orgId: string; secretId: string };

const aad = (binding: CredentialBinding) =>
  new TextEncoder().encode("originId" in binding ? `kiln-origin:${binding.orgId}:${binding.originId}` : `kiln-secret:${binding.orgId}:${binding.secretId}`);

export async function encryptCredentials(
  env: Pick<Env, "ORIGIN_CREDENTIALS_KEY">,
  binding: CredentialBinding,
  credentials: OriginCredentials,
): Promise<string> {
  const key = await originKey(env);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify({ a: credentials.access_key_id, s: credentials.secret_access_key }));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(binding) }, key, plain),
  );
  return `${VERSION}.${encodeBase64(iv)}.${encodeBase64(sealed)}`;
}

export async function decryptCredentials(
  env: Pick<Env, "ORIGIN_CREDENTIALS_KEY">,
  binding: CredentialBinding,
  stored: string,
): Promise<OriginCredentials> {
  const key = await originKey(env);
  const [version, ivText, sealedText] = stored.split(".");
  const iv = ivText ? decodeBase64(ivText) : null;
  const sealed = sealedText ? decodeBase64(sealedText) : null;
  if (version !== VERSION || !iv || iv.byteLength !== 12 || !sealed) throw new OriginKeyError("stored origin credentials are not in a known format");
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad(binding) }, key, sealed);
  } catch {
    throw new OriginKeyError("stored origin credentials do not decrypt under ORIGIN_CREDENTIALS_KEY (wrong key, or a tampered record)");
  }
  const parsed = JSON.parse(new TextDecoder().decode(plain)) as { a: string; s: string };
  return { access_key_id: parsed.a, secret_access_key: parsed.s };
}
