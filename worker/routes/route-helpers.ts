import type { Env } from "../env";
import { ApiError } from "../errors";

const jobIdPattern = /^job_[a-z0-9]{20}$/;

/** The JobDO of a job id; a malformed id is a 404 without waking any object. */
export function jobStub(env: Env, jobId: string) {
  if (!jobIdPattern.test(jobId)) throw jobNotFound(jobId);
  return env.JOBS.get(env.JOBS.idFromName(jobId));
}

export function jobNotFound(jobId: string): ApiError {
  return new ApiError(404, "not_found", `No job ${jobId}`);
}

/** JSON with sorted keys, so two equal bodies hash alike whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
