import { and, asc, count, desc, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobBundles, jobs } from "../db/schema";
import { ApiError } from "../errors";
import { nowIso } from "../ids";

/** A bundle name: what a job's `bundle` may hold. */
export const BUNDLE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export interface BundleRow {
  name: string;
  created_at: string;
}

export const bundleNotFound = (name: string) => new ApiError(404, "bundle_not_found", `No job bundle ${name}`);

/** Creates the organization's bundle `name`; names are unique per organization and never change (409 otherwise). */
export async function createBundle(db: D1Database, orgId: string, name: string): Promise<BundleRow> {
  const createdAt = nowIso();
  const inserted = await drizzle(db).insert(jobBundles).values({ orgId, name, createdAt }).onConflictDoNothing().returning();
  if (inserted.length === 0) throw new ApiError(409, "bundle_exists", `A job bundle named ${name} already exists`);
  return { name, created_at: createdAt };
}

export async function findBundle(db: D1Database, orgId: string, name: string): Promise<BundleRow | null> {
  const row = await drizzle(db)
    .select()
    .from(jobBundles)
    .where(and(eq(jobBundles.orgId, orgId), eq(jobBundles.name, name)))
    .get();
  return row ? { name: row.name, created_at: row.createdAt } : null;
}

export interface BundleListQuery {
  limit: number;
  offset: number;
  sort: "created" | "-created" | "name" | "-name";
  /** Part of the name; `name` is the exact one. */
  search: string | null;
  name: string | null;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);

export async function listBundles(db: D1Database, orgId: string, query: BundleListQuery): Promise<{ count: number; rows: BundleRow[] }> {
  const orm = drizzle(db);
  const filters = [eq(jobBundles.orgId, orgId)];
  if (query.name !== null) filters.push(eq(jobBundles.name, query.name));
  if (query.search !== null) filters.push(sql`lower(${jobBundles.name}) LIKE ${`%${escapeLike(query.search.toLowerCase())}%`} ESCAPE '\\'`);
  const by = query.sort.startsWith("-") ? desc : asc;
  const field = query.sort.endsWith("name") ? jobBundles.name : jobBundles.createdAt;
  const [rows, totals] = await orm.batch([
    orm
      .select()
      .from(jobBundles)
      .where(and(...filters))
      .orderBy(by(field), by(jobBundles.name))
      .limit(query.limit)
      .offset(query.offset),
    orm.select({ total: count() }).from(jobBundles).where(and(...filters)),
  ]);
  return { count: totals[0]?.total ?? 0, rows: rows.map((r) => ({ name: r.name, created_at: r.createdAt })) };
}

/**
 * Figures over the bundle's jobs, summed in one query of the job index (each row holds
 * what its job used; jobs/job-index.ts): counts by state, bytes in and out, run time and
 * compute units.
 */
export async function bundleFigures(db: D1Database, orgId: string, name: string) {
  const row = await drizzle(db)
    .select({
      jobs: count(),
      completed: sql<number>`coalesce(sum(${jobs.status} = 'completed'), 0)`,
      running: sql<number>`coalesce(sum(${jobs.status} IN ('pending', 'probing', 'awaiting_confirmation', 'processing')), 0)`,
      failed: sql<number>`coalesce(sum(${jobs.status} IN ('failed', 'partial')), 0)`,
      aborted: sql<number>`coalesce(sum(${jobs.status} = 'canceled'), 0)`,
      bytesIn: sql<number>`coalesce(sum(${jobs.bytesIn}), 0)`,
      bytesOut: sql<number>`coalesce(sum(${jobs.bytesOut}), 0)`,
      executionMs: sql<number>`coalesce(sum(${jobs.executionMs}), 0)`,
      computeUnits: sql<number>`coalesce(sum(${jobs.computeUnits}), 0)`,
    })
    .from(jobs)
    .where(and(eq(jobs.orgId, orgId), eq(jobs.bundle, name)))
    .get();
  return {
    jobs: row?.jobs ?? 0,
    completed: Number(row?.completed ?? 0),
    running: Number(row?.running ?? 0),
    failed: Number(row?.failed ?? 0),
    aborted: Number(row?.aborted ?? 0),
    bytes_in: Number(row?.bytesIn ?? 0),
    bytes_out: Number(row?.bytesOut ?? 0),
    execution_ms: Number(row?.executionMs ?? 0),
    compute_units: Math.round(Number(row?.computeUnits ?? 0) * 10_000) / 10_000,
  };
}
