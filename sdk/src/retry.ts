/** How calls that are safe to repeat are tried again: reads, and creates that carry an idempotency key. */
export interface RetryPolicy {
  /** Tries after the first; 0 never tries again. */
  retries: number;
  /** The first wait when the answer names none; doubled each try, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited out: the error is thrown at once. */
  maxRetryAfterSeconds: number;
}

export const defaultRetryPolicy: RetryPolicy = { retries: 4, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterSeconds: 60 };

/** Answers that say the server was busy or failing, not that the request was wrong. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501);
}

/**
 * A failure of the connection rather than of the request: fetch rejects with a TypeError
 * for those (refused, reset, DNS). An aborted request or an unparsable body is not one.
 */
export function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError;
}

/** The wait before try `attempt + 1`: the server's Retry-After when it gave one, else exponential with jitter. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfter: number | null): number {
  if (retryAfter !== null) return retryAfter * 1000;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
