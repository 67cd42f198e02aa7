import type { Context } from "hono";
import type { AppEnv } from "../../env";
import type { ApiError, ErrorCode } from "../../errors";
import { renderErrors } from "../../middleware/render-errors";

/** Ittybit's name for a native error code where it has one of its own; every other code keeps its native name. */
const ittybitKinds: Partial<Record<ErrorCode, string>> = {
  validation_error: "request_invalid",
  invalid_json: "request_invalid",
  // Under /jobs the only thing that is not found is a job (an unknown path is answered by the app's catch-all).
  not_found: "job_not_found",
};

/** Ittybit's error body: bare `{kind, message}`, no envelope. */
export function ittybitError(error: ApiError): { kind: string; message: string } {
  return { kind: ittybitKinds[error.code] ?? error.code, message: error.message };
}

const render = renderErrors((error) => ittybitError(error));

/** A 429 that names no wait of its own (Kiln's limiter names one) asks for a short one. */
const RETRY_AFTER_S = 1;

/**
 * The Ittybit front-end's error handler: the body is Ittybit's, the status the native
 * one, and a 429 carries `Retry-After` as Ittybit's clients expect.
 */
export function ittybitErrors(err: Error, c: Context<AppEnv>): Response {
  const response = render(err, c);
  if (response.status === 429 && !response.headers.has("Retry-After")) response.headers.set("Retry-After", String(RETRY_AFTER_S));
  return response;
}
