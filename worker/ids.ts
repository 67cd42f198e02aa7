import { toHex } from "./bytes";

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

function encode(bytes: Uint8Array, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[bytes[i % bytes.length]! % 32];
  return out;
}

/** Random id with a type prefix, e.g. `job_…`; 20 symbols of 32 = 100 bits. */
export function newId(prefix: string): string {
  return `${prefix}_${encode(crypto.getRandomValues(new Uint8Array(20)), 20)}`;
}

/** Deterministic id from a secret-free seed, so one seed always names one object. */
export async function derivedId(prefix: string, seed: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed)));
  return `${prefix}_${encode(digest, 20)}`;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return toHex(digest);
}

export function nowIso(): string {
  return new Date().toISOString();
}
