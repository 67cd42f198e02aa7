import type { Context } from "hono";
import { keyCaller } from "../auth/caller";
import type { AppEnv } from "../env";
import { JobService } from "../jobs/service";

/** The job service for the native API's caller: the principal of the request's API key. */
export function jobService(c: Context<AppEnv>): JobService {
  return new JobService(c.env, keyCaller(c.get("principal")));
}
