import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobs, webhookDeliveries } from "../db/schema";
import type { Env } from "../env";
import { derivedId, nowIso } from "../ids";
import type { JobView } from "../jobs/job-state";
import type { WebhookEventType, WebhookMessage } from "./message";
import { packSnapshot } from "./snapshot";

export type { WebhookEventType } from "./message";

/**
 * One delivery per (job, event, transition): the id is derived from the job id, the
 * event, the status and `updated_at`, which changes with every transition. Retrying
 * the same call names the same delivery.
 */
export function webhookDeliveryId(job: Pick<JobView, "id" | "status" | "updated_at">, eventType: WebhookEventType): Promise<string> {
  return derivedId("whd", `webhook\n${job.id}\n${eventType}\n${job.status}\n${job.updated_at}`);
}

/** The Queue message of a delivery: a reference to its row, which holds the job. */
export function webhookMessage(job: JobView, eventType: WebhookEventType, deliveryId: string, orgId: string): WebhookMessage {
  return { v: 2, delivery_id: deliveryId, org_id: orgId, job_id: job.id, event_type: eventType, status: job.status, format: job.dialect ?? "standard" };
}

/**
 * Records the delivery in D1 with the job as it is now (once; a repeat is ignored) and
 * returns the Queue message for it, and whether it has already been enqueued. Null when
 * the job has no webhook.
 */
export async function recordWebhookDelivery(
  env: Env,
  job: JobView,
  eventType: WebhookEventType,
  orgId?: string,
): Promise<{ message: WebhookMessage; enqueued: boolean } | null> {
  if (!job.webhook_url) return null;
  const orm = drizzle(env.DB);
  const owner = orgId ?? (await orm.select({ orgId: jobs.orgId }).from(jobs).where(eq(jobs.id, job.id)).get())?.orgId;
  if (!owner) throw new Error(`cannot schedule a webhook for ${job.id}: no organization given and no index row`);
  const deliveryId = await webhookDeliveryId(job, eventType);
  const message = webhookMessage(job, eventType, deliveryId, owner);
  await orm
    .insert(webhookDeliveries)
    .values({ id: deliveryId, orgId: owner, jobId: job.id, eventType, url: job.webhook_url, snapshot: await packSnapshot(job), createdAt: nowIso() })
    .onConflictDoNothing();
  const row = await orm.select({ enqueuedAt: webhookDeliveries.enqueuedAt }).from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId)).get();
  return { message, enqueued: row?.enqueuedAt != null };
}

/**
 * Schedules the webhook of a job event: when the job has a `webhook_url`, records the
 * delivery and sends it to the `kiln-webhooks` Queue. Idempotent per (job, event,
 * transition): a call repeated after it succeeded sends nothing; one repeated after a
 * failure between the send and its bookkeeping may send again, and the consumer then
 * delivers the same `webhook-id` at most once more (at-least-once, as the Standard
 * Webhooks spec expects receivers to handle). Throws when D1 or the Queue fails, so
 * the caller can retry it. `orgId` is the job's organization; without it the D1 index
 * row is read.
 */
export async function scheduleWebhook(env: Env, job: JobView, eventType: WebhookEventType, orgId?: string): Promise<void> {
  const recorded = await recordWebhookDelivery(env, job, eventType, orgId);
  if (!recorded || recorded.enqueued) return;
  await env.WEBHOOKS.send(recorded.message, { contentType: "json" });
  await drizzle(env.DB)
    .update(webhookDeliveries)
    .set({ enqueuedAt: nowIso() })
    .where(and(eq(webhookDeliveries.id, recorded.message.delivery_id), isNull(webhookDeliveries.enqueuedAt)));
}

/**
 * Gives up a delivery the outbox could not hand to the Queue: its D1 row (made now if it
 * never was) ends `failed` with the reason, so the job's delivery list says why no webhook
 * came. A delivery that did reach the Queue is the consumer's and is left alone. Throws
 * when D1 fails too.
 */
export async function abandonWebhook(env: Pick<Env, "DB">, job: JobView, eventType: WebhookEventType, orgId: string, reason: string): Promise<void> {
  if (!job.webhook_url) return;
  const id = await webhookDeliveryId(job, eventType);
  await drizzle(env.DB)
    .insert(webhookDeliveries)
    .values({ id, orgId, jobId: job.id, eventType, url: job.webhook_url, status: "failed", lastError: reason, createdAt: nowIso() })
    .onConflictDoUpdate({ target: webhookDeliveries.id, set: { status: "failed", lastError: reason, snapshot: null }, setWhere: isNull(webhookDeliveries.enqueuedAt) });
}
