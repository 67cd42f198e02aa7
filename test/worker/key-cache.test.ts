import { describe, expect, it } from "vitest";
import { cacheKey, cachedKey, forgetKey } from "../../worker/auth/key-cache";

const record = { keyId: "key_cachetest", statements: [], orgIds: ["org_a"] };

describe("the per-isolate key cache", () => {
  it("serves a key until its TTL passes", () => {
    cacheKey("hash-ttl", record, 1_000);
    expect(cachedKey("hash-ttl", 1_000 + 29_999)).toEqual(record);
    expect(cachedKey("hash-ttl", 1_000 + 30_000)).toBeNull();
    expect(cachedKey("hash-ttl", 1_000)).toBeNull();
  });

  it("forgets every entry of a revoked key at once", () => {
    const now = Date.now();
    cacheKey("hash-a", record, now);
    cacheKey("hash-b", { ...record, keyId: "key_other" }, now);
    forgetKey("key_cachetest");
    expect(cachedKey("hash-a", now)).toBeNull();
    expect(cachedKey("hash-b", now)).not.toBeNull();
  });
});
