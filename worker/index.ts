import { app } from "./app";
import type { Env } from "./env";
import { consumeDispatch } from "./queue/consumer";
import { PROBE_QUEUE, consumeProbes } from "./queue/probe-consumer";
import { runRetention } from "./retention/sweep";
import { WEBHOOK_QUEUE, consumeWebhooks } from "./webhooks/consumer";

export { EncoderContainer } from "./dispatch/encoder-container";
export { JobDO } from "./jobs/job-do";
export { OrgLimiter } from "./limits/org-limiter";

export default {
  fetch: app.fetch,
  queue: (batch, env) =>
    batch.queue === WEBHOOK_QUEUE ? consumeWebhooks(batch, env) : batch.queue === PROBE_QUEUE ? consumeProbes(batch, env) : consumeDispatch(batch, env),
  // The cron in wrangler.toml: managed uploads and outputs past RETENTION_DAYS are deleted.
  scheduled: async (controller, env) => {
    await runRetention(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env, unknown>;
