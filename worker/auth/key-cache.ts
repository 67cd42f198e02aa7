import type { KeyRecord } from "./key-record";

/**
 * Resolved API keys, per isolate, by secret hash. Every authenticated request needs
 * its key; without this each one would pay a D1 round trip before doing any work.
 * The price is that revoking a key takes up to TTL_MS to reach other isolates (the
 * isolate that revokes forgets the key at once). Only keys that exist are cached.
 */
const TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;
const entries = new Map<string, { record: KeyRecord; expiresAt: number }>();

export function cachedKey(secretHash: string, now = Date.now()): KeyRecord | null {
  const entry = entries.get(secretHash);
  if (!entry) return null;
  if (entry.expiresAt <= now) {
    entries.delete(secretHash);
    return null;
  }
  return entry.record;
}

export function cacheKey(secretHash: string, record: KeyRecord, now = Date.now()): void {
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  entries.set(secretHash, { record, expiresAt: now + TTL_MS });
}

export function forgetKey(keyId: string): void {
  for (const [hash, entry] of entries) if (entry.record.keyId === keyId) entries.delete(hash);
}
