import { MAX_UPLOAD_PARTS } from "../../encoder/contract";
import type { Env } from "../env";
import { ApiError } from "../errors";

/**
 * Large exports go to R2 in parts: a Worker request body is capped (100 MB on most
 * plans), so one PUT through /storage cannot carry a large output, and S3 caps a single
 * PUT at 5 GB. The encoder gets one signed /storage URL per part and, once every part is
 * stored, reports their ETags; the Worker then completes the upload through the binding.
 *
 * R2 (like S3) wants every part but the last to be at least 5 MiB, and R2 wants them all
 * the same size, so a file is cut into equal parts of the configured size and a shorter tail.
 */

const MIB = 1024 * 1024;
export const MIN_PART_BYTES = 5 * MIB;
export const DEFAULT_PART_BYTES = 64 * MIB;
export const DEFAULT_THRESHOLD_BYTES = 96 * MIB;

export interface MultipartLimits {
  /** Files larger than this are uploaded in parts. */
  thresholdBytes: number;
  /** The size of every part but the last (before growing to fit MAX_UPLOAD_PARTS). */
  partBytes: number;
}

function positiveInteger(text: string | undefined, name: string, fallback: number, min: number): number {
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  // A misconfigured deployment, not a request's fault: it must not pass silently.
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be a whole number of bytes ≥ ${min}, not ${JSON.stringify(text)}`);
  return value;
}

/** MULTIPART_THRESHOLD_BYTES (default 96 MiB) and MULTIPART_PART_BYTES (default 64 MiB, at least 5 MiB). */
export function multipartLimits(env: Pick<Env, "MULTIPART_THRESHOLD_BYTES" | "MULTIPART_PART_BYTES">): MultipartLimits {
  return {
    thresholdBytes: positiveInteger(env.MULTIPART_THRESHOLD_BYTES, "MULTIPART_THRESHOLD_BYTES", DEFAULT_THRESHOLD_BYTES, 1),
    partBytes: positiveInteger(env.MULTIPART_PART_BYTES, "MULTIPART_PART_BYTES", DEFAULT_PART_BYTES, MIN_PART_BYTES),
  };
}

export interface PlannedPart {
  part_number: number;
  offset: number;
  size_bytes: number;
}

/**
 * The parts of a file of `size` bytes: `partBytes` each and a shorter last one. A file
 * that would need more than 10,000 parts gets larger parts, in whole MiB.
 */
export function planParts(size: number, partBytes: number): PlannedPart[] {
  if (!Number.isSafeInteger(size) || size < 1) throw new Error(`cannot cut ${size} bytes into parts`);
  const partSize = size <= partBytes * MAX_UPLOAD_PARTS ? partBytes : Math.ceil(size / MAX_UPLOAD_PARTS / MIB) * MIB;
  const parts: PlannedPart[] = [];
  for (let offset = 0; offset < size; offset += partSize) {
    parts.push({ part_number: parts.length + 1, offset, size_bytes: Math.min(partSize, size - offset) });
  }
  return parts;
}

/** R2's error number in a binding error's message, e.g. "… (10025)". */
function r2ErrorNumber(err: unknown): number | null {
  const match = /\((\d{5})\)\s*$/.exec(err instanceof Error ? err.message : "");
  return match ? Number(match[1]) : null;
}

const R2_NO_SUCH_UPLOAD = 10024;
const R2_INVALID_PART = 10025;
const R2_ENTITY_TOO_SMALL = 10011;
const R2_BAD_UPLOAD = 10048;

/** True for R2's answer about an upload that is finished, aborted or unknown. */
export function isUploadGone(err: unknown): boolean {
  return r2ErrorNumber(err) === R2_NO_SUCH_UPLOAD;
}

/** S3-style ETag headers are quoted; the binding wants the bare value. */
const bareEtag = (etag: string) => etag.trim().replace(/^(W\/)?"(.*)"$/, "$2");

/**
 * Assembles the object from its parts. The parts must be numbered 1…n without a gap
 * (else `multipart_part_missing`, naming the first missing number); a part R2 does not
 * hold under that ETag is `multipart_part_missing` too, parts of the wrong sizes are
 * `multipart_parts_invalid`, and an upload R2 does not know (finished, aborted, or
 * never begun) is `multipart_upload_not_found`.
 */
export async function completeManagedUpload(bucket: R2Bucket, key: string, uploadId: string, parts: { part_number: number; etag: string }[]): Promise<R2Object> {
  const sorted = [...parts].sort((a, b) => a.part_number - b.part_number);
  for (const [index, part] of sorted.entries()) {
    if (part.part_number === index) throw new ApiError(400, "multipart_parts_invalid", `Part ${part.part_number} is listed more than once`);
    if (part.part_number !== index + 1) {
      throw new ApiError(400, "multipart_part_missing", `Part ${index + 1} is missing: the parts must be numbered 1 to ${sorted.length} without a gap`, { part_number: index + 1 });
    }
  }
  try {
    return await bucket.resumeMultipartUpload(key, uploadId).complete(sorted.map((p) => ({ partNumber: p.part_number, etag: bareEtag(p.etag) })));
  } catch (err) {
    throw completionError(err, uploadId) ?? err;
  }
}

function completionError(err: unknown, uploadId: string): ApiError | null {
  switch (r2ErrorNumber(err)) {
    case R2_NO_SUCH_UPLOAD:
      return new ApiError(404, "multipart_upload_not_found", `No multipart upload ${uploadId} is in progress for this file`);
    case R2_INVALID_PART:
      return new ApiError(400, "multipart_part_missing", "A listed part was not stored, or not with that ETag");
    case R2_ENTITY_TOO_SMALL:
    case R2_BAD_UPLOAD:
      return new ApiError(400, "multipart_parts_invalid", "The stored parts do not have the sizes of the plan (equal parts, a shorter last one)");
    default:
      return null;
  }
}

/** Drops an unfinished upload's parts; one already gone is fine. */
export async function abortManagedUpload(bucket: R2Bucket, key: string, uploadId: string): Promise<void> {
  try {
    await bucket.resumeMultipartUpload(key, uploadId).abort();
  } catch (err) {
    if (isUploadGone(err)) return;
    throw err;
  }
}
