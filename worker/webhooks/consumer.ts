import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { webhookAttempts, webhookDeliveries } from "../db/schema";
import type { Env } from "../env";
import { nowIso } from "../ids";
import type { JobView } from "../jobs/job-state";
import { jobObject } from "../jobs/job-stub";
import { deliveryRequest } from "./formats";
import { type WebhookDelivery, type WebhookMessage, queuedWebhookSchema } from "./message";
import { WEBHOOK_MAX_ATTEMPTS, retryBaseSeconds, webhookRetryDelaySeconds } from "./retry";
import { orgWebhookSecret } from "./secrets";
import { unpackSnapshot } from "./snapshot";
import { webhookUrlRefusal } from "./url-policy";

export const WEBHOOK_QUEUE = "kiln-webhooks";
/** How long a receiver has to answer one attempt. */
export const WEBHOOK_TIMEOUT_MS = 15_000;

interface AttemptResult {
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
  /** A refused URL is final: retrying cannot make it allowed. */
  final: boolean;
}

/**
 * Delivers webhook messages: each is rendered from the job kept with its delivery row,
 * its URLs signed now by the job's JobDO, and POSTed in its format (Standard Webhooks, or the
 * vendor's own for a job made through a dialect), signed with the organization's
 * current secret, and the attempt recorded in D1. A 2xx ends the delivery; anything
 * else is retried on the schedule in `retry.ts` until the last attempt. Messages are independent, so a batch is delivered concurrently.
 */
export async function consumeWebhooks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((message) => consumeOne(message, env)));
}

async function consumeOne(message: Message<unknown>, env: Env): Promise<void> {
  const parsed = queuedWebhookSchema.safeParse(message.body);
  if (!parsed.success) {
    console.error(JSON.stringify({ level: "error", queue: WEBHOOK_QUEUE, message: "dropped malformed webhook message", issues: parsed.error.issues }));
    message.ack();
    return;
  }
  const body = parsed.data;
  const base = retryBaseSeconds(env.WEBHOOK_RETRY_BASE_SECONDS);
  let attempt = message.attempts;
  try {
    const orm = drizzle(env.DB);
    if (body.v === 1) {
      // Recreate the row if the message somehow outlived it (scheduleWebhook writes it first).
      await orm
        .insert(webhookDeliveries)
        .values({ id: body.delivery_id, orgId: body.org_id, jobId: body.job_id, eventType: body.event_type, url: body.url, createdAt: nowIso() })
        .onConflictDoNothing();
    }
    const delivery = await orm.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, body.delivery_id)).get();
    if (!delivery || delivery.status !== "pending") {
      // A redelivered message of a delivery already finished: nothing left to do. A message
      // by reference whose row is gone has nothing to render.
      if (!delivery) console.error(JSON.stringify({ level: "error", queue: WEBHOOK_QUEUE, delivery_id: body.delivery_id, message: "dropped a webhook message without its delivery row" }));
      message.ack();
      return;
    }
    attempt = delivery.attempts + 1;
    const result = await attemptDelivery(delivery.url, () => (body.v === 1 ? Promise.resolve(body) : rendered(body, delivery, env)), env);
    const attemptedAt = nowIso();
    const delivered = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const retry = !delivered && !result.final && attempt < WEBHOOK_MAX_ATTEMPTS;
    const delaySeconds = retry ? webhookRetryDelaySeconds(attempt, base) : null;
    const nextAttemptAt = delaySeconds === null ? null : new Date(Date.parse(attemptedAt) + delaySeconds * 1000).toISOString();
    await orm.batch([
      orm
        .insert(webhookAttempts)
        .values({ deliveryId: body.delivery_id, attempt, statusCode: result.statusCode, latencyMs: result.latencyMs, error: result.error, attemptedAt, nextAttemptAt })
        .onConflictDoNothing(),
      orm
        .update(webhookDeliveries)
        .set({
          status: delivered ? "delivered" : retry ? "pending" : "failed",
          attempts: attempt,
          lastStatusCode: result.statusCode,
          lastLatencyMs: result.latencyMs,
          lastError: result.error,
          lastAttemptAt: attemptedAt,
          nextAttemptAt,
          deliveredAt: delivered ? attemptedAt : null,
          // A delivery that has ended renders no more attempts.
          ...(retry ? {} : { snapshot: null }),
        })
        .where(and(eq(webhookDeliveries.id, body.delivery_id), eq(webhookDeliveries.attempts, attempt - 1))),
    ]);
    console.log(
      JSON.stringify({
        level: "info",
        queue: WEBHOOK_QUEUE,
        delivery_id: body.delivery_id,
        job_id: body.job_id,
        attempt,
        status_code: result.statusCode,
        latency_ms: result.latencyMs,
        outcome: delivered ? "delivered" : retry ? "retry" : "failed",
        ...(result.error ? { error: result.error } : {}),
      }),
    );
    if (delaySeconds !== null) message.retry({ delaySeconds });
    else message.ack();
  } catch (err) {
    // D1 or the secret lookup failed, not the receiver: try again on the same schedule.
    console.error(JSON.stringify({ level: "error", queue: WEBHOOK_QUEUE, delivery_id: body.delivery_id, message: `webhook attempt failed: ${String(err)}` }));
    message.retry({ delaySeconds: webhookRetryDelaySeconds(attempt, base) });
  }
}

/**
 * The delivery of a message by reference: the job as it was at the transition, from the
 * row, with its output URLs signed now by the job's JobDO (a retry a day later still
 * carries working links). Throws when the row has no job or the JobDO cannot be reached,
 * which the caller retries.
 */
async function rendered(message: WebhookMessage, row: { url: string; snapshot: string | null }, env: Env): Promise<WebhookDelivery> {
  if (!row.snapshot) throw new Error(`delivery ${message.delivery_id} has no job snapshot`);
  const view = await unpackSnapshot(row.snapshot);
  const data: JobView = await jobObject(env, message.job_id).webhookView(view);
  return {
    delivery_id: message.delivery_id,
    org_id: message.org_id,
    job_id: message.job_id,
    event_type: message.event_type,
    url: row.url,
    // The timestamp is the transition's, so every attempt sends the same payload.
    payload: { type: message.event_type, timestamp: view.updated_at, data: data as unknown as Record<string, unknown> },
    format: message.format,
  };
}

async function attemptDelivery(url: string, render: () => Promise<WebhookDelivery>, env: Env): Promise<AttemptResult> {
  const refusal = webhookUrlRefusal(url, env);
  if (refusal) return { statusCode: null, latencyMs: null, error: `webhook URL refused: ${refusal}`, final: true };
  const delivery = await render();
  const { secret } = await orgWebhookSecret(env, delivery.org_id);
  const request = await deliveryRequest(delivery, secret, new Date(), { db: env.DB, publicUrl: env.PUBLIC_URL });
  const started = Date.now();
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "Kiln-Webhooks/1", ...request.headers },
      body: request.body,
      // A redirect could lead anywhere, private networks included; it counts as a failure.
      redirect: "manual",
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    const latencyMs = Date.now() - started;
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 300;
    return { statusCode: response.status, latencyMs, error: ok ? null : `receiver answered HTTP ${response.status}`, final: false };
  } catch (err) {
    const latencyMs = Date.now() - started;
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const error = timedOut ? `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s` : `request failed: ${err instanceof Error ? err.message : String(err)}`;
    return { statusCode: null, latencyMs, error, final: false };
  }
}
