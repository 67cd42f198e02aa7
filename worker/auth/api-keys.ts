import { and, eq, inArray, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { apiKeyOrganizations, apiKeys } from "../db/schema";
import { newId, nowIso, sha256Hex } from "../ids";
import { cacheKey, cachedKey, forgetKey } from "./key-cache";
import type { KeyRecord } from "./key-record";
import type { PolicyStatement } from "./policy";
import { randomHex } from "../bytes";


/** Looks a presented secret up by its hash; revoked and unknown keys are both null. */
export async function findKeyBySecret(db: D1Database, secret: string): Promise<KeyRecord | null> {
  const secretHash = await sha256Hex(secret);
  const cached = cachedKey(secretHash);
  if (cached) return cached;
  const rows = await drizzle(db)
    .select({ keyId: apiKeys.id, statements: apiKeys.statements, orgId: apiKeyOrganizations.orgId })
    .from(apiKeys)
    .innerJoin(apiKeyOrganizations, eq(apiKeyOrganizations.keyId, apiKeys.id))
    .where(and(eq(apiKeys.secretHash, secretHash), isNull(apiKeys.revokedAt)));
  const first = rows[0];
  if (!first) return null;
  const record = { keyId: first.keyId, statements: first.statements, orgIds: rows.map((r) => r.orgId) };
  cacheKey(secretHash, record);
  return record;
}

export interface CreatedKey {
  id: string;
  name: string;
  secret: string;
  secretPrefix: string;
  statements: PolicyStatement[];
  orgIds: string[];
  createdAt: string;
}

export async function createKey(
  db: D1Database,
  input: { name: string; statements: PolicyStatement[]; orgIds: string[] },
): Promise<CreatedKey> {
  const secret = `sk_${randomHex(32)}`;
  const key = {
    id: newId("key"),
    name: input.name,
    secret,
    secretPrefix: secret.slice(0, 11),
    statements: input.statements,
    orgIds: input.orgIds,
    createdAt: nowIso(),
  };
  const orm = drizzle(db);
  await orm.batch([
    orm.insert(apiKeys).values({
      id: key.id,
      name: key.name,
      secretHash: await sha256Hex(secret),
      secretPrefix: key.secretPrefix,
      statements: key.statements,
      createdAt: key.createdAt,
    }),
    ...input.orgIds.map((orgId) => orm.insert(apiKeyOrganizations).values({ keyId: key.id, orgId })),
  ]);
  return key;
}

export async function listKeys(db: D1Database, orgId: string) {
  return drizzle(db)
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      secretPrefix: apiKeys.secretPrefix,
      statements: apiKeys.statements,
      createdAt: apiKeys.createdAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .innerJoin(apiKeyOrganizations, eq(apiKeyOrganizations.keyId, apiKeys.id))
    .where(eq(apiKeyOrganizations.orgId, orgId))
    .orderBy(apiKeys.createdAt, apiKeys.id);
}

/** Revokes a key that belongs to `orgId`; false when there is no such key. */
export async function revokeKey(db: D1Database, orgId: string, keyId: string): Promise<boolean> {
  const owned = await drizzle(db)
    .select({ keyId: apiKeyOrganizations.keyId })
    .from(apiKeyOrganizations)
    .where(and(eq(apiKeyOrganizations.keyId, keyId), eq(apiKeyOrganizations.orgId, orgId)));
  if (owned.length === 0) return false;
  await drizzle(db)
    .update(apiKeys)
    .set({ revokedAt: nowIso() })
    .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)));
  forgetKey(keyId);
  return true;
}

/** Which of `keyIds` no longer authorise anything: revoked, or gone. One indexed read, uncached, for open watches. */
export async function lapsedKeyIds(db: D1Database, keyIds: string[]): Promise<Set<string>> {
  if (keyIds.length === 0) return new Set();
  const live = await drizzle(db).select({ id: apiKeys.id }).from(apiKeys).where(and(inArray(apiKeys.id, keyIds), isNull(apiKeys.revokedAt)));
  const standing = new Set(live.map((r) => r.id));
  return new Set(keyIds.filter((id) => !standing.has(id)));
}
