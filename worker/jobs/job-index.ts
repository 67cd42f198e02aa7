import { drizzle } from "drizzle-orm/d1";
import { jobTags, jobs } from "../db/schema";
import { requestedWork } from "./job-spec";
import { executionView, taskBytesIn } from "../billing/usage";
import { type JobState, jobUsage, waitingForEncoder } from "./job-state";

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
    dialect: job.spec.dialect ?? null,
    errorCode: job.error?.code ?? null,
    waitingForEncoder: waitingForEncoder(job),
    ...usedSoFar(job),
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
      .values(job.spec.tags.map((tag) => ({ jobId: job.id, orgId: job.org_id, tag: tag.toLowerCase(), createdAt: job.created_at })))
      .onConflictDoNothing(),
  ]);
}


/** The job's bytes in and out, run time and compute units, which VTK's bundles sum. */
function usedSoFar(job: JobState) {
  const usage = jobUsage(job);
  const input = job.input_metadata as { file_size_bytes: number } | null;
  return {
    bytesIn: job.tasks.reduce((sum, t) => sum + taskBytesIn(t, input), 0),
    bytesOut: job.outputs.reduce((sum, o) => sum + (o.status === "completed" ? (o.file_size_bytes ?? 0) : 0), 0),
    executionMs: executionView(job.execution, job).total_duration_ms,
    computeUnits: usage.compute_units,
  };
}
