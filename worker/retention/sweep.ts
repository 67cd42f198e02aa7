import { and, asc, eq, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import { jobs, uploads } from "../db/schema";
import type { Env } from "../env";
import { jobObject } from "../jobs/job-stub";
import { terminalStatuses } from "../jobs/model";
import { outputKey } from "../storage/keys";
import { expireUpload, orm } from "../uploads/store";

/**
 * Retention: managed uploads created, and job outputs of jobs that ended, more than
 * RETENTION_DAYS ago are deleted from R2 by the cron trigger (wrangler.toml). Uploads
 * become `expired`; a job's completed outputs become `expired` with no URL, through its
 * JobDO, before their files go. Each run does a bounded amount of work, oldest first,
 * and the next run carries on where it stopped.
 */
export const DEFAULT_RETENTION_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

export interface RetentionBatch {
  /** Uploads expired per run. */
  uploads: number;
  /** Jobs whose outputs are expired per run. */
  jobs: number;
  /** R2 objects deleted per run across those jobs (HLS outputs hold many). */
  objects: number;
}
export const DEFAULT_BATCH: RetentionBatch = { uploads: 200, jobs: 50, objects: 5000 };

export interface RetentionReport {
  cutoff: string | null;
  uploads: number;
  jobs: number;
  objects: number;
}

/** RETENTION_DAYS as a number of days; 0 (keep everything) is null. */
export function retentionDays(env: Pick<Env, "RETENTION_DAYS">): number | null {
  const text = env.RETENTION_DAYS;
  if (text === undefined || text === "") return DEFAULT_RETENTION_DAYS;
  const days = Number(text);
  if (!Number.isFinite(days) || days < 0) throw new Error(`RETENTION_DAYS must be a number of days ≥ 0 (0 keeps everything), not ${JSON.stringify(text)}`);
  return days === 0 ? null : days;
}

export async function runRetention(env: Env, now: number, batch: RetentionBatch = DEFAULT_BATCH): Promise<RetentionReport> {
  const days = retentionDays(env);
  if (days === null) return { cutoff: null, uploads: 0, jobs: 0, objects: 0 };
  const cutoff = now - days * DAY_MS;
  const expiredUploads = await expireOldUploads(env, new Date(cutoff).toISOString(), batch.uploads);
  const outputs = await expireOldOutputs(env, cutoff, batch);
  const report = { cutoff: new Date(cutoff).toISOString(), uploads: expiredUploads, ...outputs };
  console.log(JSON.stringify({ level: "info", message: "retention run", ...report }));
  return report;
}

async function expireOldUploads(env: Env, cutoff: string, limit: number): Promise<number> {
  const rows = await orm(env.DB)
    .select()
    .from(uploads)
    .where(and(inArray(uploads.status, ["waiting", "uploading", "ready"]), lt(uploads.createdAt, cutoff)))
    .orderBy(asc(uploads.createdAt))
    .limit(limit);
  let expired = 0;
  for (const row of rows) if (await expireUpload(env, row)) expired++;
  return expired;
}

/**
 * Jobs that ended before the cutoff and whose outputs (of that ending) are still
 * stored. A restarted job ends again later, so `outputs_expired_at` is compared with
 * `completed_at` rather than merely set.
 */
async function expireOldOutputs(env: Env, cutoff: number, batch: RetentionBatch): Promise<{ jobs: number; objects: number }> {
  const due = await orm(env.DB)
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        isNotNull(jobs.completedAt),
        lt(jobs.completedAt, new Date(cutoff).toISOString()),
        inArray(jobs.status, [...terminalStatuses]),
        or(isNull(jobs.outputsExpiredAt), sql`${jobs.outputsExpiredAt} < ${jobs.completedAt}`),
      ),
    )
    .orderBy(asc(jobs.completedAt))
    .limit(batch.jobs);
  let done = 0;
  let objects = 0;
  for (const { id } of due) {
    const stub = jobObject(env, id);
    if (!(await stub.expireOutputs(cutoff))) continue;
    const removed = await deletePrefix(env.MEDIA, outputKey(id, ""), batch.objects - objects);
    objects += removed.count;
    if (!removed.complete) break;
    await orm(env.DB).update(jobs).set({ outputsExpiredAt: new Date().toISOString() }).where(eq(jobs.id, id));
    done++;
  }
  return { jobs: done, objects };
}

/** Deletes up to `budget` objects under `prefix`; complete when none is left. */
async function deletePrefix(bucket: R2Bucket, prefix: string, budget: number): Promise<{ count: number; complete: boolean }> {
  let count = 0;
  while (count < budget) {
    const listed = await bucket.list({ prefix, limit: Math.min(1000, budget - count) });
    if (listed.objects.length === 0) return { count, complete: true };
    await bucket.delete(listed.objects.map((o) => o.key));
    count += listed.objects.length;
    if (!listed.truncated) return { count, complete: true };
  }
  return { count, complete: false };
}
