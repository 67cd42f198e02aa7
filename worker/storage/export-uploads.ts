import type { MultipartAbort, MultipartCompletion, SignResponse } from "../../encoder/contract";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { type Placement, type PlacementJob, placeOutputFile } from "../jobs/output-placement";
import { toolOutputSpec } from "../jobs/model";
import { BucketRefError, bucketMultipartTarget, openBucket, presignBucketObject, bucketOpener } from "../origins/buckets";
import {
  S3MultipartError,
  abortOriginMultipartUpload,
  completeOriginMultipartUpload,
  createOriginMultipartUpload,
  type S3MultipartTarget,
  originObjectSize,
  presignOriginPartUrl,
} from "../origins/s3-multipart";
import { abortManagedUpload, completeManagedUpload, multipartLimits, planParts } from "./multipart";
import { UPLOAD_URL_TTL_SECONDS, type UploadFile, assertExportPaths, multipartPlan, signUploads } from "./upload-urls";

export type ExportJob = PlacementJob & { org_id: string };
type ExportEnv = Pick<
  Env,
  "DB" | "MEDIA" | "ORIGIN_CREDENTIALS_KEY" | "STORAGE_SIGNING_SECRET" | "KILN_ENV" | "MULTIPART_THRESHOLD_BYTES" | "MULTIPART_PART_BYTES"
>;

const badFile = (index: number, problem: string) =>
  new ApiError(400, "validation_error", `files.${index}.path: ${problem}`, { issues: [{ path: `files.${index}.path`, message: problem }] });

/** A bucket's failure is the user's storage answering, not ours: 422 for refs, 502 for S3. */
async function asApiErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof BucketRefError) throw new ApiError(422, err.code, err.message);
    if (err instanceof S3MultipartError) throw new ApiError(502, "origin_unreachable", err.message, { operation: err.operation, provider_code: err.s3Code });
    throw err;
  }
}

/**
 * The export's upload plans, each file where its output goes (output-placement.ts):
 * managed storage through signed /storage URLs (signUploads), a bucket through
 * SigV4-presigned URLs made with the origin's or secret's credentials, looked up
 * afresh (a deleted one is a 422 `origin_not_found` / `secret_not_found`, which fails
 * the export). With `multipart`, a large file is planned in parts in either store.
 * Two files placed at one key are a 400. A tool pipeline's file whose put does not
 * overwrite is a 409 `object_exists` when its object is there already (a HEAD with the
 * bucket's credentials), before anything is uploaded.
 */
export async function signExportUploads(env: ExportEnv, baseUrl: string, job: ExportJob, files: UploadFile[], options: { multipart?: boolean } = {}): Promise<SignResponse> {
  assertExportPaths(files);
  const placements = new Map<string, Placement>();
  const taken = new Set<string>();
  for (const [index, file] of files.entries()) {
    const placed = placeOutputFile(job, file.output_id, file.path);
    if (!placed.ok) throw badFile(index, placed.problem);
    const where = placed.placement.store === "managed" ? `managed:${placed.placement.key}` : `${JSON.stringify(placed.placement.bucket)}:${placed.placement.key}`;
    if (taken.has(where)) throw badFile(index, `another file is already placed at ${placed.placement.key}; make the path template tell them apart (e.g. {output_id})`);
    taken.add(where);
    placements.set(file.path, placed.placement);
  }

  const managed = files.filter((f) => placements.get(f.path)!.store === "managed");
  const signed = new Map(
    managed.length === 0
      ? []
      : (await signUploads(env, baseUrl, job.id, managed, { keyOf: (f) => placements.get(f.path)!.key, multipart: options.multipart })).uploads.map((u) => [u.path, u]),
  );

  const limits = options.multipart ? multipartLimits(env) : null;
  const open = bucketOpener(env, job.org_id);
  return asApiErrors(async () => {
    const uploads = await Promise.all(
      files.map(async (file) => {
        const placement = placements.get(file.path)!;
        if (placement.store === "managed") return signed.get(file.path)!;
        const bucket = await open(placement.bucket, "write");
        const output = job.outputs.find((o) => o.id === file.output_id);
        if (output && toolOutputSpec(output)?.overwrite === false && (await objectExists(bucketMultipartTarget(bucket, placement.key), placement.key))) {
          throw new ApiError(409, "object_exists", `${file.path}: ${placement.key} already exists in bucket ${placement.bucket.bucket}; set overwrite: true to replace it`);
        }
        if (limits && file.size_bytes > limits.thresholdBytes) {
          const target = bucketMultipartTarget(bucket, placement.key);
          const uploadId = await createOriginMultipartUpload(target, placement.key, file.content_type);
          const parts = await Promise.all(
            planParts(file.size_bytes, limits.partBytes).map(async (part) => ({
              ...part,
              url: await presignOriginPartUrl(target, placement.key, uploadId, part.part_number, UPLOAD_URL_TTL_SECONDS),
            })),
          );
          return multipartPlan(baseUrl, job.id, file, uploadId, parts);
        }
        const url = await presignBucketObject(bucket, { method: "PUT", key: placement.key, expiresInSeconds: UPLOAD_URL_TTL_SECONDS });
        return { kind: "put" as const, path: file.path, url, method: "PUT" as const, headers: {} };
      }),
    );
    return { uploads };
  });
}

/** A HEAD of the object: 404 is absence; anything else a HEAD cannot answer is the bucket's failure. */
async function objectExists(target: S3MultipartTarget, key: string): Promise<boolean> {
  try {
    await originObjectSize(target, key);
    return true;
  } catch (err) {
    if (err instanceof S3MultipartError && err.status === 404) return false;
    throw err;
  }
}

function placementOf(job: ExportJob, target: { output_id: string; path: string }): Placement {
  const placed = placeOutputFile(job, target.output_id, target.path);
  if (!placed.ok) throw new ApiError(400, "validation_error", placed.problem);
  return placed.placement;
}

/** Assembles a file uploaded in parts where signing placed it; answers its stored size. */
export async function completeExportUpload(env: ExportEnv, job: ExportJob, completion: MultipartCompletion): Promise<number> {
  const placement = placementOf(job, completion);
  if (placement.store === "managed") return (await completeManagedUpload(env.MEDIA, placement.key, completion.upload_id, completion.parts)).size;
  return asApiErrors(async () => {
    const target = bucketMultipartTarget(await openBucket(env, job.org_id, placement.bucket, "write"), placement.key);
    await completeOriginMultipartUpload(target, placement.key, completion.upload_id, completion.parts);
    return originObjectSize(target, placement.key);
  });
}

/** Drops the parts of an upload the encoder gave up on. */
export async function abortExportUpload(env: ExportEnv, job: ExportJob, abort: MultipartAbort): Promise<void> {
  const placement = placementOf(job, abort);
  if (placement.store === "managed") return abortManagedUpload(env.MEDIA, placement.key, abort.upload_id);
  await asApiErrors(async () => {
    const target = bucketMultipartTarget(await openBucket(env, job.org_id, placement.bucket, "write"), placement.key);
    await abortOriginMultipartUpload(target, placement.key, abort.upload_id);
  });
}
