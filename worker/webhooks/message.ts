import { z } from "zod";
import { dialects } from "../jobs/dialects";

export const webhookEventTypes = ["job.completed", "job.failed", "job.canceled", "job.partial", "job.status_changed"] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

const common = {
  delivery_id: z.string().regex(/^whd_[a-z0-9]{20}$/),
  org_id: z.string().min(1).max(64),
  job_id: z.string().min(1).max(64),
  event_type: z.enum(webhookEventTypes),
  /**
   * Whose shape and signature the delivery takes: Standard Webhooks for a native job, the
   * vendor's own for a job made through a dialect (messages enqueued before this existed are native).
   */
  format: z.enum(["standard", ...dialects]).default("standard"),
};

/**
 * What the webhook Queue carries: one delivery, by reference. The job as it was at the
 * transition is kept with the delivery's D1 row (`snapshot.ts`) and its URLs are signed at
 * each attempt, so the message stays a few hundred bytes however large the job (Queues
 * refuse a message over 128 KB, which a job of 10 outputs × 20 variants passed). The
 * delivery id is the `webhook-id` header and stays the same across retries, so a
 * receiver can deduplicate; the attempt number is counted in D1, not in the message.
 */
export const webhookMessageSchema = z.strictObject({
  v: z.literal(2),
  ...common,
  /** The job's status at the transition, for logs and for reading a message without D1. */
  status: z.string().min(1).max(32),
});
export type WebhookMessage = z.infer<typeof webhookMessageSchema>;

/** The Standard Webhooks payload: `{ type, timestamp, data }`, `data` being the job view. */
const payloadSchema = z.strictObject({
  type: z.enum(webhookEventTypes),
  timestamp: z.string(),
  data: z.record(z.string(), z.unknown()),
});

/**
 * A message a Worker enqueued before messages went by reference: the payload inline, its
 * URLs signed when it was sent. Delivered as it stands, so none in flight at a deploy is lost.
 */
const inlineWebhookMessageSchema = z.strictObject({
  v: z.literal(1),
  ...common,
  url: z.string().url().max(2048),
  payload: payloadSchema,
  attempt: z.number().int().min(1),
});

export const queuedWebhookSchema = z.discriminatedUnion("v", [webhookMessageSchema, inlineWebhookMessageSchema]);

/** One delivery as a format renders it: the message's ids, the receiver and the payload. */
export interface WebhookDelivery {
  delivery_id: string;
  org_id: string;
  job_id: string;
  event_type: WebhookEventType;
  url: string;
  payload: z.infer<typeof payloadSchema>;
  format: WebhookMessage["format"];
}
