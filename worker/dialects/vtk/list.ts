import { z } from "zod";
import { ApiError, validationFailure } from "../../errors";
import type { JobFilters } from "../../jobs/service";
import { type VtkStatus, statusRows } from "./status";

const commaList = (item: z.ZodString) =>
  z
    .string()
    .transform((text) => text.split(",").map((s) => s.trim()).filter((s) => s !== ""))
    .pipe(z.array(item).max(20));

/** Paging shared by every VTK list: `limit` (default 50, at most 200) and `offset`. */
export const pagingQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

/** GET …/jobs's query (docs: Jobs → List jobs). */
const jobListQuery = pagingQuery.extend({
  sort: z.enum(["-modified", "modified", "-created", "created"]).default("-modified"),
  status: commaList(z.string().regex(/^[0-6]$/, "a status code 0–6")).optional(),
  job_bundle: z.string().min(1).max(128).optional(),
  tag: commaList(z.string().max(64)).optional(),
  search: z.string().min(1).max(128).optional(),
});
export type JobListQuery = z.infer<typeof jobListQuery>;

export function parseQuery<T>(schema: z.ZodType<T>, query: Record<string, string>): T {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw validationFailure(parsed.error, "query");
  return parsed.data;
}

export const parseJobListQuery = (query: Record<string, string>) => parseQuery(jobListQuery, query);

/** The job service's filters for a VTK list; `bundle` (a bundle's own list) overrides `job_bundle`. */
export function jobFilters(query: JobListQuery, bundle?: string): JobFilters {
  return {
    statuses: [],
    anyOf: (query.status ?? []).map((code) => statusRows[Number(code) as VtkStatus]),
    tags: query.tag ?? [],
    search: query.search ?? null,
    bundle: bundle ?? query.job_bundle ?? null,
    limit: query.limit,
    offset: query.offset,
    cursor: null,
    sortBy: query.sort.endsWith("created") ? "created" : "modified",
    order: query.sort.startsWith("-") ? "desc" : "asc",
  };
}

/** DRF's limit/offset page: `count` (the whole filtered set), `next`/`previous` page URLs, `results`. */
export function page<T>(url: string, paging: { limit: number; offset: number }, count: number, results: T[]) {
  const at = (offset: number) => {
    const link = new URL(url);
    link.searchParams.set("limit", String(paging.limit));
    link.searchParams.set("offset", String(offset));
    return link.toString();
  };
  return {
    count,
    next: paging.offset + results.length < count ? at(paging.offset + paging.limit) : null,
    previous: paging.offset > 0 ? at(Math.max(0, paging.offset - paging.limit)) : null,
    results,
  };
}

export const invalidAction = (action: string | undefined) =>
  new ApiError(400, "validation_error", `action: ${action === undefined ? "required" : JSON.stringify(action)}; one of abort, restart, resubmit`);
