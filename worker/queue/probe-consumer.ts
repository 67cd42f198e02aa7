import type { Env } from "../env";
import { probeUpload } from "../uploads/probe";
import { probeMessageSchema } from "./probe-message";

export const PROBE_QUEUE = "kiln-probes";

/** How long a probe waits before asking again: a busy pool soon, an unreachable one backing off. */
export function probeRetryDelaySeconds(outcome: "busy" | "unreachable", deliveries: number): number {
  return outcome === "busy" ? Math.min(60, 5 * deliveries) : Math.min(600, 10 * 2 ** Math.max(0, deliveries - 1));
}

/**
 * Probes each upload named in the batch, one after another (probing imports the file;
 * the pool's encode slots matter more). A malformed message is acknowledged and logged.
 */
export async function consumeProbes(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = probeMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(JSON.stringify({ level: "error", queue: batch.queue, message: "dropped malformed probe message", issues: parsed.error.issues }));
      message.ack();
      continue;
    }
    try {
      const outcome = await probeUpload(env, parsed.data);
      if (outcome === "busy" || outcome === "unreachable") message.retry({ delaySeconds: probeRetryDelaySeconds(outcome, message.attempts) });
      else message.ack();
    } catch (err) {
      console.error(JSON.stringify({ level: "error", upload_id: parsed.data.upload_id, message: `probe failed: ${String(err)}` }));
      message.retry({ delaySeconds: probeRetryDelaySeconds("unreachable", message.attempts) });
    }
  }
}
