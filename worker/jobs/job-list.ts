import { type SQL, type SQLWrapper, and, asc, desc, eq, exists, getTableColumns, gte, inArray, isNull, lte, notInArray, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteSelectQueryBuilder } from "drizzle-orm/sqlite-core";
import { jobTags, jobs } from "../db/schema";
import { afterCursor, pageOf } from "../pagination";
import { type JobCount, byTag as tagRows, countByStatus, countMatching, countTagged, estimateFromNewest } from "./job-count";
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

/** The FTS5 trigram index (job_search) finds substrings of at least three characters; shorter ones walk. */
const TRIGRAM = 3;
/**
 * A search with at most this many hits in job_search (every organization's) looks each up
 * and sorts them; one with more (a common word) walks the organization's jobs newest first
 * instead, where matches are dense enough to fill a page soon.
 */
export const SEARCH_HITS = 1_000;

type Orm = ReturnType<typeof drizzle>;

function tagExists(orm: Orm, jobId: SQLWrapper, condition: SQL): SQL {
  return exists(
    orm
      .select({ one: sql`1` })
      .from(jobTags)
      .where(and(eq(jobTags.jobId, jobId), condition)),
  );
}

/** The FTS5 query for `text` anywhere: one phrase, its quotes doubled. */
const phrase = (text: string) => `"${text.replaceAll('"', '""')}"`;

/** How many job_search rows hold `text`, counted up to SEARCH_HITS + 1. */
async function searchHits(db: D1Database, text: string): Promise<number> {
  const row = await db
    .prepare("SELECT count(*) AS hits FROM (SELECT 1 FROM job_search WHERE job_search MATCH ? LIMIT ?)")
    .bind(phrase(text), SEARCH_HITS + 1)
    .first<{ hits: number }>();
  return row?.hits ?? 0;
}

/** The job ids whose id or a tag holds `text` (case-insensitive): a superset of the LIKE test. */
const inSearchIndex = (id: SQLWrapper, text: string): SQL => sql`${id} IN (SELECT job_id FROM job_search WHERE job_search MATCH ${phrase(text)})`;

/**
 * The jobs after (`before`: before) the job `id` in `(created_at, id)` order, ascending
 * or descending; an id not in the organization matches nothing.
 */
function beyondJob(orgId: string, id: string, ascending: boolean, createdAt: SQLWrapper, jobId: SQLWrapper): SQL {
  const place = sql`((SELECT j.created_at FROM jobs j WHERE j.id = ${id} AND j.org_id = ${orgId}), ${id})`;
  return ascending ? sql`(${createdAt}, ${jobId}) > ${place}` : sql`(${createdAt}, ${jobId}) < ${place}`;
}

/** Newest first (or oldest first), ties broken by id, so pages never skip or repeat a job. */
export async function listJobs(db: D1Database, query: JobListQuery) {
  const orm = drizzle(db);
  const tags = query.tags.map((tag) => tag.toLowerCase());
  // A tag's page walks job_tags in its (org, tag, created_at, job_id) order and looks up each
  // job, instead of walking every job of the organization to test it for the tag.
  const byTag = tags.length > 0 && query.sortBy !== "modified" ? tagRows : null;
  const [firstTag, ...moreTags] = tags;
  const tagFilters = (jobId: SQLWrapper) => (byTag ? moreTags : tags).map((tag) => tagExists(orm, jobId, eq(jobTags.tag, tag)));
  // Filters on the row itself beyond its organization and status.
  const rowFilters: SQL[] = [];
  if (query.bundle !== null) rowFilters.push(eq(jobs.bundle, query.bundle));
  let search: "indexed" | "walked" | null = null;
  if (query.search !== null) {
    const pattern = `%${escapeLike(query.search.toLowerCase())}%`;
    rowFilters.push(
      or(
        eq(jobs.id, query.search),
        sql`${jobs.id} LIKE ${pattern} ESCAPE '\\'`,
        tagExists(orm, jobs.id, sql`${jobTags.tag} LIKE ${pattern} ESCAPE '\\'`),
      )!,
    );
    search = [...query.search].length >= TRIGRAM && (await searchHits(db, query.search)) <= SEARCH_HITS ? "indexed" : "walked";
    if (search === "indexed") rowFilters.push(inSearchIndex(jobs.id, query.search));
  }
  if (query.kind) rowFilters.push(eq(jobs.kind, query.kind));
  if (query.input) rowFilters.push(eq(jobs.input, query.input));
  if (query.dialect) rowFilters.push(eq(jobs.dialect, query.dialect));
  if (query.createdAfter) rowFilters.push(gte(jobs.createdAt, query.createdAfter));
  if (query.createdBefore) rowFilters.push(lte(jobs.createdAt, query.createdBefore));
  if (query.anyOf && query.anyOf.length > 0) rowFilters.push(or(...query.anyOf.map(rowMatch))!);
  for (const [key, value] of Object.entries(query.metadata ?? {})) {
    rowFilters.push(sql`EXISTS (SELECT 1 FROM json_each(${jobs.metadata}) WHERE json_each.key = ${key} AND CAST(json_each.value AS TEXT) = ${value})`);
  }
  // A search's few hits are looked up by id and sorted; the unary + keeps SQLite from
  // walking the organization's index instead and testing every job against them.
  const inOrg = search === "indexed" && !byTag ? sql`+${jobs.orgId} = ${query.orgId}` : eq(jobs.orgId, query.orgId);
  const statuses = query.statuses.length > 0 ? [inArray(jobs.status, query.statuses)] : [];
  const filters = [inOrg, ...statuses, ...tagFilters(jobs.id), ...rowFilters];
  const matching = <T extends SQLiteSelectQueryBuilder>(select: T) =>
    byTag ? select.innerJoin(byTag, and(eq(byTag.jobId, jobs.id), eq(byTag.orgId, query.orgId), eq(byTag.tag, firstTag!))) : select;
  // Order and cursor on the driving table's columns, so SQLite reads its index in order.
  const createdAt = byTag ? byTag.createdAt : jobs.createdAt;
  const jobId = byTag ? byTag.jobId : jobs.id;
  // A page before a job is read walking away from it (the reverse order), then turned back.
  const backwards = Boolean(query.beforeId);
  const ascending = (query.order === "asc") !== backwards;
  const by = ascending ? asc : desc;
  const page = [...filters];
  if (query.cursor !== null) page.push(afterCursor(createdAt, jobId, query.cursor));
  const anchor = query.beforeId || query.afterId;
  if (anchor) page.push(beyondJob(query.orgId, anchor, ascending, createdAt, jobId));
  const time = query.sortBy === "modified" ? jobs.updatedAt : createdAt;

  let counting: JobCount;
  if (!byTag && filters.length === 1 + statuses.length) counting = countByStatus(orm, query.orgId, query.statuses);
  else if (byTag && statuses.length === 0 && rowFilters.length === 0) counting = countTagged(orm, query.orgId, firstTag!, tagFilters(byTag.jobId));
  else if (search === "walked" && !byTag) counting = estimateFromNewest(orm, query.orgId, filters);
  else counting = countMatching(orm, matching(orm.select({ one: sql`1`.as("one") }).from(jobs).$dynamic()).where(and(...filters)));
  const [rows, totals] = await orm.batch([
    matching(orm.select(getTableColumns(jobs)).from(jobs).$dynamic())
      .where(and(...page))
      .orderBy(by(time), by(jobId))
      .limit(query.limit + 1)
      .offset(query.offset ?? 0),
    counting.statement,
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
    total_count: counting.total(totals, walked.length + (next_cursor ? 1 : 0)),
  };
}
