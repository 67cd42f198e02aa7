import { ApiError } from "../errors";

/**
 * A 429 `rate_limited` that says when to come back. Every front-end's error handler
 * answers it in its own shape and adds `Retry-After` (withRetryAfter).
 */
export class RateLimited extends ApiError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    details?: unknown,
  ) {
    super(429, "rate_limited", message, details);
  }
}

/** `Retry-After` on the response to a RateLimited error; any other response as it is. */
export function withRetryAfter(err: Error, response: Response): Response {
  if (err instanceof RateLimited) response.headers.set("Retry-After", String(err.retryAfterSeconds));
  return response;
}
