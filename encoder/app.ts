import { timingSafeEqual } from "node:crypto";
import os from "node:os";
import { Hono, type MiddlewareHandler } from "hono";
import { CONTRACT_VERSION, probeRequestSchema, workOrderSchema } from "./contract";
import { Cores } from "./ffmpeg/cores";
import { ffmpegVersion } from "./ffmpeg/version";
import { WarmProbes } from "./ffmpeg/warm-probes";
import { runOrder } from "./engines";
import type { TestNetwork } from "./net/guarded-fetch";
import { probeUpload } from "./pipeline/probe-upload";
import { Reporter } from "./pipeline/reporter";
import { Sandbox } from "./sandbox/sandbox";

export const ENCODER_VERSION = "0.1.0";

export interface EncoderOptions {
  /** Shared secret the Worker presents as `Authorization: Bearer …`. */
  token: string;
  /** Jobs at once (POST /work answers 429 past it); default 2 per core. */
  concurrency?: number;
  /** ffmpeg runs at once (see Cores); default the CPU count. */
  cores?: number;
  allowPrivateNetworks?: boolean;
  /**
   * TEST-ONLY: endpoints exempt from the address policy and a resolver for user-supplied
   * URLs' names, so tests can run production mode against servers on loopback. Never set
   * from configuration.
   */
  testNetwork?: TestNetwork;
  heartbeatMs?: number;
  /** How long readers of an input still arriving wait for its next bytes; default 5 s. */
  growingInputWaitMs?: number;
  ffmpeg?: string;
  ffprobe?: string;
  /** ffprobe processes kept started ahead of need (see WarmProbes); default 2 per slot, 0 for none. */
  warmProbes?: number;
  /** The bubblewrap binary tool runs are sandboxed with; default `bwrap` from PATH. */
  bwrap?: string;
  /**
   * TEST-ONLY: false runs tool arguments without the allowlist and the protocol
   * whitelist, so tests can show the sandbox alone contains them. Default true; never
   * set from configuration.
   */
  checkToolArguments?: boolean;
}

interface Running {
  attempt: number;
  controller: AbortController;
  done: Promise<void>;
}

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The encoder's HTTP surface: take a work order (202 at once, 429 when every slot is
 * busy), cancel one, probe a file for the Worker (an upload's media facts), report
 * health. Each job runs in the background and reports its progress to the Worker
 * through the order's callback.
 *
 * Slots are jobs, cores are ffmpeg runs. A job spends part of its time importing,
 * probing, verifying and exporting, when its core would sit idle; with two slots per
 * core another job's encode fills that time, and the cores bound what is CPU-bound.
 */
export function createEncoderApp(options: EncoderOptions) {
  const cores = new Cores(options.cores ?? Math.max(1, os.cpus().length));
  const concurrency = options.concurrency ?? 2 * cores.total;
  const running = new Map<string, Running>();
  // Probes answer synchronously and are short next to encodes: they have slots of their own.
  let probing = 0;
  const ffmpeg = ffmpegVersion(options.ffmpeg);
  ffmpeg.catch(() => undefined);
  // A job takes one for its input and one per MP4/MOV output it verifies.
  const warmProbes = new WarmProbes({ size: options.warmProbes ?? 2 * concurrency, ffprobe: options.ffprobe });
  warmProbes.fill();
  // One per process: its self-test is run once, before the first tool run.
  const sandbox = new Sandbox({ bwrap: options.bwrap });

  const app = new Hono();

  app.get("/health", async (c) => {
    const slots = { busy: running.size, free: Math.max(0, concurrency - running.size), total: concurrency };
    const ffmpegRuns = { busy: cores.busy, waiting: cores.waiting, total: cores.total };
    const warm_probes = { ready: warmProbes.ready, target: warmProbes.size, taken: warmProbes.taken };
    try {
      return c.json({ ok: true, service: "kiln-encoder", version: ENCODER_VERSION, contract: CONTRACT_VERSION, ffmpeg: await ffmpeg, slots, cores: ffmpegRuns, warm_probes });
    } catch (err) {
      return c.json({ ok: false, service: "kiln-encoder", version: ENCODER_VERSION, error: String(err), slots }, 503);
    }
  });

  const requireToken: MiddlewareHandler = async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
    if (!options.token || !sameSecret(presented, options.token)) return c.json({ error: { code: "token_invalid", message: "Bad encoder token" } }, 401);
    await next();
  };
  app.use("/work", requireToken);
  app.use("/work/*", requireToken);
  app.use("/probe", requireToken);

  app.post("/probe", async (c) => {
    const parsed = probeRequestSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: { code: "invalid_probe_request", message: "Not a probe request", details: parsed.error.issues } }, 400);
    if (probing >= concurrency) return c.json({ error: { code: "encoder_full", message: `All ${concurrency} probe slots are busy` } }, 429);
    probing++;
    try {
      const result = await probeUpload(parsed.data, {
        allowPrivateNetworks: options.allowPrivateNetworks ?? false,
        testNetwork: options.testNetwork,
        ffprobe: options.ffprobe,
        signal: c.req.raw.signal,
      });
      return c.json(result, 200);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", message: `probe failed: ${String(err)}` }));
      return c.json({ error: { code: "probe_failed", message: "The encoder could not probe the file" } }, 500);
    } finally {
      probing--;
    }
  });

  app.post("/work", async (c) => {
    const parsed = workOrderSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: { code: "invalid_work_order", message: "Not a work order", details: parsed.error.issues } }, 400);
    const order = parsed.data;
    const current = running.get(order.job_id);
    if (current && current.attempt >= order.attempt) {
      // A redelivered order for an attempt already running (or superseded) is not run twice.
      return c.json({ accepted: true, job_id: order.job_id, attempt: current.attempt, duplicate: true }, 202);
    }
    if (current) {
      current.controller.abort();
      await current.done;
    } else if (running.size >= concurrency) {
      return c.json({ error: { code: "encoder_full", message: `All ${concurrency} slots are busy` } }, 429);
    }
    const controller = new AbortController();
    const reporter = new Reporter(order, () => controller.abort(), options.heartbeatMs ?? 5_000);
    reporter.startHeartbeat();
    const entry: Running = {
      attempt: order.attempt,
      controller,
      done: runOrder(order, {
        signal: controller.signal,
        reporter,
        allowPrivateNetworks: options.allowPrivateNetworks ?? false,
        testNetwork: options.testNetwork,
        growingInputWaitMs: options.growingInputWaitMs,
        ffmpeg: options.ffmpeg,
        ffprobe: options.ffprobe,
        warmProbes,
        cores,
        sandbox,
        checkToolArguments: options.checkToolArguments ?? true,
      })
        .catch((err) => console.error(JSON.stringify({ level: "error", job_id: order.job_id, message: String(err) })))
        .finally(async () => {
          await reporter.stop();
          if (running.get(order.job_id) === entry) running.delete(order.job_id);
          // When a job ends, not while it encodes: starting them takes CPU.
          warmProbes.fill();
        }),
    };
    running.set(order.job_id, entry);
    return c.json({ accepted: true, job_id: order.job_id, attempt: order.attempt }, 202);
  });

  app.delete("/work/:jobId", async (c) => {
    const entry = running.get(c.req.param("jobId"));
    if (!entry) return c.json({ error: { code: "not_found", message: "No such job running here" } }, 404);
    entry.controller.abort();
    await entry.done;
    return c.json({ canceled: true, job_id: c.req.param("jobId") }, 200);
  });

  return { app, running, warmProbes, cores };
}
