import { app } from "./app";
import type { Env } from "./env";
import { consumeDispatch } from "./queue/consumer";

export { JobDO } from "./jobs/job-do";

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeDispatch(batch, env),
} satisfies ExportedHandler<Env, unknown>;
