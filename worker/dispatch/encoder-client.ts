import { type ProbeRequestInput, type ProbeResponse, type WorkOrderInput, probeResponseSchema } from "../../encoder/contract";
import { createHmac } from "node:crypto";
import type { Env } from "../env";

export type SendOutcome = "accepted" | "busy" | "unreachable" | "rejected";

/** Container instances a job can be routed to when ENCODER_POOL_SIZE is unset. */
export const DEFAULT_ENCODER_POOL_SIZE = 4;

/** FNV-1a of a pin, mod the pool size: which instance (or ENCODER_URL entry) a job starts at. */
function pinIndex(pin: string, poolSize: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < pin.length; i++) {
    hash ^= pin.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % poolSize;
}

/**
 * The container instance for a pin: `pool-<n>`, n = FNV-1a(pin) mod pool size.
 *
 * The trade-off: this is hashing, not scheduling. A job whose instance has every slot
 * busy is answered 429 and its dispatch message is retried later, even while another
 * instance sits idle. A scheduler that knows each instance's free slots (and remembers
 * where a job went, so cancels still find it) is future work. Changing the pool size
 * moves jobs: a running job's cancel may then miss it, and the directive answering the
 * encoder's next event stops it instead.
 */
export function encoderInstanceName(pin: string, poolSize: number): string {
  return `pool-${pinIndex(pin, poolSize)}`;
}

/**
 * What places a job (or an upload's probe) on the pool: an HMAC of its id under the
 * Worker's ENCODER_TOKEN. A job id is the client's choice in effect (an idempotency key
 * names it), and a bare hash of it let a tenant pick keys that all land on one instance
 * and fill it; keyed with a secret, the instance of an id cannot be foreseen. It depends
 * on the id alone, so the DELETE that cancels a job reaches the instance its POST went
 * to, and every attempt of a job lands on the same instance. Rotating ENCODER_TOKEN moves
 * jobs, as changing the pool size does (below).
 */
export function encoderPin(env: Pick<Env, "ENCODER_TOKEN">, id: string): string {
  return createHmac("sha256", env.ENCODER_TOKEN).update(`encoder-pin\n${id}`).digest("hex");
}

export function encoderPoolSize(env: Pick<Env, "ENCODER_POOL_SIZE">): number {
  const size = Number(env.ENCODER_POOL_SIZE);
  return Number.isInteger(size) && size >= 1 ? size : DEFAULT_ENCODER_POOL_SIZE;
}

type EncoderFetch = (path: string, init: RequestInit) => Promise<Response>;
interface Encoder {
  via: "url" | "container";
  fetch: EncoderFetch;
}

/** The encoders ENCODER_URL lists, comma-separated: one machine, or a self-hosted pool. */
export function encoderUrls(env: Pick<Env, "ENCODER_URL">): string[] {
  return (env.ENCODER_URL ?? "")
    .split(",")
    .map((url) => url.trim().replace(/\/+$/, ""))
    .filter((url) => url !== "");
}

/**
 * The encoders asked to run an attempt of `jobId`, in order. With ENCODER_URL, every
 * URL it lists: starting at the job's pin (as a container instance is chosen), moved
 * on by one for each later attempt, so an attempt lost with a dead machine is retried
 * on another. A URL that answers 429 passes the order to the next (see sendWorkOrder):
 * a pool of machines behind one list keeps every one busy while jobs wait, where a pin
 * alone would leave a job waiting for its full machine beside an idle one. Otherwise
 * the one Containers instance of the job's pin.
 */
export function encodersFor(env: Env, jobId: string, attempt = 1): Encoder[] {
  if (!env.ENCODER_TOKEN) throw new Error("ENCODER_TOKEN is not set: `wrangler secret put ENCODER_TOKEN`");
  const urls = encoderUrls(env);
  if (urls.length > 0) {
    const first = pinIndex(encoderPin(env, jobId), urls.length) + Math.max(0, attempt - 1);
    return urls.map((_, i) => {
      const base = urls[(first + i) % urls.length]!;
      return { via: "url" as const, fetch: (path: string, init: RequestInit) => fetch(`${base}${path}`, init) };
    });
  }
  const namespace = env.ENCODER;
  if (!namespace) throw new Error("ENCODER_URL is not set and no Containers binding (ENCODER) is configured");
  const stub = namespace.get(namespace.idFromName(encoderInstanceName(encoderPin(env, jobId), encoderPoolSize(env))));
  // The host is not used for routing: the container class proxies to its defaultPort.
  return [{ via: "container", fetch: (path, init) => stub.fetch(`http://encoder${path}`, init) }];
}

/**
 * Hands a work order to the encoder pool. `busy` (429) means every slot is taken: try
 * again later. `unreachable` (no answer, or a 5xx) is treated like an encoder that died
 * with the order: the attempt's lease runs out and the watchdog counts it as lost.
 * `rejected` means the order itself was refused. Down an ENCODER_URL list, only a 429
 * passes the order on: after no answer the order may be running there, and a second
 * encoder must not start the same attempt.
 *
 * Through the Containers binding a 503 comes from the container library, not the
 * encoder: no instance could be started (max_instances reached, or still provisioning),
 * so the order was never delivered and is retried like a busy pool. The longer timeout
 * there covers a cold start (the library waits up to ~8 s for an instance and ~20 s for
 * the port) and stays under the default 30 s lease.
 */
export async function sendWorkOrder(env: Env, order: WorkOrderInput): Promise<SendOutcome> {
  try {
    const body = JSON.stringify(order);
    for (const encoder of encodersFor(env, order.job_id, order.attempt)) {
      const res = await encoder.fetch("/work", {
        method: "POST",
        headers: { authorization: `Bearer ${env.ENCODER_TOKEN}`, "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(encoder.via === "container" ? 25_000 : 15_000),
      });
      await res.body?.cancel();
      if (res.status === 202) return "accepted";
      if (res.status === 429) continue;
      if (res.status === 503 && encoder.via === "container") return "busy";
      if (res.status >= 500) return unreachable(order, `the encoder answered ${res.status}`);
      return "rejected";
    }
    return "busy";
  } catch (err) {
    return unreachable(order, String(err));
  }
}

/** Logged, since the watchdog later counts the attempt as lost without knowing why. */
function unreachable(order: WorkOrderInput, reason: string): SendOutcome {
  console.warn(JSON.stringify({ level: "warn", job_id: order.job_id, attempt: order.attempt, message: `work order not delivered: ${reason}` }));
  return "unreachable";
}

/**
 * Tells the encoder running a job to stop now; the event directive stops it anyway if
 * this is lost. Every encoder of an ENCODER_URL list is told, as any of them may have
 * taken the order; the others answer 404.
 */
export async function cancelOnEncoder(env: Env, jobId: string): Promise<void> {
  let encoders: Encoder[];
  try {
    encoders = encodersFor(env, jobId);
  } catch {
    return; // no encoder configured: nothing runs the job
  }
  await Promise.all(
    encoders.map(async (encoder) => {
      try {
        const res = await encoder.fetch(`/work/${encodeURIComponent(jobId)}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${env.ENCODER_TOKEN}` },
          signal: AbortSignal.timeout(3_000),
        });
        await res.body?.cancel();
      } catch {
        // the directive on the encoder's next event (≤ one heartbeat away) covers this
      }
    }),
  );
}

export type ProbeOutcome = { kind: "probed"; result: ProbeResponse } | { kind: "busy" } | { kind: "unreachable"; reason: string };

/** Importing a large upload before probing it takes a while; the queue consumer may wait this long. */
const PROBE_TIMEOUT_MS = 10 * 60_000;

/**
 * Asks the encoder to probe one file (`POST /probe`), for an upload. `key` picks the
 * pool instance as a job id does, and down an ENCODER_URL list a 429 passes the probe
 * on. `busy` and `unreachable` mean: ask again later.
 */
export async function probeOnEncoder(env: Env, key: string, request: ProbeRequestInput): Promise<ProbeOutcome> {
  try {
    for (const encoder of encodersFor(env, key)) {
      const res = await encoder.fetch("/probe", {
        method: "POST",
        headers: { authorization: `Bearer ${env.ENCODER_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      if (res.status === 429 || (res.status === 503 && encoder.via === "container")) {
        await res.body?.cancel();
        continue;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        return { kind: "unreachable", reason: `the encoder answered ${res.status}` };
      }
      const parsed = probeResponseSchema.safeParse(await res.json().catch(() => null));
      return parsed.success ? { kind: "probed", result: parsed.data } : { kind: "unreachable", reason: "the encoder's answer is not a probe result" };
    }
    return { kind: "busy" };
  } catch (err) {
    return { kind: "unreachable", reason: String(err) };
  }
}
