import { z } from "zod";
import { dialects } from "../jobs/dialects";

export const webhookEventTypes = ["job.completed", "job.failed", "job.canceled", "job.partial", "job.status_changed"] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/**
 * What the webhook Queue carries: one delivery, with the exact payload to POST. The
 * delivery id is the `webhook-id` header and stays the same across retries, so a
 * receiver can deduplicate; the attempt number is counted in D1, not in the message
 * (`message.retry` redelivers the same body).
 */
export const webhookMessageSchema = z.strictObject({
  v: z.literal(1),
  delivery_id: z.string().regex(/^whd_[a-z0-9]{20}$/),
  org_id: z.string().min(1).max(64),
  job_id: z.string().min(1).max(64),
  event_type: z.enum(webhookEventTypes),
  url: z.string().url().max(2048),
  /** Standard Webhooks payload shape: `{ type, timestamp, data }`, `data` being the job view. */
  payload: z.strictObject({
    type: z.enum(webhookEventTypes),
    timestamp: z.string(),
    data: z.record(z.string(), z.unknown()),
  }),
  attempt: z.number().int().min(1),
  /**
   * Whose shape and signature the delivery takes: Standard Webhooks for a native job, the
   * vendor's own for a job made through a dialect (messages enqueued before this existed are native).
   */
  format: z.enum(["standard", ...dialects]).default("standard"),
});
export type WebhookMessage = z.infer<typeof webhookMessageSchema>;
