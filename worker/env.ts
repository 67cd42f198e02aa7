import type { JobDO } from "./jobs/job-do";
import type { DispatchMessage } from "./queue/dispatch-message";

export interface Env {
  DB: D1Database;
  JOBS: DurableObjectNamespace<JobDO>;
  DISPATCH: Queue<DispatchMessage>;
  KILN_ENV: string;
  PROGRESS_MIRROR_INTERVAL_MS: string;
}

export interface Principal {
  keyId: string;
  orgId: string;
  statements: import("./auth/policy").PolicyStatement[];
  orgIds: string[];
}

export type AppEnv = {
  Bindings: Env;
  Variables: { requestId: string; principal: Principal };
};
