import { z } from "zod";

/**
 * What the dispatch Queue carries: a pointer to one attempt of one job. The JobDO
 * holds everything else, so a message is small, and one that names an attempt the
 * job has moved past is recognised as stale and dropped.
 */
export const dispatchMessageSchema = z.strictObject({
  v: z.literal(1),
  job_id: z.string().regex(/^job_[a-z0-9]{20}$/),
  org_id: z.string().min(1).max(64),
  attempt: z.number().int().min(1),
  priority: z.enum(["economy", "standard", "premium"]),
  enqueued_at: z.string().datetime(),
});
export type DispatchMessage = z.infer<typeof dispatchMessageSchema>;
