import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { WorkOrderInput } from "../../encoder/contract";
import {
  DEFAULT_ENCODER_POOL_SIZE,
  cancelOnEncoder,
  encoderInstanceName,
  encoderPin,
  encoderPoolSize,
  encoderUrls,
  encodersFor,
  sendWorkOrder,
} from "../../worker/dispatch/encoder-client";
import type { Env } from "../../worker/env";
import { derivedId } from "../../worker/ids";

/**
 * The Containers binding cannot run here: Miniflare has no container runtime without
 * Docker, and vitest-pool-workers always starts it with containers disabled. What the
 * Worker does with the binding (which instance, which request, what an answer means)
 * is tested against a recording stand-in for the namespace; the container class itself
 * is exercised only in a deployment.
 */
interface Recorded {
  instance: string;
  url: string;
  method: string;
  authorization: string | null;
  body: string;
}

function containerNamespace(answer: (req: Request) => Response | Promise<Response>) {
  const calls: Recorded[] = [];
  const namespace = {
    idFromName: (name: string) => ({ name }),
    get: (id: { name: string }) => ({
      fetch: async (input: string, init?: RequestInit) => {
        const req = new Request(input, init);
        calls.push({ instance: id.name, url: req.url, method: req.method, authorization: req.headers.get("authorization"), body: await req.text() });
        return answer(req);
      },
    }),
  };
  return { calls, namespace: namespace as unknown as NonNullable<Env["ENCODER"]> };
}

/** The test env without ENCODER_URL, so dispatch goes through the (stand-in) binding. */
function containerEnv(namespace: Env["ENCODER"], extra: Partial<Env> = {}): Env {
  return { ...env, ENCODER_URL: undefined, ENCODER: namespace, ...extra } as Env;
}

const order = (jobId: string) => ({ job_id: jobId, attempt: 1 }) as unknown as WorkOrderInput;

async function jobIds(count: number): Promise<string[]> {
  // Deterministic ids shaped like real ones, so the spread assertions cannot flake.
  return Promise.all(Array.from({ length: count }, (_, i) => derivedId("job", `encoder-routing-${i}`)));
}

describe("routing a job to a container instance", () => {
  it("always names the same instance for the same job id", async () => {
    for (const id of await jobIds(50)) {
      const name = encoderInstanceName(id, 4);
      expect(encoderInstanceName(id, 4)).toBe(name);
      expect(name).toMatch(/^pool-[0-3]$/);
    }
  });

  it("is 32-bit FNV-1a, pinned: a changed mapping would send a new Worker's cancels to the wrong instances", () => {
    // FNV-1a reference vectors, read out whole through a pool of 2^32
    expect(encoderInstanceName("", 2 ** 32)).toBe(`pool-${0x811c9dc5}`);
    expect(encoderInstanceName("a", 2 ** 32)).toBe(`pool-${0xe40c292c}`);
    expect(encoderInstanceName("foobar", 2 ** 32)).toBe(`pool-${0xbf9cf968}`);
    expect(encoderInstanceName("job_aaaaaaaaaaaaaaaaaaaa", 10)).toBe("pool-5");
  });

  it("spreads job ids evenly over the pool", async () => {
    const ids = await jobIds(4000);
    for (const size of [4, 10]) {
      const counts = new Map<string, number>();
      for (const id of ids) counts.set(encoderInstanceName(id, size), (counts.get(encoderInstanceName(id, size)) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual(Array.from({ length: size }, (_, i) => `pool-${i}`).sort());
      const mean = ids.length / size;
      for (const [name, count] of counts) {
        expect(Math.abs(count - mean) / mean, `${name}: ${count} of ${ids.length} (pool of ${size})`).toBeLessThan(0.2);
      }
    }
  });

  it("spreads ids that differ only in their last symbol", () => {
    const names = new Set("0123456789abcdefghjkmnpqrstvwxyz".split("").map((c) => encoderInstanceName(`job_000000000000000000${c}0`, 4)));
    expect(names.size).toBe(4);
  });

  it("puts every job on one instance in a pool of one", async () => {
    for (const id of await jobIds(20)) expect(encoderInstanceName(id, 1)).toBe("pool-0");
  });

  it("reads the pool size from ENCODER_POOL_SIZE, defaulting to 4", () => {
    expect(DEFAULT_ENCODER_POOL_SIZE).toBe(4);
    expect(encoderPoolSize({ ENCODER_POOL_SIZE: "7" })).toBe(7);
    expect(encoderPoolSize({ ENCODER_POOL_SIZE: undefined })).toBe(4);
    for (const bad of ["", "0", "-2", "2.5", "four"]) expect(encoderPoolSize({ ENCODER_POOL_SIZE: bad }), bad).toBe(4);
    expect(env.ENCODER_POOL_SIZE).toBe("4"); // wrangler.toml
  });
});

describe("choosing ENCODER_URL or the Containers binding", () => {
  it("uses ENCODER_URL when it is set, even with the binding configured", () => {
    expect(env.ENCODER_URL).toBeTruthy();
    expect(env.ENCODER).toBeDefined(); // from wrangler.toml's durable_objects.bindings
    expect(encodersFor(env, "job_aaaaaaaaaaaaaaaaaaaa").map((e) => e.via)).toEqual(["url"]);
  });

  it("uses the binding when ENCODER_URL is unset", () => {
    const { namespace } = containerNamespace(() => new Response(null, { status: 202 }));
    expect(encodersFor(containerEnv(namespace), "job_aaaaaaaaaaaaaaaaaaaa").map((e) => e.via)).toEqual(["container"]);
    expect(encodersFor(containerEnv(namespace, { ENCODER_URL: "" }), "job_aaaaaaaaaaaaaaaaaaaa").map((e) => e.via)).toEqual(["container"]);
  });

  it("reports an order it cannot send anywhere as unreachable", async () => {
    expect(await sendWorkOrder(containerEnv(undefined), order("job_aaaaaaaaaaaaaaaaaaaa"))).toBe("unreachable");
    expect(() => encodersFor(containerEnv(undefined), "job_aaaaaaaaaaaaaaaaaaaa")).toThrow(/ENCODER_URL is not set/);
  });

  it("refuses to send without ENCODER_TOKEN", async () => {
    const { calls, namespace } = containerNamespace(() => new Response(null, { status: 202 }));
    expect(await sendWorkOrder(containerEnv(namespace, { ENCODER_TOKEN: "" }), order("job_aaaaaaaaaaaaaaaaaaaa"))).toBe("unreachable");
    expect(calls).toEqual([]);
  });
});

describe("dispatch through the Containers binding", () => {
  it("posts the work order with the token to the job's instance", async () => {
    const { calls, namespace } = containerNamespace(() => new Response(null, { status: 202 }));
    const e = containerEnv(namespace);
    const [jobId] = await jobIds(1);
    expect(await sendWorkOrder(e, order(jobId!))).toBe("accepted");
    expect(calls).toEqual([
      {
        instance: encoderInstanceName(jobId!, 4),
        url: "http://encoder/work",
        method: "POST",
        authorization: `Bearer ${env.ENCODER_TOKEN}`,
        body: JSON.stringify(order(jobId!)),
      },
    ]);
  });

  it("sends a cancel to the instance that got the job's order", async () => {
    const { calls, namespace } = containerNamespace(() => new Response(null, { status: 200 }));
    const e = containerEnv(namespace, { ENCODER_POOL_SIZE: "10" });
    for (const jobId of await jobIds(30)) {
      calls.length = 0;
      await sendWorkOrder(e, order(jobId));
      await cancelOnEncoder(e, jobId);
      expect(calls.map((c) => [c.method, c.url])).toEqual([
        ["POST", "http://encoder/work"],
        ["DELETE", `http://encoder/work/${jobId}`],
      ]);
      expect(calls[1]!.instance).toBe(calls[0]!.instance);
      expect(calls[1]!.instance).toBe(encoderInstanceName(encoderPin(e, jobId), 10));
      expect(calls[1]!.authorization).toBe(`Bearer ${env.ENCODER_TOKEN}`);
    }
  });

  it("maps the answers: 429 and the library's 503 (no instance) are busy, other 5xx unreachable, 4xx rejected", async () => {
    const cases: [number, string][] = [
      [202, "accepted"],
      [429, "busy"],
      [503, "busy"],
      [500, "unreachable"],
      [502, "unreachable"],
      [400, "rejected"],
      [401, "rejected"],
    ];
    for (const [status, outcome] of cases) {
      const { namespace } = containerNamespace(() => new Response("x", { status }));
      expect(await sendWorkOrder(containerEnv(namespace), order("job_aaaaaaaaaaaaaaaaaaaa")), String(status)).toBe(outcome);
    }
    const { namespace } = containerNamespace(() => {
      throw new Error("Network connection lost.");
    });
    expect(await sendWorkOrder(containerEnv(namespace), order("job_aaaaaaaaaaaaaaaaaaaa"))).toBe("unreachable");
    await expect(cancelOnEncoder(containerEnv(namespace), "job_aaaaaaaaaaaaaaaaaaaa")).resolves.toBeUndefined();
  });

  it("names one Durable Object of the real binding per job, the same for its order and its cancel", async () => {
    // Only ids: getting a stub's answer would construct EncoderContainer, which refuses to
    // run without a container runtime (it throws "Containers have not been enabled").
    const ns = env.ENCODER!;
    const [a, b] = ["pool-0", "pool-1"].map((name) => ns.idFromName(name));
    for (const jobId of await jobIds(20)) {
      const id = ns.idFromName(encoderInstanceName(jobId, 2));
      expect(id.equals(ns.idFromName(encoderInstanceName(jobId, 2)))).toBe(true);
      expect(id.equals(a!) || id.equals(b!)).toBe(true);
    }
    expect(a!.equals(b!)).toBe(false);
  });
});

describe("an ENCODER_URL list: a pool of encoder machines", () => {
  const first = env.ENCODER_URL!;
  const second = (env as unknown as { TEST_SECOND_ENCODER_URL: string }).TEST_SECOND_ENCODER_URL;
  const pool = { ...env, ENCODER_URL: `${first}, ${second}/` } as Env;
  const urls = [first, second];
  const ordersAt = async (url: string, jobId: string) => ((await (await fetch(`${url}/orders/${jobId}`)).json()) as { attempt: number }[]).map((o) => o.attempt);
  const cancelsAt = async (url: string, jobId: string) => ((await (await fetch(`${url}/cancels/${jobId}`)).json()) as { count: number }).count;
  const busyAt = (url: string, jobId: string, busy: number) => fetch(`${url}/control`, { method: "POST", body: JSON.stringify({ job_id: jobId, busy }) });
  const pinned = (jobId: string) => Number(encoderInstanceName(encoderPin(pool, jobId), 2).slice("pool-".length));
  const poolIds = (n: number, tag: string) => Promise.all(Array.from({ length: n }, (_, i) => derivedId("job", `url-pool-${tag}-${i}`)));

  it("reads every URL, comma-separated, without trailing slashes", () => {
    expect(encoderUrls(pool)).toEqual(urls);
    expect(encoderUrls({ ENCODER_URL: first })).toEqual([first]);
    expect(encoderUrls({ ENCODER_URL: undefined })).toEqual([]);
  });

  it("sends each job to the URL of its pin, spreading jobs over the list", async () => {
    const ids = await poolIds(24, "spread");
    for (const id of ids) expect(await sendWorkOrder(pool, order(id))).toBe("accepted");
    const at = await Promise.all(ids.map(async (id) => [(await ordersAt(first, id)).length, (await ordersAt(second, id)).length]));
    ids.forEach((id, i) => expect(at[i]![pinned(id)], id).toBe(1));
    ids.forEach((id, i) => expect(at[i]![1 - pinned(id)], id).toBe(0));
    expect(new Set(ids.map(pinned)).size).toBe(2);
  });

  it("passes an order a full encoder refuses (429) to the next, and is busy only when every one is full", async () => {
    const [passed, full] = await poolIds(2, "full");
    await busyAt(urls[pinned(passed!)]!, passed!, 1);
    expect(await sendWorkOrder(pool, order(passed!))).toBe("accepted");
    expect(await ordersAt(urls[pinned(passed!)]!, passed!)).toEqual([]);
    expect(await ordersAt(urls[1 - pinned(passed!)]!, passed!)).toEqual([1]);

    for (const url of urls) await busyAt(url, full!, 1);
    expect(await sendWorkOrder(pool, order(full!))).toBe("busy");
    for (const url of urls) expect(await ordersAt(url, full!)).toEqual([]);
  });

  it("starts a later attempt at the next URL, so an attempt lost with a machine is retried on another", async () => {
    const [id] = await poolIds(1, "attempts");
    expect(await sendWorkOrder(pool, { ...order(id!), attempt: 2 })).toBe("accepted");
    expect(await ordersAt(urls[1 - pinned(id!)]!, id!)).toEqual([2]);
    expect(await ordersAt(urls[pinned(id!)]!, id!)).toEqual([]);
  });

  it("sends a cancel to every encoder of the list, as any may hold the job", async () => {
    const [id] = await poolIds(1, "cancel");
    await cancelOnEncoder(pool, id!);
    for (const url of urls) expect(await cancelsAt(url, id!)).toBe(1);
  });
});
