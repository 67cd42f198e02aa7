import type { Env } from "../env";
import { jobObject } from "../jobs/job-stub";
import { type DispatchMessage, dispatchMessageSchema } from "./dispatch-message";

/** The dead-letter queue of kiln-dispatch (wrangler.toml): messages whose delivery failed max_retries times. */
export const DISPATCH_DEAD_LETTERS = "kiln-dispatch-dlq";

const tierOrder: Record<DispatchMessage["priority"], number> = { premium: 0, standard: 1, economy: 2 };

/**
 * Hands each dispatch message to its job's JobDO, premium before standard before
 * economy within a batch. A message is only a wake-up: the JobDO decides what it means
 * and its alarm owns every later try (a busy pool, a failed send), so the message is
 * acknowledged whatever the DO decided. It is retried only when the DO could not be
 * reached at all; after max_retries it lands in the dead-letter queue. A message that
 * is not a dispatch message is acknowledged and logged, since retrying it can never succeed.
 */
export async function consumeDispatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const deadLetters = batch.queue === DISPATCH_DEAD_LETTERS;
  const valid: { message: Message<unknown>; body: DispatchMessage }[] = [];
  for (const message of batch.messages) {
    const parsed = dispatchMessageSchema.safeParse(message.body);
    if (parsed.success) {
      valid.push({ message, body: parsed.data });
    } else {
      console.error(JSON.stringify({ level: "error", queue: batch.queue, message: "dropped malformed dispatch message", issues: parsed.error.issues }));
      message.ack();
    }
  }
  valid.sort((a, b) => tierOrder[a.body.priority] - tierOrder[b.body.priority]);
  for (const { message, body } of valid) {
    try {
      const decision = await jobObject(env, body.job_id).receiveDispatch(body);
      console.log(JSON.stringify({ level: "info", job_id: body.job_id, attempt: body.attempt, priority: body.priority, dispatch: decision, ...(deadLetters ? { queue: batch.queue } : {}) }));
      message.ack();
    } catch (err) {
      console.error(JSON.stringify({ level: "error", job_id: body.job_id, queue: batch.queue, message: `dispatch failed: ${String(err)}` }));
      // A dead letter is not retried: the job's alarm dispatches it when the DO is back.
      if (deadLetters) message.ack();
      else message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
    }
  }
}
