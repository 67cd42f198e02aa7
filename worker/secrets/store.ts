import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { secrets } from "../db/schema";
import { ApiError } from "../errors";
import { afterCursor, pageOf } from "../pagination";
import { SECRET_NAME } from "../origins/uri";

export type SecretRow = typeof secrets.$inferSelect;

const SECRET_ID = /^sec_[a-z0-9]{1,64}$/;

const orm = (db: D1Database) => drizzle(db);

/** False when the org already has a secret of that name (the unique index decides, so two racing creates cannot both win). */
export async function insertSecret(db: D1Database, row: typeof secrets.$inferInsert): Promise<boolean> {
  const inserted = await orm(db).insert(secrets).values(row).onConflictDoNothing().returning({ id: secrets.id });
  return inserted.length > 0;
}

/** The organization's secret, or null (another org's secret is as absent as a missing one). */
export async function findSecret(db: D1Database, orgId: string, id: string): Promise<SecretRow | null> {
  if (!SECRET_ID.test(id)) return null;
  const rows = await orm(db).select().from(secrets).where(and(eq(secrets.id, id), eq(secrets.orgId, orgId))).limit(1);
  return rows[0] ?? null;
}

/** By the name jobs use in `s3://{name}@bucket/…`. */
export async function findSecretByName(db: D1Database, orgId: string, name: string): Promise<SecretRow | null> {
  if (!SECRET_NAME.test(name)) return null;
  const rows = await orm(db).select().from(secrets).where(and(eq(secrets.orgId, orgId), eq(secrets.name, name))).limit(1);
  return rows[0] ?? null;
}

/** Removes the row, and with it the only copy of the encrypted credentials. */
export async function deleteSecret(db: D1Database, row: SecretRow): Promise<void> {
  await orm(db).delete(secrets).where(and(eq(secrets.id, row.id), eq(secrets.orgId, row.orgId)));
}

export function secretNotFound(id: string): ApiError {
  return new ApiError(404, "not_found", `No secret ${id}`);
}

/**
 * The last four characters of the access key id: enough to tell keys apart, too little
 * to use. A short id (a local test server's) would be mostly revealed, so it gets none.
 */
export function accessKeyHint(accessKeyId: string): string {
  return accessKeyId.length >= 12 ? `…${accessKeyId.slice(-4)}` : "…";
}

/** The API view: never the credentials, only the access key hint. */
export function secretView(row: SecretRow) {
  return {
    id: row.id,
    object: "secret" as const,
    name: row.name,
    access_key_hint: row.accessKeyHint,
    region: row.region,
    endpoint: row.endpoint,
    created_at: row.createdAt,
  };
}

/** Newest first, ties broken by id. */
export async function listSecrets(db: D1Database, query: { orgId: string; limit: number; cursor: string | null }) {
  const filters = [eq(secrets.orgId, query.orgId)];
  if (query.cursor !== null) filters.push(afterCursor(secrets.createdAt, secrets.id, query.cursor));
  const rows = await orm(db)
    .select()
    .from(secrets)
    .where(and(...filters))
    .orderBy(desc(secrets.createdAt), desc(secrets.id))
    .limit(query.limit + 1);
  const { page, has_more, next_cursor } = pageOf(rows, query.limit);
  return { object: "list" as const, data: page.map(secretView), has_more, next_cursor };
}
