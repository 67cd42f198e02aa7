import { z } from "zod";
import { kindSchema } from "../../api/schemas/kinds";
import { validationFailure } from "../../errors";
import type { JobFilters } from "../../jobs/service";
import type { JobStatus } from "../../jobs/model";
import { type IttybitJobStatus, ittybitJobStatus } from "./job";

/** The native statuses each Ittybit status stands for (the inverse of ittybitJobStatus). */
function nativeStatuses(status: IttybitJobStatus): JobStatus[] {
  return (Object.keys(ittybitJobStatus) as JobStatus[]).filter((native) => ittybitJobStatus[native] === status);
}

const jobId = z.string().regex(/^job_[a-z0-9]{1,64}$/, "a job id (job_…)");

/** GET /jobs's query: Ittybit's pagination (limit, after, before, order) and filters (kind, status, exact input). */
const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: jobId.optional(),
    before: jobId.optional(),
    order: z.enum(["asc", "desc"]).default("desc"),
    kind: kindSchema.optional(),
    status: z.enum(["queued", "processing", "succeeded", "failed", "cancelled"]).optional(),
    input: z.string().min(1).max(4096).optional(),
  })
  .refine((q) => q.after === undefined || q.before === undefined, { path: ["before"], message: "give after or before, not both" });
export type ListQuery = z.infer<typeof listQuery>;

export function parseListQuery(query: Record<string, string>): ListQuery {
  const parsed = listQuery.safeParse(query);
  if (!parsed.success) throw validationFailure(parsed.error, "query");
  return parsed.data;
}

export function listFilters(query: ListQuery): JobFilters {
  return {
    statuses: query.status ? nativeStatuses(query.status) : [],
    tags: [],
    search: null,
    bundle: null,
    limit: query.limit,
    cursor: null,
    kind: query.kind ?? null,
    input: query.input ?? null,
    order: query.order,
    afterId: query.after ?? null,
    beforeId: query.before ?? null,
  };
}

/**
 * Ittybit's paging headers. A page read forwards links the next one (`after` its last
 * job); a page read with `before` links the one before it (`before` its first job,
 * rel="prev"). Has-More says whether the way the page was read goes on.
 */
export function pageHeaders(url: string, query: ListQuery, ids: string[], hasMore: boolean): Record<string, string> {
  const headers: Record<string, string> = { Limit: String(query.limit), "Has-More": String(hasMore) };
  if (!hasMore || ids.length === 0) return headers;
  const link = new URL(url);
  link.searchParams.delete("after");
  link.searchParams.delete("before");
  link.searchParams.set("limit", String(query.limit));
  const backwards = query.before !== undefined;
  link.searchParams.set(backwards ? "before" : "after", backwards ? ids[0]! : ids[ids.length - 1]!);
  headers.Link = `<${link.toString()}>; rel="${backwards ? "prev" : "next"}"`;
  return headers;
}
