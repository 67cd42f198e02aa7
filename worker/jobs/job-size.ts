import { ApiError } from "../errors";
import type { JobSpec } from "./job-spec";
import { planJob } from "./plan";

/**
 * The most a job may weigh when it is created: its spec and planned tasks and outputs as
 * the JobDO stores them (JSON, UTF-8 bytes). The JobDO keeps its whole state in one row of
 * its SQLite storage, and a row may hold 2,000,000 bytes (Cloudflare's documented limit;
 * workerd refuses a row record over 2,200,000 bytes with SQLITE_TOOBIG, measured in
 * test/worker/job-size.test.ts). Half of it is left for what a job gains while it runs
 * (probe facts, output facts, discovered outputs, style measures), so that no later save of
 * an accepted job can fail. A pipeline's arguments count twice (the request's tasks and the
 * planned ones), so its body reaches this at about half the 1 MiB body limit.
 */
export const MAX_JOB_BYTES = 1_000_000;

const utf8 = new TextEncoder();

/** The bytes a job of `spec` would store at creation, planned as the JobDO plans it. */
export function plannedJobBytes(spec: JobSpec): number {
  const { tasks, outputs } = planJob(spec, new Date(0).toISOString());
  return utf8.encode(JSON.stringify({ spec, tasks, outputs })).byteLength;
}

/** A job over MAX_JOB_BYTES is refused (413 `job_too_large`) before anything is stored. */
export function assertJobFits(spec: JobSpec): void {
  const bytes = plannedJobBytes(spec);
  if (bytes > MAX_JOB_BYTES) {
    throw new ApiError(413, "job_too_large", `The job would store ${bytes} bytes; a job may hold at most ${MAX_JOB_BYTES}`, { bytes, limit: MAX_JOB_BYTES });
  }
}
