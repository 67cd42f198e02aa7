import { type SQL, type SQLWrapper, and, count, eq, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { drizzle } from "drizzle-orm/d1";
import { type SQLiteSelect, alias } from "drizzle-orm/sqlite-core";
import { jobTags, jobs, orgJobCounts } from "../db/schema";
import type { JobStatus } from "./model";

/**
 * A list's `total_count`, without scanning the organization's jobs: a statement run in the
 * list's batch and what its rows mean. See docs/architecture.md, Listing.
 */
export interface JobCount {
  statement: BatchItem<"sqlite">;
  /** From the statement's rows and the jobs the list has seen (its page, plus one if there is more). */
  total: (rows: unknown, seen: number) => number;
}

/** Filters beyond statuses count at most this many jobs; this many means at least as many. */
export const COUNT_BOUND = 10_000;
/** A search walked through the jobs (a common word) is counted in this many newest jobs and scaled to the rest. */
export const COUNT_WINDOW = 1_000;

type Orm = ReturnType<typeof drizzle>;

/** job_tags under its own name, for a list driven by one tag's rows (its EXISTS filters read plain job_tags). */
export const byTag = alias(jobTags, "by_tag");
const first = (rows: unknown) => ((rows as { n: number; of?: number }[])[0] ?? { n: 0 });

/** Exact: the org's per-status counters (org_job_counts), kept by triggers on `jobs`. */
export function countByStatus(orm: Orm, orgId: string, statuses: JobStatus[]): JobCount {
  return {
    statement: orm
      .select({ n: sql<number>`coalesce(sum(${orgJobCounts.total}), 0)` })
      .from(orgJobCounts)
      .where(and(eq(orgJobCounts.orgId, orgId), statuses.length > 0 ? inArray(orgJobCounts.status, statuses) : undefined)),
    total: (rows) => first(rows).n,
  };
}

/** The jobs with a tag (and `moreTags`, EXISTS filters on byTag.jobId), from job_tags' index alone, up to COUNT_BOUND. */
export function countTagged(orm: Orm, orgId: string, tag: string, moreTags: SQL[]): JobCount {
  const tagged = orm
    .select({ one: sql`1`.as("one") })
    .from(byTag)
    .where(and(eq(byTag.orgId, orgId), eq(byTag.tag, tag), ...moreTags))
    .$dynamic();
  return countMatching(orm, tagged);
}

/** The rows `matching` selects, up to COUNT_BOUND. */
export function countMatching(orm: Orm, matching: SQLiteSelect): JobCount {
  return {
    statement: orm.select({ n: count() }).from(matching.limit(COUNT_BOUND + 1).as("matching")),
    total: (rows) => Math.min(first(rows).n, COUNT_BOUND),
  };
}

/**
 * The jobs matching `filters` among the org's COUNT_WINDOW newest, scaled by the org's size
 * from its counters: exact for an org that small, an estimate beyond, and never fewer than
 * the list has seen (matches older than the window would estimate 0).
 */
export function estimateFromNewest(orm: Orm, orgId: string, filters: SQLWrapper[]): JobCount {
  // The window's oldest (created_at, id), or the org's very first when it holds fewer jobs.
  const edge = (column: string) =>
    sql`coalesce((SELECT j.${sql.identifier(column)} FROM jobs j WHERE j.org_id = ${orgId} ORDER BY j.created_at DESC, j.id DESC LIMIT 1 OFFSET ${COUNT_WINDOW - 1}), '')`;
  return {
    statement: orm
      .select({
        n: count(),
        of: sql<number>`(SELECT coalesce(sum(${orgJobCounts.total}), 0) FROM ${orgJobCounts} WHERE ${orgJobCounts.orgId} = ${orgId})`,
      })
      .from(jobs)
      .where(and(...(filters as SQL[]), sql`(${jobs.createdAt}, ${jobs.id}) >= (${edge("created_at")}, ${edge("id")})`)),
    total: (rows, seen) => {
      const { n, of = 0 } = first(rows);
      return of <= COUNT_WINDOW ? n : Math.max(Math.round((n * of) / COUNT_WINDOW), seen);
    },
  };
}
