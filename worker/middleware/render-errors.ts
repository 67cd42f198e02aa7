import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env";
import { ApiError, payloadTooLarge } from "../errors";
import { withRetryAfter } from "../limits/rate-limited";

/** A front-end's error body for a domain error; the status stays the error's. */
export type ErrorShape = (error: ApiError, requestId: string) => object;

/**
 * The error handler of a front-end: every failure becomes an ApiError (unknown ones a
 * logged 500 `internal_error`, never their message) and is answered in `shape`.
 *
 * Mounted with `onError`, not as a try/catch middleware: Hono's compose hands an error to
 * the app's handler at the level where it was thrown, so `await next()` never rejects and a
 * catching middleware would see nothing. `route()` (Hono 4.13, hono-base.ts) wraps each
 * handler of a sub-app that has its own error handler with it, so a sub-app's `onError`
 * is honoured once mounted, for its own middleware and routes. Set it before the sub-app
 * is mounted (the wrapping happens then); the parent's middleware and its not-found answer
 * stay the parent's, so a front-end that owns a path prefix ends with a catch-all route.
 */
export function renderErrors(shape: ErrorShape): (err: Error, c: Context<AppEnv>) => Response {
  return (err, c) => {
    const error = toApiError(err, c.get("requestId"));
    return withRetryAfter(err, c.json(shape(error, c.get("requestId")), error.status));
  };
}

/** Any failure as an ApiError: unknown ones are logged and become a 500 `internal_error`, never showing their message. */
export function toApiError(err: Error, requestId: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    // Hono raises these for bodies it cannot parse before any schema runs.
    if (err.status === 400) return new ApiError(400, "invalid_json", "Request body is not valid JSON");
    if (err.status === 413) return payloadTooLarge();
    // @hono/zod-openapi's media-type gate, for a JSON type json-only lets through that the route's declared type does not match (`application/JSON`).
    if (err.status === 415) return new ApiError(415, "unsupported_media_type", "Send the request body as application/json");
  }
  console.error(JSON.stringify({ level: "error", request_id: requestId, message: err.message, stack: err.stack }));
  return new ApiError(500, "internal_error", "Internal error");
}
