import type { Env } from "../env";
import { dispatchMessageSchema } from "./dispatch-message";

/**
 * Hands each dispatch message to its job's JobDO, which decides whether it still
 * means anything. A message that is not a dispatch message is acknowledged and
 * logged, since retrying it can never succeed.
 */
export async function consumeDispatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = dispatchMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ level: "error", queue: batch.queue, message: "dropped malformed dispatch message", issues: parsed.error.issues }));
      message.ack();
      continue;
    }
    try {
      const stub = env.JOBS.get(env.JOBS.idFromName(parsed.data.job_id));
      const decision = await stub.receiveDispatch(parsed.data);
      console.log(JSON.stringify({ level: "info", job_id: parsed.data.job_id, attempt: parsed.data.attempt, dispatch: decision }));
      // A full encoder pool is back-pressure, not failure: the message waits and comes back.
      if (decision === "busy") message.retry({ delaySeconds: Math.min(60, 2 ** (message.attempts - 1)) });
      else message.ack();
    } catch (err) {
      console.error(JSON.stringify({ level: "error", job_id: parsed.data.job_id, message: `dispatch failed: ${String(err)}` }));
      message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
    }
  }
}
