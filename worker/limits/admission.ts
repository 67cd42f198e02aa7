import type { Env } from "../env";
import type { OrgLimiter } from "./org-limiter";
import { RateLimited } from "./rate-limited";

type AdmissionEnv = Pick<Env, "LIMITER">;

function limiter(env: AdmissionEnv, orgId: string): DurableObjectStub<OrgLimiter> {
  return env.LIMITER.get(env.LIMITER.idFromName(orgId)) as DurableObjectStub<OrgLimiter>;
}

/** Throws a 429 RateLimited unless the organization (and the key, when there is one) may create job `jobId` now. */
export async function admitJobCreate(env: AdmissionEnv, orgId: string, keyId: string | null, jobId: string): Promise<void> {
  const admission = await limiter(env, orgId).admitCreate({ orgId, keyId, jobId });
  if (!admission.ok) throw new RateLimited(admission.reason, admission.retryAfterSeconds);
}

/** Whether job `jobId` may take an encoder slot now, under its organization's cap of running jobs. */
export async function admitJobRun(env: AdmissionEnv, orgId: string, jobId: string): Promise<boolean> {
  return limiter(env, orgId).admitRun({ orgId, jobId });
}
