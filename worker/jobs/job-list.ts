import { type SQL, and, asc, count, desc, eq, exists, gte, inArray, isNull, lte, notInArray, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobTags, jobs } from "../db/schema";
import { afterCursor, pageOf } from "../pagination";
import type { JobStatus } from "./model";

export interface JobListQuery {
  orgId: string;
  statuses: JobStatus[];
  tags: string[];
  search: string | null;
  bundle: string | null;
  limit: number;
  cursor: string | null;
  /** Ittybit's list (worker/dialects/ittybit/list.ts): a kind, an exact input, the order, and a job to page from. */
  kind?: string | null;
  input?: string | null;
  order?: "asc" | "desc";
  /** The jobs after this one in the list's order (instead of a cursor). */
  afterId?: string | null;
  /** The jobs just before this one in the list's order, still listed in that order. */
  beforeId?: string | null;
  /** Transcodely's List: created at or after / at or before (ISO 8601 UTC, as stored). */
  createdAfter?: string | null;
  createdBefore?: string | null;
  /** Transcodely's List: every pair equal (a job indexed before metadata was kept matches none). */
  metadata?: Record<string, string>;
  /** VTK's list: which time orders it (default created), and rows to skip (offset paging, with no cursor). */
  sortBy?: "created" | "modified";
  offset?: number;
  /** VTK's status codes: a row matching any one of these (each a status with conditions of the index). */
  anyOf?: JobRowMatch[];
  /** Clipzy's list: only the jobs this front-end created (rows indexed before the dialect was kept match none). */
  dialect?: string | null;
}

/** Index rows of these statuses, optionally also by their wait for an encoder and their error code. */
export interface JobRowMatch {
  statuses: JobStatus[];
  waitingForEncoder?: boolean;
  errorCodes?: string[];
  notErrorCodes?: string[];
}

function rowMatch(match: JobRowMatch): SQL {
  const conditions: SQL[] = [inArray(jobs.status, match.statuses)];
  if (match.waitingForEncoder !== undefined) conditions.push(eq(jobs.waitingForEncoder, match.waitingForEncoder));
  if (match.errorCodes) conditions.push(inArray(jobs.errorCode, match.errorCodes));
  if (match.notErrorCodes) conditions.push(or(isNull(jobs.errorCode), notInArray(jobs.errorCode, match.notErrorCodes))!);
  return and(...conditions)!;
}


const escapeLike = (text: string) => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);

type Orm = ReturnType<typeof drizzle>;

function tagExists(orm: Orm, condition: SQL): SQL {
  return exists(
    orm
      .select({ one: sql`1` })
      .from(jobTags)
      .where(and(eq(jobTags.jobId, jobs.id), condition)),
  );
}

/**
 * The jobs after (`before`: before) the job `id` in `(created_at, id)` order, ascending
 * or descending; an id not in the organization matches nothing.
 */
function beyondJob(orgId: string, id: string, ascending: boolean): SQL {
  const place = sql`((SELECT j.created_at FROM jobs j WHERE j.id = ${id} AND j.org_id = ${orgId}), ${id})`;
  return ascending ? sql`(${jobs.createdAt}, ${jobs.id}) > ${place}` : sql`(${jobs.createdAt}, ${jobs.id}) < ${place}`;
}

/** Newest first (or oldest first), ties broken by id, so pages never skip or repeat a job. */
export async function listJobs(db: D1Database, query: JobListQuery) {
  const orm = drizzle(db);
  const filters: SQL[] = [eq(jobs.orgId, query.orgId)];
  if (query.statuses.length > 0) filters.push(inArray(jobs.status, query.statuses));
  if (query.bundle !== null) filters.push(eq(jobs.bundle, query.bundle));
  for (const tag of query.tags) filters.push(tagExists(orm, eq(jobTags.tag, tag.toLowerCase())));
  if (query.search !== null) {
    const pattern = `%${escapeLike(query.search.toLowerCase())}%`;
    filters.push(
      or(
        eq(jobs.id, query.search),
        sql`${jobs.id} LIKE ${pattern} ESCAPE '\\'`,
        tagExists(orm, sql`${jobTags.tag} LIKE ${pattern} ESCAPE '\\'`),
      )!,
    );
  }
  if (query.kind) filters.push(eq(jobs.kind, query.kind));
  if (query.input) filters.push(eq(jobs.input, query.input));
  if (query.dialect) filters.push(eq(jobs.dialect, query.dialect));
  if (query.createdAfter) filters.push(gte(jobs.createdAt, query.createdAfter));
  if (query.createdBefore) filters.push(lte(jobs.createdAt, query.createdBefore));
  if (query.anyOf && query.anyOf.length > 0) filters.push(or(...query.anyOf.map(rowMatch))!);
  for (const [key, value] of Object.entries(query.metadata ?? {})) {
    filters.push(sql`EXISTS (SELECT 1 FROM json_each(${jobs.metadata}) WHERE json_each.key = ${key} AND CAST(json_each.value AS TEXT) = ${value})`);
  }
  // A page before a job is read walking away from it (the reverse order), then turned back.
  const backwards = Boolean(query.beforeId);
  const ascending = (query.order === "asc") !== backwards;
  const by = ascending ? asc : desc;
  const page = [...filters];
  if (query.cursor !== null) page.push(afterCursor(jobs.createdAt, jobs.id, query.cursor));
  const anchor = query.beforeId || query.afterId;
  if (anchor) page.push(beyondJob(query.orgId, anchor, ascending));
  const time = query.sortBy === "modified" ? jobs.updatedAt : jobs.createdAt;
  const [rows, totals] = await orm.batch([
    orm
      .select()
      .from(jobs)
      .where(and(...page))
      .orderBy(by(time), by(jobs.id))
      .limit(query.limit + 1)
      .offset(query.offset ?? 0),
    orm.select({ total: count() }).from(jobs).where(and(...filters)),
  ]);
  const { page: walked, next_cursor } = pageOf(rows, query.limit);
  const pageRows = backwards ? walked.reverse() : walked;
  return {
    object: "list" as const,
    data: pageRows.map((row) => ({
      id: row.id,
      object: "job" as const,
      status: row.status as JobStatus,
      progress: row.progress,
      current_stage: row.currentStage,
      priority: row.priority,
      mode: row.mode,
      kind: row.kind,
      input: row.input,
      tags: row.tags,
      bundle: row.bundle,
      error_code: row.errorCode,
      waiting_for_encoder: row.waitingForEncoder,
      created_at: row.createdAt,
      updated_at: row.updatedAt,
      started_at: row.startedAt,
      completed_at: row.completedAt,
    })),
    next_cursor,
    total_count: totals[0]?.total ?? 0,
  };
}
