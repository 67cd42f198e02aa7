import type { SignResponse } from "../../encoder/contract";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { type Placement, type PlacementJob, placeOutputFile } from "../jobs/output-placement";
import { type BucketRef, BucketRefError, type OpenBucket, openBucket, presignBucketObject } from "../origins/buckets";
import { UPLOAD_URL_TTL_SECONDS, type UploadFile, assertExportPaths, signUploads } from "./signing";

export type ExportFile = UploadFile & { output_id: string };
export type ExportJob = PlacementJob & { org_id: string };

const badFile = (index: number, problem: string) =>
  new ApiError(400, "validation_error", `files.${index}.path: ${problem}`, { issues: [{ path: `files.${index}.path`, message: problem }] });

/**
 * The export's upload URLs, each file where its output goes (output-placement.ts):
 * managed storage through signed /storage PUT URLs (signUploads), a bucket through
 * SigV4-presigned PUT URLs made with the origin's or secret's credentials, looked up
 * afresh (a deleted one is a 422 `origin_not_found` / `secret_not_found`, which fails
 * the export). Two files placed at one key are a 400.
 */
export async function signExportUploads(
  env: Pick<Env, "DB" | "ORIGIN_CREDENTIALS_KEY" | "STORAGE_SIGNING_SECRET" | "KILN_ENV">,
  baseUrl: string,
  job: ExportJob,
  files: ExportFile[],
): Promise<SignResponse> {
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
    managed.length === 0 ? [] : (await signUploads(env, baseUrl, job.id, managed, { keyOf: (f) => placements.get(f.path)!.key })).uploads.map((u) => [u.path, u]),
  );

  const opened = new Map<string, Promise<OpenBucket>>();
  const open = (bucket: BucketRef) => {
    const id = JSON.stringify(bucket);
    if (!opened.has(id)) opened.set(id, openBucket(env, job.org_id, bucket, "write"));
    return opened.get(id)!;
  };
  try {
    const uploads = await Promise.all(
      files.map(async (file) => {
        const placement = placements.get(file.path)!;
        if (placement.store === "managed") return signed.get(file.path)!;
        const url = await presignBucketObject(await open(placement.bucket), { method: "PUT", key: placement.key, expiresInSeconds: UPLOAD_URL_TTL_SECONDS });
        return { path: file.path, url, method: "PUT" as const, headers: {} };
      }),
    );
    return { uploads };
  } catch (err) {
    if (err instanceof BucketRefError) throw new ApiError(422, err.code, err.message);
    throw err;
  }
}
