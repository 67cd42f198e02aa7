import type { Env } from "../../env";
import type { JobState } from "../../jobs/job-state";
import { type BucketObject, type BucketOpener, BucketRefError, bucketOpener, presignBucketObject } from "../../origins/buckets";
import { signStorageUrl } from "../../storage/signed-urls";
import { isUploadRef, resolveUploadInput } from "../../uploads/store";

/** How long the encoder may take to start reading an input it was given. */
const INPUT_URL_TTL_SECONDS = 6 * 3600;

export type OrderEnv = Pick<Env, "DB" | "MEDIA" | "PROBES" | "STORAGE_SIGNING_SECRET" | "KILN_ENV" | "ORIGIN_CREDENTIALS_KEY">;

export class UndispatchableJob extends Error {
  constructor(
    readonly code:
      | "input_unsupported"
      | "subtitle_source_unsupported"
      | "location_unresolved"
      | "upload_not_found"
      | "upload_not_ready"
      | BucketRefError["code"],
    message: string,
  ) {
    super(message);
  }
}

/** What every engine's order is projected with: the job, its attempt, where the Worker answers, and its buckets. */
export interface OrderContext {
  job: JobState;
  lease: { attempt: number; token: string };
  /** The Worker's public URL, without a trailing /. */
  base: string;
  env: OrderEnv;
  open: BucketOpener;
}

export function orderContext(job: JobState, lease: OrderContext["lease"], publicUrl: string, env: OrderEnv): OrderContext {
  return { job, lease, base: publicUrl.replace(/\/+$/, ""), env, open: bucketOpener(env, job.org_id) };
}

/** The fields every order carries: the attempt, its lease, and the Worker routes the lease token authorises. */
export function orderBase({ job, lease, base }: OrderContext) {
  return {
    v: 1 as const,
    job_id: job.id,
    attempt: lease.attempt,
    lease_token: lease.token,
    export: { sign_url: `${base}/internal/jobs/${job.id}/sign`, token: lease.token },
    callback: { url: `${base}/internal/jobs/${job.id}/events`, token: lease.token },
  };
}

/** An origin or secret deleted since creation fails the job with its own code, before anything runs. */
export async function undispatchableIfMissing<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof BucketRefError) throw new UndispatchableJob(err.code, err.message);
    throw err;
  }
}

export function presignRead(ctx: OrderContext, object: BucketObject): Promise<string> {
  return undispatchableIfMissing(async () =>
    presignBucketObject(await ctx.open(object.bucket, "read"), { method: "GET", key: object.key, expiresInSeconds: INPUT_URL_TTL_SECONDS }),
  );
}

/**
 * The job's input as a URL the encoder can read: as given (http/https), for an upload
 * (`vid_…`) a signed /storage GET URL of its object, for a bucket input (an origin's or
 * a secret's) a SigV4-presigned GET URL. An upload of another organization, deleted or
 * unfinished fails the job (`upload_not_found`, `upload_not_ready`).
 */
export async function inputUrl(ctx: OrderContext): Promise<string> {
  const { spec } = ctx.job;
  if (spec.storage.input !== null) return presignRead(ctx, spec.storage.input);
  return mediaUrl(ctx, spec.input);
}

/** An http(s) URL as given, or an upload (`vid_…`) of the job's organization as a signed /storage GET URL. */
export async function mediaUrl(ctx: OrderContext, ref: string | null): Promise<string> {
  if (isUploadRef(ref)) {
    const resolved = await resolveUploadInput(ctx.env, ctx.job.org_id, ref);
    if (!resolved.ok) throw new UndispatchableJob(resolved.code, resolved.message);
    return signStorageUrl(ctx.env, { method: "GET", key: resolved.upload.key, expiresInSeconds: INPUT_URL_TTL_SECONDS }, ctx.base);
  }
  if (ref && /^https?:\/\//.test(ref)) return ref;
  throw new UndispatchableJob("input_unsupported", "Only http(s) inputs and uploads can be fetched yet; bucket inputs need storage origins");
}
