import type { Env } from "../env";
import type { OrgLimiter } from "./org-limiter";
import { jobLimits } from "./limits";
import { RateLimited } from "./rate-limited";

type AdmissionEnv = Pick<Env, "DB" | "LIMITER" | "JOBS_PER_MINUTE_PER_KEY" | "JOBS_PER_MINUTE_PER_ORG" | "MAX_ACTIVE_JOBS_PER_ORG" | "MAX_RUNNING_JOBS_PER_ORG">;

function limiter(env: AdmissionEnv, orgId: string): DurableObjectStub<OrgLimiter> {
  return env.LIMITER.get(env.LIMITER.idFromName(orgId)) as DurableObjectStub<OrgLimiter>;
}

/** Throws a 429 RateLimited unless the organization (and the key, when there is one) may create job `jobId` now. */
export async function admitJobCreate(env: AdmissionEnv, orgId: string, keyId: string | null, jobId: string): Promise<void> {
  const limits = await jobLimits(env, orgId);
  const admission = await limiter(env, orgId).admitCreate({ orgId, keyId, jobId, limits });
  if (!admission.ok) throw new RateLimited(admission.reason, admission.retryAfterSeconds);
}

/** Whether job `jobId` may take an encoder slot now, under its organization's cap of running jobs. */
export async function admitJobRun(env: AdmissionEnv, orgId: string, jobId: string): Promise<boolean> {
  const limits = await jobLimits(env, orgId);
  return limiter(env, orgId).admitRun({ orgId, jobId, limit: limits.runningJobs });
}
