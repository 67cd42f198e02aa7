import type { PriorityName } from "../api/schemas/create-job";
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
export async function admitJobRun(env: AdmissionEnv, orgId: string, jobId: string, priority: PriorityName): Promise<boolean> {
  return limiter(env, orgId).admitRun({ orgId, jobId, priority });
}

/** Job `jobId` was admitted but the encoder pool did not take it: it waits for a freed slot. */
export async function jobNotStarted(env: AdmissionEnv, orgId: string, jobId: string, priority: PriorityName): Promise<void> {
  await limiter(env, orgId).notStarted({ jobId, priority });
}

/** Job `jobId` left the encoder pool; answers the ids of the organization's waiting jobs to wake. */
export async function jobLeftPool(env: AdmissionEnv, orgId: string, jobId: string): Promise<string[]> {
  return limiter(env, orgId).slotFreed({ jobId });
}
