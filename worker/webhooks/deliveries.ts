import { asc, desc, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { webhookAttempts, webhookDeliveries } from "../db/schema";

export interface WebhookAttemptView {
  attempt: number;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
  attempted_at: string;
  next_attempt_at: string | null;
}

/** The deliveries of one job, newest first, each with its attempts in order. */
export async function listJobWebhookDeliveries(db: D1Database, jobId: string, limit: number) {
  const orm = drizzle(db);
  const deliveries = await orm
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.jobId, jobId))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(limit);
  const attempts =
    deliveries.length === 0
      ? []
      : await orm
          .select()
          .from(webhookAttempts)
          .where(inArray(webhookAttempts.deliveryId, deliveries.map((d) => d.id)))
          .orderBy(asc(webhookAttempts.attempt));
  return deliveries.map((d) => ({
    id: d.id,
    object: "webhook_delivery" as const,
    job_id: d.jobId,
    event_type: d.eventType,
    url: d.url,
    status: d.status,
    attempt: d.attempts,
    status_code: d.lastStatusCode,
    latency_ms: d.lastLatencyMs,
    error: d.lastError,
    attempted_at: d.lastAttemptAt,
    delivered_at: d.deliveredAt,
    next_attempt_at: d.nextAttemptAt,
    created_at: d.createdAt,
    attempts: attempts
      .filter((a) => a.deliveryId === d.id)
      .map(
        (a): WebhookAttemptView => ({
          attempt: a.attempt,
          status_code: a.statusCode,
          latency_ms: a.latencyMs,
          error: a.error,
          attempted_at: a.attemptedAt,
          next_attempt_at: a.nextAttemptAt,
        }),
      ),
  }));
}
