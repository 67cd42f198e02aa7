import type { WorkOrderInput } from "../../encoder/contract";
import type { Env } from "../env";

export type SendOutcome = "accepted" | "busy" | "unreachable" | "rejected";

function encoderBase(env: Env): string {
  if (!env.ENCODER_URL) throw new Error("ENCODER_URL is not set and no Containers binding is configured");
  if (!env.ENCODER_TOKEN) throw new Error("ENCODER_TOKEN is not set: `wrangler secret put ENCODER_TOKEN`");
  return env.ENCODER_URL.replace(/\/+$/, "");
}

/**
 * Hands a work order to the encoder pool. `busy` (429) means every slot is taken: try
 * again later. `unreachable` (no answer, or a 5xx) is treated like an encoder that died
 * with the order: the attempt's lease runs out and the watchdog counts it as lost.
 * `rejected` means the order itself was refused.
 */
export async function sendWorkOrder(env: Env, order: WorkOrderInput): Promise<SendOutcome> {
  try {
    const res = await fetch(`${encoderBase(env)}/work`, {
      method: "POST",
      headers: { authorization: `Bearer ${env.ENCODER_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(order),
      signal: AbortSignal.timeout(15_000),
    });
    await res.body?.cancel();
    if (res.status === 202) return "accepted";
    if (res.status === 429) return "busy";
    if (res.status >= 500) return "unreachable";
    return "rejected";
  } catch {
    return "unreachable";
  }
}

/** Tells the encoder to stop a job now; the event directive stops it anyway if this is lost. */
export async function cancelOnEncoder(env: Env, jobId: string): Promise<void> {
  try {
    const res = await fetch(`${encoderBase(env)}/work/${encodeURIComponent(jobId)}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${env.ENCODER_TOKEN}` },
      signal: AbortSignal.timeout(3_000),
    });
    await res.body?.cancel();
  } catch {
    // the directive on the encoder's next event (≤ one heartbeat away) covers this
  }
}
