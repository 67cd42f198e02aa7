import { app } from "./app";
import type { Env } from "./env";
import { consumeDispatch } from "./queue/consumer";
import { PROBE_QUEUE, consumeProbes } from "./queue/probe-consumer";
import { runRetention } from "./retention/sweep";
import { WEBHOOK_QUEUE, consumeWebhooks } from "./webhooks/consumer";
import { sweepStrandedWebhooks } from "./webhooks/sweep";

/** The hourly cron of wrangler.toml's [triggers]; the other one, every minute, sweeps webhooks. */
const RETENTION_CRON = "17 * * * *";

export { EncoderContainer } from "./dispatch/encoder-container";
export { JobDO } from "./jobs/job-do";
export { OrgLimiter } from "./limits/org-limiter";

export default {
  fetch: app.fetch,
  queue: (batch, env) =>
    batch.queue === WEBHOOK_QUEUE ? consumeWebhooks(batch, env) : batch.queue === PROBE_QUEUE ? consumeProbes(batch, env) : consumeDispatch(batch, env),
  // The crons in wrangler.toml: hourly, managed uploads and outputs past RETENTION_DAYS are
  // deleted; every minute, webhook deliveries whose Queue message was lost are sent again.
  scheduled: async (controller, env) => {
    if (controller.cron === RETENTION_CRON) await runRetention(env, controller.scheduledTime);
    else await sweepStrandedWebhooks(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Env, unknown>;
