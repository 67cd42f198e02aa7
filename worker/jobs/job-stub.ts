import type { Env } from "../env";
import { ApiError } from "../errors";
import type { JobDO } from "./job-do";

const jobIdPattern = /^job_[a-z0-9]{20}$/;

/**
 * The one way to reach a job's JobDO (routes, the queue consumer, the retention sweep).
 * Env types the namespace without the class, so that env.ts does not import the DO and,
 * through it, most of the Worker; the type comes back here.
 */
export function jobObject(env: Pick<Env, "JOBS">, jobId: string): DurableObjectStub<JobDO> {
  return env.JOBS.get(env.JOBS.idFromName(jobId)) as DurableObjectStub<JobDO>;
}

/** The JobDO of a job id a caller named; a malformed id is a 404 without waking any object. */
export function jobStub(env: Pick<Env, "JOBS">, jobId: string): DurableObjectStub<JobDO> {
  if (!jobIdPattern.test(jobId)) throw jobNotFound(jobId);
  return jobObject(env, jobId);
}

export function jobNotFound(jobId: string): ApiError {
  return new ApiError(404, "not_found", `No job ${jobId}`);
}
