import type { MultipartUpload, SignResponse } from "../../encoder/contract";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { keyProblem, outputKey } from "./keys";
import { multipartLimits, planParts } from "./multipart";
import { signStorageUrl } from "./signed-urls";

// Export: one batch of upload URLs (or multipart plans) for the files the encoder made.

/** How long the encoder has to start each upload once it holds the URLs. */
export const UPLOAD_URL_TTL_SECONDS = 3600;

export interface UploadFile {
  output_id: string;
  path: string;
  content_type: string;
  size_bytes: number;
}

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A 400 for an export listing a path that is absolute, climbs out ("..") or repeats. */
export function assertExportPaths(files: { path: string }[]): void {
  const seen = new Set<string>();
  for (const [index, file] of files.entries()) {
    const problem = keyProblem(file.path)?.replace(/^key/, "path") ?? (seen.has(file.path) ? "path is listed twice" : null);
    if (problem) {
      throw new ApiError(400, "validation_error", `files.${index}.path: ${problem}`, { issues: [{ path: `files.${index}.path`, message: problem }] });
    }
    seen.add(file.path);
  }
}

/**
 * Signs one PUT URL per file the encoder exported, in one batch (the names of HLS
 * segments are known only after encoding). Each URL is bound to its key, the declared
 * size (as the upper limit) and the declared Content-Type. With `multipart` (the encoder
 * can upload in parts), a file over MULTIPART_THRESHOLD_BYTES gets a multipart plan
 * instead (see ./multipart.ts). Paths are relative to the job's folder; one that is
 * absolute, climbs out ("..") or repeats is a 400. `keyOf` places a file elsewhere than
 * `jobs/<jobId>/<path>` (a path template's key).
 */
export async function signUploads(
  env: Pick<Env, "STORAGE_SIGNING_SECRET" | "KILN_ENV" | "MEDIA" | "MULTIPART_THRESHOLD_BYTES" | "MULTIPART_PART_BYTES">,
  baseUrl: string,
  jobId: string,
  files: UploadFile[],
  options: { expiresInSeconds?: number; multipart?: boolean; keyOf?: (file: UploadFile) => string } = {},
): Promise<SignResponse> {
  if (!JOB_ID.test(jobId)) throw new ApiError(400, "validation_error", `Invalid job id ${JSON.stringify(jobId)}`);
  assertExportPaths(files);
  const keyOf = options.keyOf ?? ((file: UploadFile) => outputKey(jobId, file.path));
  const expiresInSeconds = options.expiresInSeconds ?? UPLOAD_URL_TTL_SECONDS;
  const limits = options.multipart ? multipartLimits(env) : null;
  const uploads = await Promise.all(
    files.map(async (file) => {
      const key = keyOf(file);
      if (limits && file.size_bytes > limits.thresholdBytes) {
        const upload = await env.MEDIA.createMultipartUpload(key, { httpMetadata: { contentType: file.content_type } });
        const parts = await Promise.all(
          planParts(file.size_bytes, limits.partBytes).map(async (part) => ({
            ...part,
            url: await signStorageUrl(
              env,
              { method: "PUT", key, expiresInSeconds, maxBytes: part.size_bytes, part: { uploadId: upload.uploadId, partNumber: part.part_number } },
              baseUrl,
            ),
          })),
        );
        return multipartPlan(baseUrl, jobId, file, upload.uploadId, parts);
      }
      return {
        kind: "put" as const,
        path: file.path,
        url: await signStorageUrl(env, { method: "PUT", key, expiresInSeconds, maxBytes: file.size_bytes, contentType: file.content_type }, baseUrl),
        method: "PUT" as const,
        headers: {},
      };
    }),
  );
  return { uploads };
}

/**
 * A multipart plan: the parts' signed URLs (R2 through /storage, or a bucket's
 * presigned UploadPart URLs) and the Worker routes that complete or abort it, authorised
 * by the lease token like signing. The encoder echoes `output_id` and `path` back, so
 * the Worker finds the file's place again.
 */
export function multipartPlan(
  baseUrl: string,
  jobId: string,
  file: UploadFile,
  uploadId: string,
  parts: MultipartUpload["parts"],
): MultipartUpload {
  const routes = `${baseUrl.replace(/\/+$/, "")}/internal/jobs/${jobId}/multipart`;
  return {
    kind: "multipart",
    path: file.path,
    output_id: file.output_id,
    upload_id: uploadId,
    parts,
    headers: {},
    complete_url: `${routes}/complete`,
    abort_url: `${routes}/abort`,
  };
}
