import { type CreateJobRequest, createJobRequestSchema } from "../../api/schemas/create-job";
import { kinds } from "../../api/schemas/kinds";
import { ApiError, validationFailure } from "../../errors";

/** The fields of Ittybit's create body; `webhook_url` is Kiln's addition, which Ittybit's guides use. */
const fields = ["input", "kind", "options", "output", "metadata", "webhook_url"] as const;

/**
 * Ittybit's schemes, and Kiln's upload ids (`vid_…`, from /v1/uploads) as Kiln's addition;
 * the native schema checks the rest of the reference (an s3:// key, an upload id's form).
 */
const ACCEPTED_INPUT = /^(?:https?:\/\/|s3:\/\/|vid_)/i;

const requestInvalid = (message: string) => new ApiError(400, "validation_error", message);

/**
 * Ittybit's create body as the native request, or the first problem as an ApiError
 * whose code Ittybit's error kinds translate: `input_required`, `invalid_input`,
 * `invalid_format`, `invalid_codec`, otherwise a validation error naming the field.
 * The options are checked by the native kind schemas, which hold Ittybit's tables.
 */
export function nativeRequest(body: unknown): CreateJobRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw requestInvalid("body: a JSON object is required");
  // Ittybit's clients send null for a field they leave out.
  const given = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null));
  const unknown = Object.keys(given).find((key) => !(fields as readonly string[]).includes(key));
  if (unknown !== undefined) throw requestInvalid(`${unknown}: not a field of a job; send ${fields.join(", ")}`);
  if (given.input === undefined || given.input === "") throw new ApiError(400, "input_required", "input is required");
  if (typeof given.input === "string" && !ACCEPTED_INPUT.test(given.input)) {
    throw new ApiError(400, "invalid_input", "input must use http://, https://, or s3:// scheme");
  }
  if (given.kind === undefined) throw requestInvalid(`kind: required; one of ${kinds.join(", ")}`);
  const parsed = createJobRequestSchema.safeParse(given);
  if (!parsed.success) throw validationFailure(parsed.error, "json");
  return parsed.data;
}
