import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../../env";
import { ApiError, type ErrorCode } from "../../errors";
import { withRetryAfter } from "../../limits/rate-limited";
import { toApiError } from "../../middleware/render-errors";

/**
 * Clipzy's response envelope (CZ-CODE app/schemas/response.py `APIResponse`): every
 * answer, success or error, says `success`, a `message` and a UTC `timestamp`.
 */

export const clipzyCodes = [
  "VIDEO_NOT_FOUND",
  "VIDEO_NOT_READY",
  "JOB_NOT_FOUND",
  "UNSUPPORTED_FORMAT",
  "FILE_TOO_LARGE",
  "MISSING_FIELD",
  "VALIDATION_ERROR",
  "JOB_ALREADY_PROCESSING",
  "RESULT_NOT_READY",
  "JOB_NOT_CANCELLABLE",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "INTERNAL_ERROR",
] as const;
export type ClipzyCode = (typeof clipzyCodes)[number];

/** The envelope's `message` per code: a summary, the particulars going in `error.detail`. */
const summaries: Record<ClipzyCode, string> = {
  VIDEO_NOT_FOUND: "Video not found",
  VIDEO_NOT_READY: "Video not ready",
  JOB_NOT_FOUND: "Job not found",
  UNSUPPORTED_FORMAT: "Unsupported video format",
  FILE_TOO_LARGE: "File too large",
  MISSING_FIELD: "Missing required field",
  VALIDATION_ERROR: "Validation error",
  JOB_ALREADY_PROCESSING: "Job already processing",
  RESULT_NOT_READY: "Result not ready",
  JOB_NOT_CANCELLABLE: "Job cannot be cancelled",
  UNAUTHORIZED: "Unauthorized",
  FORBIDDEN: "Forbidden",
  NOT_FOUND: "Not found",
  METHOD_NOT_ALLOWED: "Method not allowed",
  INTERNAL_ERROR: "Internal server error",
};

/**
 * An error only Clipzy's front-end raises, carrying its own code; the native code beside
 * it is the nearest native one (what a log or the native renderer would show).
 */
export class ClipzyError extends ApiError {
  constructor(
    status: ContentfulStatusCode,
    readonly clipzyCode: ClipzyCode,
    detail: string,
    native: ErrorCode = "validation_error",
  ) {
    super(status, native, detail);
  }
}

export const missingField = (field: string) => new ClipzyError(422, "MISSING_FIELD", `${field}: field required`);
export const invalidField = (field: string, problem: string) => new ClipzyError(422, "VALIDATION_ERROR", `${field}: ${problem}`);
export const videoNotFound = (id: string) => new ClipzyError(404, "VIDEO_NOT_FOUND", `Video not found: ${id}`, "not_found");
export const jobNotFound = (id: string) => new ClipzyError(404, "JOB_NOT_FOUND", `Job not found: ${id}`, "not_found");

/**
 * Errors raised below the dialect (the job service, authentication, body limits) in
 * Clipzy's codes. Under /api/v1 the service's only `not_found` is a job's. FastAPI
 * answers a request it cannot validate with 422, so the native 400s become 422s. A
 * JSON body over the limit keeps its native name (`PAYLOAD_TOO_LARGE`): FILE_TOO_LARGE
 * is the upload's.
 */
const translations: Partial<Record<ErrorCode, { code: ClipzyCode; status?: ContentfulStatusCode }>> = {
  not_found: { code: "JOB_NOT_FOUND" },
  token_missing: { code: "UNAUTHORIZED" },
  token_invalid: { code: "UNAUTHORIZED" },
  forbidden: { code: "FORBIDDEN" },
  organization_required: { code: "VALIDATION_ERROR", status: 422 },
  validation_error: { code: "VALIDATION_ERROR", status: 422 },
  invalid_json: { code: "VALIDATION_ERROR", status: 422 },
  upload_not_found: { code: "VIDEO_NOT_FOUND", status: 404 },
  upload_not_ready: { code: "VIDEO_NOT_READY", status: 409 },
  internal_error: { code: "INTERNAL_ERROR" },
};

const timestamp = () => new Date().toISOString();

/** Clipzy's code and status for any error; a native code it has no name for is shown upper-cased. */
export function clipzyFailure(error: ApiError): { status: ContentfulStatusCode; code: string; detail: string } {
  if (error instanceof ClipzyError) return { status: error.status, code: error.clipzyCode, detail: error.message };
  const translated = translations[error.code];
  return { status: translated?.status ?? error.status, code: translated?.code ?? error.code.toUpperCase(), detail: error.message };
}

/** `{"success": false, "message", "error": {"code", "detail"}, "timestamp"}`. */
export function clipzyErrorBody(failure: { code: string; detail: string }) {
  const message = (summaries as Record<string, string>)[failure.code] ?? failure.detail;
  return { success: false as const, message, error: { code: failure.code, detail: failure.detail }, timestamp: timestamp() };
}

/** `{"success": true, "message", "data", "error": null, "timestamp"}`. */
export function envelope<T>(message: string, data: T, at = timestamp()) {
  return { success: true as const, message, data, error: null, timestamp: at };
}

/** The Clipzy front-end's error handler: every failure (an unknown one a logged 500) in its envelope, with its status. */
export function clipzyErrors(err: Error, c: Context<AppEnv>): Response {
  const failure = clipzyFailure(toApiError(err, c.get("requestId")));
  return withRetryAfter(err, c.json(clipzyErrorBody(failure), failure.status));
}
