import type { JobView } from "../../jobs/job-state";
import { findOrigin } from "../../origins/store";
import type { OriginFacts } from "./job";

/**
 * The job's origins as its OriginRefs show them (name, provider, bucket), looked up in
 * the job's organization: the view names origins by id only. Get, Watch and webhooks
 * render the same refs from it.
 */
export async function jobOrigins(db: D1Database, orgId: string, view: JobView): Promise<Map<string, OriginFacts>> {
  const ids = [view.input_origin_id, view.output_origin_id].filter((id): id is string => id !== null);
  const rows = await Promise.all([...new Set(ids)].map((id) => findOrigin(db, orgId, id)));
  return new Map(rows.flatMap((row) => (row ? [[row.id, { name: row.name, provider: row.provider, bucket: row.bucket }] as const] : [])));
}
