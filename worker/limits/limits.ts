import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { orgLimits } from "../db/schema";
import type { Env } from "../env";

/** The job limits that apply to one organization. */
export interface JobLimits {
  /** Creates one API key may make per minute (a token bucket: a minute's worth may come at once). */
  jobsPerMinutePerKey: number;
  /** Creates the whole organization may make per minute, over all its keys. */
  jobsPerMinute: number;
  /** Jobs not yet ended (pending, probing, awaiting confirmation, processing) it may have at once. */
  activeJobs: number;
  /** Jobs it may have on the encoder pool at once; the rest wait as for a full pool. */
  runningJobs: number;
}

type LimitsEnv = Pick<Env, "DB" | "JOBS_PER_MINUTE_PER_KEY" | "JOBS_PER_MINUTE_PER_ORG" | "MAX_ACTIVE_JOBS_PER_ORG" | "MAX_RUNNING_JOBS_PER_ORG">;

/** Generous defaults for a var left unset: a limit nobody meets by accident. */
const DEFAULTS: JobLimits = { jobsPerMinutePerKey: 3000, jobsPerMinute: 6000, activeJobs: 5000, runningJobs: 4 };

function positive(value: string | number | null | undefined, fallback: number): number {
  const n = typeof value === "number" ? value : value === undefined || value === null || value.trim() === "" ? NaN : Number(value);
  return Number.isInteger(n) && n >= 1 ? n : fallback;
}

/** The deployment's vars, overridden column by column by the organization's `org_limits` row. */
export async function jobLimits(env: LimitsEnv, orgId: string): Promise<JobLimits> {
  const row = await drizzle(env.DB).select().from(orgLimits).where(eq(orgLimits.orgId, orgId)).get();
  const vars: JobLimits = {
    jobsPerMinutePerKey: positive(env.JOBS_PER_MINUTE_PER_KEY, DEFAULTS.jobsPerMinutePerKey),
    jobsPerMinute: positive(env.JOBS_PER_MINUTE_PER_ORG, DEFAULTS.jobsPerMinute),
    activeJobs: positive(env.MAX_ACTIVE_JOBS_PER_ORG, DEFAULTS.activeJobs),
    runningJobs: positive(env.MAX_RUNNING_JOBS_PER_ORG, DEFAULTS.runningJobs),
  };
  return {
    jobsPerMinutePerKey: positive(row?.jobsPerMinutePerKey, vars.jobsPerMinutePerKey),
    jobsPerMinute: positive(row?.jobsPerMinute, vars.jobsPerMinute),
    activeJobs: positive(row?.activeJobs, vars.activeJobs),
    runningJobs: positive(row?.runningJobs, vars.runningJobs),
  };
}
