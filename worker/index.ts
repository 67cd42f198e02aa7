import { app } from "./app";
import type { Env } from "./env";
import { consumeDispatch } from "./queue/consumer";
import { WEBHOOK_QUEUE, consumeWebhooks } from "./webhooks/consumer";

export { EncoderContainer } from "./dispatch/encoder-container";
export { JobDO } from "./jobs/job-do";

export default {
  fetch: app.fetch,
  queue: (batch, env) => (batch.queue === WEBHOOK_QUEUE ? consumeWebhooks(batch, env) : consumeDispatch(batch, env)),
} satisfies ExportedHandler<Env, unknown>;
