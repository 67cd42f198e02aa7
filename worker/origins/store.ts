import { and, desc, eq, like } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { origins } from "../db/schema";
import { ApiError } from "../errors";
import { afterCursor, pageOf } from "../pagination";

export type OriginRow = typeof origins.$inferSelect;
export type OriginProvider = OriginRow["provider"];
export const originProviders = ["s3", "r2", "gcs"] as const satisfies readonly OriginProvider[];
export const originPermissionValues = ["read", "write"] as const;
export type OriginPermission = (typeof originPermissionValues)[number];

const ORIGIN_ID = /^ori_[a-z0-9]{1,64}$/;

const orm = (db: D1Database) => drizzle(db);

export async function insertOrigin(db: D1Database, row: typeof origins.$inferInsert): Promise<void> {
  await orm(db).insert(origins).values(row);
}

/** The organization's origin, or null (another org's origin is as absent as a missing one). */
export async function findOrigin(db: D1Database, orgId: string, id: string): Promise<OriginRow | null> {
  if (!ORIGIN_ID.test(id)) return null;
  const rows = await orm(db).select().from(origins).where(and(eq(origins.id, id), eq(origins.orgId, orgId))).limit(1);
  return rows[0] ?? null;
}

/** The organization's origins for one bucket (several may differ in path, provider or endpoint). */
export async function findOriginsForBucket(db: D1Database, orgId: string, bucket: string): Promise<OriginRow[]> {
  return orm(db).select().from(origins).where(and(eq(origins.orgId, orgId), eq(origins.bucket, bucket)));
}

/** Removes the row, and with it the only copy of the encrypted credentials. */
export async function deleteOrigin(db: D1Database, row: OriginRow): Promise<void> {
  await orm(db).delete(origins).where(and(eq(origins.id, row.id), eq(origins.orgId, row.orgId)));
}

export function originNotFound(id: string): ApiError {
  return new ApiError(404, "not_found", `No origin ${id}`);
}

/** The API view: everything but the credentials, which are never returned. */
export function originView(row: OriginRow) {
  return {
    id: row.id,
    object: "origin" as const,
    name: row.name,
    provider: row.provider,
    bucket: row.bucket,
    path: row.path,
    region: row.region,
    endpoint: row.endpoint,
    permissions: JSON.parse(row.permissions) as OriginPermission[],
    created_at: row.createdAt,
  };
}

/** Newest first, ties broken by id; optionally only one provider's, or only those granting a permission. */
export async function listOrigins(
  db: D1Database,
  query: { orgId: string; limit: number; cursor: string | null; provider?: OriginProvider; permission?: OriginPermission },
) {
  const filters = [eq(origins.orgId, query.orgId)];
  if (query.provider !== undefined) filters.push(eq(origins.provider, query.provider));
  // permissions is a JSON array of known words, so the quoted word matches exactly one element.
  if (query.permission !== undefined) filters.push(like(origins.permissions, `%"${query.permission}"%`));
  if (query.cursor !== null) filters.push(afterCursor(origins.createdAt, origins.id, query.cursor));
  const rows = await orm(db)
    .select()
    .from(origins)
    .where(and(...filters))
    .orderBy(desc(origins.createdAt), desc(origins.id))
    .limit(query.limit + 1);
  const { page, has_more, next_cursor } = pageOf(rows, query.limit);
  return { object: "list" as const, data: page.map(originView), has_more, next_cursor };
}
