import { and, asc, eq, isNotNull, lt, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { webhookDeliveries } from "../db/schema";
import type { Env } from "../env";
import { nowIso } from "../ids";
import { type WebhookEventType, webhookMessage } from "./schedule";
import { unpackSnapshot } from "./snapshot";

/** How long past its due time a pending delivery may wait before the sweep sends it again (default 15 min). */
export const DEFAULT_SWEEP_GRACE_SECONDS = 15 * 60;
/** Deliveries re-sent per run; the next run carries on. */
const SWEEP_BATCH = 100;

/** `WEBHOOK_SWEEP_GRACE_SECONDS` when it is a number > 0, else 15 minutes. */
export function sweepGraceSeconds(value: string | undefined): number {
  const parsed = value === undefined || value.trim() === "" ? NaN : Number(value);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : DEFAULT_SWEEP_GRACE_SECONDS;
}

/**
 * Sends again the webhook deliveries whose Queue message was lost: a row still `pending`,
 * handed to the Queue, and due (its next attempt, or its first once enqueued) longer than
 * the grace ago. The outbox and the consumer each keep a delivery moving while they hold
 * it; the message between them is the one gap. Cloudflare Queues keep messages, but drop
 * one after max_retries of consumer failures (D1 away), and wrangler dev keeps its queues
 * in memory, so a Worker killed with a message unconsumed loses it. The row's due time
 * moves to now, so a re-sent delivery waits a full grace before it is swept again; the
 * consumer's check on the attempt count keeps two messages of one delivery from both
 * recording an attempt. Returns how many were re-sent.
 */
export async function sweepStrandedWebhooks(env: Pick<Env, "DB" | "WEBHOOKS" | "WEBHOOK_SWEEP_GRACE_SECONDS">, now = Date.now()): Promise<number> {
  const orm = drizzle(env.DB);
  const cutoff = new Date(now - sweepGraceSeconds(env.WEBHOOK_SWEEP_GRACE_SECONDS) * 1000).toISOString();
  const due = sql<string>`coalesce(${webhookDeliveries.nextAttemptAt}, ${webhookDeliveries.enqueuedAt})`;
  const stranded = await orm
    .select({ id: webhookDeliveries.id, orgId: webhookDeliveries.orgId, eventType: webhookDeliveries.eventType, attempts: webhookDeliveries.attempts, snapshot: webhookDeliveries.snapshot })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, "pending"), isNotNull(webhookDeliveries.enqueuedAt), isNotNull(webhookDeliveries.snapshot), lt(due, cutoff)))
    .orderBy(asc(due))
    .limit(SWEEP_BATCH)
    .all();
  let sent = 0;
  for (const row of stranded) {
    const message = webhookMessage(await unpackSnapshot(row.snapshot!), row.eventType as WebhookEventType, row.id, row.orgId);
    await env.WEBHOOKS.send(message, { contentType: "json" });
    await orm
      .update(webhookDeliveries)
      .set({ nextAttemptAt: nowIso() })
      .where(and(eq(webhookDeliveries.id, row.id), eq(webhookDeliveries.attempts, row.attempts)));
    sent += 1;
  }
  if (sent > 0) console.log(JSON.stringify({ level: "warn", message: "re-sent webhook deliveries whose queue message was lost", count: sent }));
  return sent;
}
