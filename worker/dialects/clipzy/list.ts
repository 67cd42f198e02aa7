import { z } from "zod";
import type { JobFilters } from "../../jobs/service";
import { invalidField } from "./envelope";

/** GET /api/v1/jobs's query (CZ-CODE app/api/v1/jobs.py): `page` ≥ 1 (1), `page_size` 1–100 (10). */
const listQuery = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  page_size: z.coerce.number().int().min(1).max(100).default(10),
});
export type ListQuery = z.infer<typeof listQuery>;

export function parseListQuery(query: Record<string, string>): ListQuery {
  const parsed = listQuery.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw invalidField(issue.path.map(String).join("."), issue.message);
}

/** The organization's Clipzy jobs, newest first, one page of them (offset paging, as Clipzy counts pages). */
export function listFilters(query: ListQuery): JobFilters {
  return {
    statuses: [],
    tags: [],
    search: null,
    bundle: null,
    dialect: "clipzy",
    limit: query.page_size,
    offset: (query.page - 1) * query.page_size,
    cursor: null,
    order: "desc",
    sortBy: "created",
  };
}
