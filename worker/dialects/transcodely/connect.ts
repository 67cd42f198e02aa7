import { BinaryWriter, WireType, base64Encode } from "@bufbuild/protobuf/wire";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiError } from "../../errors";

/**
 * Connect's error codes and the HTTP status each is answered with (the Connect
 * protocol's table, as Transcodely's docs give it).
 */
export const connectStatus = {
  invalid_argument: 400,
  failed_precondition: 400,
  out_of_range: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  aborted: 409,
  resource_exhausted: 429,
  canceled: 499,
  internal: 500,
  unknown: 500,
  data_loss: 500,
  unimplemented: 501,
  unavailable: 503,
  deadline_exceeded: 504,
} as const satisfies Record<string, ContentfulStatusCode | 499>;
export type ConnectCode = keyof typeof connectStatus;

/** A violation as Transcodely reports it: the field's path with indices, `outputs[0].video[0].codec`. */
export interface FieldViolation {
  field: string;
  description: string;
}

export interface ConnectError {
  code: ConnectCode;
  message: string;
  /** ErrorDetails.code: Transcodely's own code (`validation_error`, `JOB_NOT_FOUND`, …). */
  detailCode: string;
  violations: FieldViolation[];
}

/** A failure the dialect itself states in Connect's terms (its own validation, an unimplemented method). */
export class ConnectException extends Error {
  constructor(readonly error: ConnectError) {
    super(error.message);
  }
}

/** `invalid_argument` with every violation listed, each at its field path. */
export function invalidArgument(violations: FieldViolation[]): ConnectException {
  const first = violations[0];
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  const message = first ? `${first.field ? `${first.field}: ` : ""}${first.description}${more}` : "invalid request";
  return new ConnectException({ code: "invalid_argument", message, detailCode: "validation_error", violations });
}

/** The Connect code for a native error: its code first, then its HTTP status. */
export function connectCodeFor(err: ApiError): ConnectCode {
  switch (err.code) {
    case "invalid_state":
      return "failed_precondition";
    case "idempotency_conflict":
    case "preset_exists":
    case "secret_name_taken":
      return "already_exists";
    case "not_found":
    case "origin_not_found":
    case "preset_not_found":
    case "secret_not_found":
    case "upload_not_found":
      return "not_found";
    case "origin_access_denied":
    case "origin_permission_denied":
      return "permission_denied";
    case "upload_not_ready":
    case "origin_unreachable":
      return "failed_precondition";
    case "payload_too_large":
    case "job_too_large":
      return "resource_exhausted";
    case "internal_error":
      return "internal";
  }
  switch (err.status) {
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "not_found";
    case 409:
      return "already_exists";
    case 429:
      return "resource_exhausted";
    case 501:
      return "unimplemented";
    case 503:
      return "unavailable";
  }
  return err.status >= 500 ? "internal" : "invalid_argument";
}

/** `outputs.0.video.0.codec` (a zod path joined with dots) as `outputs[0].video[0].codec`. */
export function fieldPath(dotted: string): string {
  return dotted
    .split(".")
    .filter((part) => part !== "")
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

/** A native error as Connect reports it; a validation failure lists every violation, each with its field path. */
export function fromApiError(err: ApiError): ConnectError {
  const details = err.details as { issues?: { path: string; message: string }[] } | undefined;
  const violations = (details?.issues ?? []).map((issue) => ({ field: fieldPath(issue.path), description: issue.message }));
  const code = connectCodeFor(err);
  const detailCode = err.code === "not_found" && /job/i.test(err.message) ? "JOB_NOT_FOUND" : violations.length > 0 ? "validation_error" : err.code;
  return { code, message: err.message, detailCode, violations };
}

/**
 * Connect's JSON error body. `details[].value` is the ErrorDetails message in protobuf
 * binary (base64, as Connect sends any detail); `debug` is the same message as JSON,
 * which Transcodely's SDKs read.
 */
export function connectErrorBody(error: ConnectError) {
  const debug = {
    code: error.detailCode,
    message: error.message,
    field_violations: error.violations,
  };
  return {
    code: error.code,
    message: error.message,
    details: [{ type: "transcodely.v1.ErrorDetails", value: base64Encode(errorDetailsBinary(debug), "std_raw"), debug }],
  };
}

/** ErrorDetails { string code = 1; string message = 2; repeated FieldViolation field_violations = 3; } with FieldViolation { string field = 1; string description = 2; }. */
function errorDetailsBinary(details: { code: string; message: string; field_violations: FieldViolation[] }): Uint8Array {
  const writer = new BinaryWriter();
  writer.tag(1, WireType.LengthDelimited).string(details.code);
  writer.tag(2, WireType.LengthDelimited).string(details.message);
  for (const violation of details.field_violations) {
    writer.tag(3, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(violation.field);
    writer.tag(2, WireType.LengthDelimited).string(violation.description);
    writer.join();
  }
  return writer.finish();
}

/** The HTTP status a unary error is answered with. */
export function httpStatusFor(code: ConnectCode): ContentfulStatusCode {
  const status = connectStatus[code];
  return (status === 499 ? 408 : status) as ContentfulStatusCode;
}

const FLAG_END_STREAM = 0x02;

/**
 * One envelope of Connect's streaming protocol: a flags byte, the payload's length as a
 * big-endian uint32, then the payload (a JSON message, or the end-of-stream object).
 */
export function envelope(payload: unknown, endStream = false): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  const framed = new Uint8Array(5 + bytes.length);
  framed[0] = endStream ? FLAG_END_STREAM : 0;
  new DataView(framed.buffer).setUint32(1, bytes.length);
  framed.set(bytes, 5);
  return framed;
}

/** The end-of-stream envelope: `{}` when the stream ended well, `{"error": …}` when it did not. */
export function endStream(error?: ConnectError): Uint8Array<ArrayBuffer> {
  if (!error) return envelope({}, true);
  const { code, message, details } = connectErrorBody(error);
  return envelope({ error: { code, message, details } }, true);
}

/** The messages of an enveloped request body (a server-streaming call sends exactly one), as their JSON text. */
export function readEnvelopes(body: Uint8Array): { flags: number; text: string }[] {
  const messages: { flags: number; text: string }[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (body.length - offset < 5) throw new Error("truncated envelope");
    const flags = body[offset]!;
    const length = new DataView(body.buffer, body.byteOffset + offset + 1, 4).getUint32(0);
    const start = offset + 5;
    if (start + length > body.length) throw new Error("truncated envelope");
    messages.push({ flags, text: new TextDecoder().decode(body.subarray(start, start + length)) });
    offset = start + length;
  }
  return messages;
}
