import { drizzle } from "drizzle-orm/d1";
import { jobTags, jobs } from "../db/schema";
import { requestedWork } from "./job-spec";
import type { JobState } from "./job-state";

/** Writes a job's index row (and, the first time, its tags) into D1. Idempotent. */
export async function writeJobIndex(db: D1Database, job: JobState, withTags: boolean): Promise<void> {
  const orm = drizzle(db);
  const row = {
    id: job.id,
    orgId: job.org_id,
    status: job.status,
    progress: job.progress,
    currentStage: job.current_stage,
    mode: job.spec.mode,
    kind: requestedWork(job.spec).kind?.kind ?? null,
    priority: job.spec.priority,
    bundle: job.spec.bundle,
    input: job.spec.input,
    tags: job.spec.tags,
    metadata: job.spec.metadata,
    errorCode: job.error?.code ?? null,
    createdAt: job.created_at,
    updatedAt: job.updated_at,
    startedAt: job.started_at,
    completedAt: job.completed_at,
  };
  const { id: _id, orgId: _org, createdAt: _created, ...changing } = row;
  const upsert = orm.insert(jobs).values(row).onConflictDoUpdate({ target: jobs.id, set: changing });
  if (!withTags || job.spec.tags.length === 0) {
    await upsert;
    return;
  }
  await orm.batch([
    upsert,
    orm
      .insert(jobTags)
      .values(job.spec.tags.map((tag) => ({ jobId: job.id, orgId: job.org_id, tag: tag.toLowerCase() })))
      .onConflictDoNothing(),
  ]);
}

