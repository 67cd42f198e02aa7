import type { Env } from "../env";
import { jobObject } from "../jobs/job-stub";
import { type DispatchMessage, dispatchMessageSchema } from "./dispatch-message";

const tierOrder: Record<DispatchMessage["priority"], number> = { premium: 0, standard: 1, economy: 2 };

/**
 * How long a message waits before asking a full encoder pool again, by tier: premium
 * comes back soonest, so when slots free up under load it is usually first in line.
 */
export function busyRetryDelaySeconds(priority: DispatchMessage["priority"], deliveries: number): number {
  const base = { premium: 1, standard: 3, economy: 10 }[priority];
  const cap = { premium: 10, standard: 30, economy: 120 }[priority];
  return Math.min(cap, base * 2 ** Math.max(0, deliveries - 1));
}

/**
 * Hands each dispatch message to its job's JobDO, which decides whether it still
 * means anything, premium before standard before economy within a batch. A message
 * that is not a dispatch message is acknowledged and logged, since retrying it can
 * never succeed.
 */
export async function consumeDispatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
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
      const stub = jobObject(env, body.job_id);
      const decision = await stub.receiveDispatch(body);
      console.log(JSON.stringify({ level: "info", job_id: body.job_id, attempt: body.attempt, priority: body.priority, dispatch: decision }));
      // A full encoder pool is back-pressure, not failure: the message waits and comes back.
      if (decision === "busy") message.retry({ delaySeconds: busyRetryDelaySeconds(body.priority, message.attempts) });
      else message.ack();
    } catch (err) {
      console.error(JSON.stringify({ level: "error", job_id: body.job_id, message: `dispatch failed: ${String(err)}` }));
      message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
    }
  }
}
