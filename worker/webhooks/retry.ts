/**
 * The retry schedule of a webhook delivery: at most 8 attempts; after a failed attempt
 * n the next waits base·5^(n−1) seconds, capped at Queues' 12 h maximum delay. With the
 * default base of 30 s the waits are 30 s, 2.5 min, 12.5 min, ~1 h, ~5.2 h, 12 h, 12 h:
 * the eighth attempt comes ~30.5 h after the first.
 */
export const WEBHOOK_MAX_ATTEMPTS = 8;
export const WEBHOOK_RETRY_FACTOR = 5;
export const WEBHOOK_RETRY_DEFAULT_BASE_SECONDS = 30;
/** Cloudflare Queues refuse a `delaySeconds` above 12 hours. */
export const QUEUE_MAX_DELAY_SECONDS = 12 * 60 * 60;

/** The wait after failed attempt `attempt` (1-based), for a given base delay. */
export function webhookRetryDelaySeconds(attempt: number, baseSeconds = WEBHOOK_RETRY_DEFAULT_BASE_SECONDS): number {
  const raw = baseSeconds * WEBHOOK_RETRY_FACTOR ** (Math.max(1, attempt) - 1);
  return Math.min(QUEUE_MAX_DELAY_SECONDS, Math.round(raw));
}

/** The default schedule, one wait after each failed attempt but the last: 7 entries. */
export const WEBHOOK_RETRY_DELAYS_SECONDS: readonly number[] = Object.freeze(
  Array.from({ length: WEBHOOK_MAX_ATTEMPTS - 1 }, (_, i) => webhookRetryDelaySeconds(i + 1)),
);

/** `WEBHOOK_RETRY_BASE_SECONDS` when it is a number ≥ 0 (tests and local runs set it small), else 30. */
export function retryBaseSeconds(value: string | undefined): number {
  const parsed = value === undefined || value.trim() === "" ? NaN : Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : WEBHOOK_RETRY_DEFAULT_BASE_SECONDS;
}
