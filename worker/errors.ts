import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import type { AppEnv } from "./env";

/** Every error code the native API answers with; dialects translate from these. */
export const errorCodes = [
  "input_required",
  "invalid_input",
  "invalid_format",
  "invalid_codec",
  "invalid_drm",
  "unknown_tool",
  "unknown_tool_version",
  "tool_refused",
  "wildcard_not_allowed",
  "absolute_path",
  "path_outside_workdir",
  "inline_credentials",
  "invalid_pattern",
  "drm_system_unsupported",
  "stream_selector_unsupported",
  "object_exists",
  "preset_not_found",
  "preset_exists",
  "invalid_json",
  "unsupported_media_type",
  "validation_error",
  "token_missing",
  "token_invalid",
  "organization_required",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "invalid_state",
  "idempotency_conflict",
  "payload_too_large",
  "job_too_large",
  "length_required",
  "signature_invalid",
  "signature_expired",
  "upload_not_found",
  "upload_not_ready",
  "upload_expired",
  "upload_offset_mismatch",
  "upload_locked",
  "tus_version_unsupported",
  "multipart_part_missing",
  "multipart_parts_invalid",
  "multipart_upload_not_found",
  "origin_access_denied",
  "origin_not_found",
  "origin_unreachable",
  "origin_permission_denied",
  "secret_not_found",
  "secret_name_taken",
  "rate_limited",
  // castlabs VTK's front-end (worker/dialects/vtk/).
  "invalid_organization_urn",
  "role_arn_unsupported",
  "notify_unsupported",
  "bundle_exists",
  "bundle_not_found",
  "internal_error",
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The native envelope: `{"error": {"code", "message", "details"?, "request_id"}}`. */
export function envelope(err: ApiError, requestId: string) {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details === undefined ? {} : { details: err.details }),
      request_id: requestId,
    },
  };
}

/** An error answered in the native envelope by a route that returns it rather than throwing it. */
export function errorResponse(c: Context<AppEnv>, err: ApiError): Response {
  return c.json(envelope(err, c.get("requestId")), err.status);
}

/** The answer to a request no route serves: the same wherever it is given. */
export function noRoute(c: Context): ApiError {
  return new ApiError(404, "not_found", `No route ${c.req.method} ${c.req.path}`);
}

export function payloadTooLarge(): ApiError {
  return new ApiError(413, "payload_too_large", "Request body is too large");
}

/**
 * Turns a zod failure into the most specific error code the seeds define. A schema
 * can name a code on its own issues (`params.code`); otherwise the path decides.
 */
export function validationFailure(error: ZodError, target: string): ApiError {
  const issues = error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
    ...(issue.code === "custom" && issue.params?.code ? { code: issue.params.code as string } : {}),
  }));
  const first = error.issues[0];
  const details = { target, issues };
  if (!first) return new ApiError(400, "validation_error", "Invalid request", details);
  const named = first.code === "custom" ? (first.params?.code as ErrorCode | undefined) : undefined;
  // Issues forwarded from a nested schema keep their original kind in params.issue.
  const issueCode = first.code === "custom" ? ((first.params?.issue as string | undefined) ?? "custom") : first.code;
  const code = named ?? codeForIssue(first.path.map(String), issueCode);
  const where = issues[0]!.path;
  return new ApiError(400, code, where ? `${where}: ${first.message}` : first.message, details);
}

function codeForIssue(path: string[], issueCode: string): ErrorCode {
  const [head, second, third] = path;
  if (head === "input") return "invalid_input";
  // A format outside the allowed set; a missing one is an ordinary validation error.
  const isFormat = (head === "options" && second === "format") || (head === "outputs" && third === "type");
  if (isFormat && issueCode === "invalid_value") return "invalid_format";
  return "validation_error";
}
