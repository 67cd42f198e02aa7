import type { ApiError } from "../../errors";
import { renderErrors } from "../../middleware/render-errors";

/**
 * VTK's error body. castlabs documents none, so Kiln answers in the Django REST
 * framework's form VTK's API grew from: `detail` (the message) beside a `code`, the
 * error's details flattened in (`action` and `resource` of a 403, `issues` of a
 * validation failure) and the request id.
 */
export function vtkError(error: ApiError, requestId: string): Record<string, unknown> {
  const details = error.details !== null && typeof error.details === "object" && !Array.isArray(error.details) ? error.details : {};
  return { detail: error.message, code: error.code, ...details, request_id: requestId };
}

export const vtkErrors = renderErrors(vtkError);
