import type { components } from "./generated/openapi";

/** Every code the API answers an error with (worker/errors.ts, published in the OpenAPI document). */
export type ApiErrorCode = components["schemas"]["Error"]["error"]["code"];

/**
 * A KilnError's code: the API's, or `unexpected_response` when something that is not the
 * API answered (a proxy's 502 page, a body that is not the error envelope).
 */
export type ErrorCode = ApiErrorCode | "unexpected_response";

/** An error the API answered with, typed by its code. */
export class KilnError extends Error {
  override readonly name = "KilnError";

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** The request's id (`X-Request-ID`): quote it when reporting a problem. */
    readonly requestId: string | null,
    /** Seconds to wait before trying again, from `Retry-After` (429, 503). */
    readonly retryAfter: number | null,
    /** What the API added: for validation errors, `{ target, issues: [{ path, message, code? }] }`. */
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The KilnError a non-2xx answer stands for, from its body (already read) and headers. */
export function errorFromResponse(response: Response, body: unknown): KilnError {
  return errorFromAnswer(response.status, (name) => response.headers.get(name), body);
}

/** The same for an answer some other HTTP client got (tus-js-client's). */
export function errorFromAnswer(status: number, header: (name: string) => string | null | undefined, body: unknown): KilnError {
  const requestId = header("x-request-id") ?? null;
  const retryAfter = retryAfterSeconds(header("retry-after") ?? null);
  const envelope = (body as { error?: { code?: unknown; message?: unknown; details?: unknown; request_id?: unknown } } | null)?.error;
  if (envelope && typeof envelope.code === "string" && typeof envelope.message === "string") {
    const id = typeof envelope.request_id === "string" ? envelope.request_id : requestId;
    return new KilnError(status, envelope.code as ApiErrorCode, envelope.message, id, retryAfter, envelope.details);
  }
  const text = typeof body === "string" ? body.slice(0, 200) : "";
  return new KilnError(status, "unexpected_response", `HTTP ${status}${text ? `: ${text}` : ""}`, requestId, retryAfter);
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === "") return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** An error answer's body: the envelope when it is JSON, else its text. */
export function parseErrorBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
