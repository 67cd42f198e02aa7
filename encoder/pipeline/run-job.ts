import path from "node:path";
import type { OutputFacts, WorkOrder } from "../contract";
import { PipelineError, toFailure } from "../errors";
import type { FfmpegCommand } from "../ffmpeg/command";
import { buildEncodeCommand } from "../ffmpeg/encode";
import { probeFile, probeStreams, requireStreams } from "../ffmpeg/probe";
import { runFfmpeg } from "../ffmpeg/runner";
import { runPostStep } from "../media/post-step";
import { imageFacts } from "../media/image-facts";
import { type MadeOutput, exportOutputs, listFiles } from "./export";
import { importInput } from "./import";
import type { Reporter } from "./reporter";
import { withWorkDir } from "./workdir";

export interface JobRuntime {
  signal: AbortSignal;
  reporter: Reporter;
  allowPrivateNetworks: boolean;
  ffmpeg?: string;
  ffprobe?: string;
}

/** Shares of overall progress per stage; encode is split between tasks by media duration. */
const WEIGHT = { import: 10, probe: 2, encode: 80, export: 8 } as const;
const INPUT_FILE = "input";

/**
 * Runs one attempt of a job: import → probe → encode each task → export, inside a
 * working directory that is removed afterwards. An input failure ends the job; a
 * failed encode task is reported and the remaining tasks still run. A probe-only
 * order (delayed start) stops after the probe and its checks.
 */
export async function runJob(order: WorkOrder, runtime: JobRuntime): Promise<void> {
  const { reporter, signal } = runtime;
  // Which stage a failure happened in; written inside the work closure.
  const at: { stage: "import" | "probe" | "encode" | "export" } = { stage: "import" };
  // The last word is sent after the working directory is gone, so "done" means clean.
  let last: Parameters<Reporter["send"]>[0];
  try {
    await withWorkDir(order.job_id, order.attempt, async (dir) => {
      // Events are queued in order and not waited for: the encode does not sit behind
      // round trips to the Worker. Only the probe's completion is awaited (its answer can
      // pause a delayed-start job) and the final word.
      void reporter.send({ type: "task_started", stage: "import", task_id: null });
      await importInput(order.input.url, path.join(dir, INPUT_FILE), {
        maxBytes: order.limits.max_input_bytes,
        connectTimeoutMs: order.limits.connect_timeout_ms,
        readTimeoutMs: order.limits.read_timeout_ms,
        allowPrivateNetworks: runtime.allowPrivateNetworks,
        signal,
        onProgress: (bytes, total) => {
          if (total) reporter.progress("import", null, (bytes / total) * 100, (bytes / total) * WEIGHT.import);
        },
      });
      void reporter.send({ type: "task_completed", stage: "import", task_id: null, output: null });

      at.stage = "probe";
      void reporter.send({ type: "task_started", stage: "probe", task_id: null });
      const { result: probed, verify } = await probeStreams(INPUT_FILE, dir, { ffprobe: runtime.ffprobe, signal });
      if (probed.metadata.duration_ms / 1000 > order.limits.max_duration_s) {
        throw new PipelineError("input_too_large", `The input lasts ${Math.round(probed.metadata.duration_ms / 1000)} s; the limit is ${order.limits.max_duration_s} s`);
      }
      void reporter.send({ type: "metadata", input_metadata: probed.metadata });
      if (order.probe_only) {
        // The job will wait for confirmation: everything that could fail it later is checked now.
        for (const task of order.tasks) requireStreams(probed, task.spec.kind);
        await verify();
        await reporter.send({ type: "task_completed", stage: "probe", task_id: null, output: null });
        return;
      }
      await reporter.send({ type: "task_completed", stage: "probe", task_id: null, output: null });
      reporter.progress("probe", null, 100, WEIGHT.import + WEIGHT.probe);

      at.stage = "encode";
      // Input problems are found for every task before any encoding starts.
      for (const task of order.tasks) requireStreams(probed, task.spec.kind);
      // The probe's answer may have paused the job (delayed start): nothing more runs.
      if (signal.aborted) throw new PipelineError("canceled", "The job was canceled");
      // The damage checks (a first-frame decode, a read of the tail) run beside the
      // encode rather than before it; a damaged input stops the encode and fails the job.
      const encodeControl = new AbortController();
      const stopEncode = () => encodeControl.abort();
      signal.addEventListener("abort", stopEncode, { once: true });
      let damage: unknown = null;
      const integrity = verify().catch((err) => {
        damage = err;
        encodeControl.abort();
      });
      const failIfDamaged = async () => {
        await integrity;
        if (damage) {
          at.stage = "probe";
          throw damage;
        }
      };
      const source = { ...probed.source, file: INPUT_FILE };
      const commands = order.tasks.map((task) => ({ task, command: buildEncodeCommand(task.spec, source, task.output_id) }));
      const totalSeconds = commands.reduce((sum, c) => sum + Math.max(c.command.durationS, 0.001), 0);
      let doneSeconds = 0;
      const made: MadeOutput[] = [];
      // Each output's ffprobe verification runs beside the next encode and the export;
      // an output is reported completed only once it is verified.
      const verifications = new Map<string, Promise<VerifiedFacts>>();
      for (const { task, command } of commands) {
        void reporter.send({ type: "task_started", stage: "encode", task_id: task.task_id });
        const share = Math.max(command.durationS, 0.001) / totalSeconds;
        const base = WEIGHT.import + WEIGHT.probe + (doneSeconds / totalSeconds) * WEIGHT.encode;
        try {
          await runFfmpeg(command, {
            cwd: dir,
            signal: encodeControl.signal,
            ffmpeg: runtime.ffmpeg,
            onProgress: (f) => reporter.progress("encode", task.task_id, f * 100, base + f * share * WEIGHT.encode),
          });
          if (command.post) await runPostStep(command.post, dir);
          made.push({ outputId: task.output_id, main: command.main, files: await outputFiles(command, dir) });
          const verification = verifyOutput(command, dir, runtime, signal);
          // Observed later, after export; until then a failure must not count as unhandled.
          verification.catch(() => {});
          verifications.set(task.task_id, verification);
        } catch (err) {
          if (signal.aborted) throw err;
          if (encodeControl.signal.aborted) await failIfDamaged();
          reportTaskFailure(reporter, task.task_id, err);
        }
        doneSeconds += Math.max(command.durationS, 0.001);
      }

      await failIfDamaged();
      signal.removeEventListener("abort", stopEncode);

      at.stage = "export";
      if (made.length > 0) {
        void reporter.send({ type: "task_started", stage: "export", task_id: null });
        // Nothing the job started may outlive its working directory.
        const exported = await exportOutputs(order, dir, made, signal).finally(() => Promise.allSettled(verifications.values()));
        const byOutput = new Map(exported.map((o) => [o.output_id, o]));
        for (const { task } of commands) {
          const stored = byOutput.get(task.output_id);
          const verification = verifications.get(task.task_id);
          if (!stored || !verification) continue;
          try {
            const output: OutputFacts = { ...stored, ...(await verification) };
            void reporter.send({ type: "task_completed", stage: "encode", task_id: task.task_id, output });
          } catch (err) {
            // Its files were stored, but the Worker records outputs only from task_completed.
            reportTaskFailure(reporter, task.task_id, err);
          }
        }
        void reporter.send({ type: "task_completed", stage: "export", task_id: null, output: null });
      }
      reporter.progress("export", null, 100, 100);
    });
    // A probe-only order's last word was the probe's completion.
    if (order.probe_only) return;
    last = { type: "job_completed" };
  } catch (err) {
    const failure = signal.aborted ? { code: "canceled" as const, message: "The job was canceled" } : toFailure(err, at.stage === "export" ? "export_failed" : "encode_failed");
    last = { type: "task_failed", stage: at.stage, task_id: null, error: failure };
  }
  await reporter.send(last);
}

function reportTaskFailure(reporter: Reporter, taskId: string, err: unknown): void {
  void reporter.send({ type: "task_failed", stage: "encode", task_id: taskId, error: toFailure(err, "encode_failed") });
}

/** The files an output consists of: its one file, or everything under its package directory. */
async function outputFiles(command: FfmpegCommand, dir: string): Promise<string[]> {
  const root = command.outputs.length === 1 ? command.outputs[0]! : path.dirname(command.main);
  return (await Promise.all((root === "." ? command.outputs : [root]).map((f) => listFiles(dir, f)))).flat();
}

type VerifiedFacts = Pick<OutputFacts, "duration_ms" | "width" | "height" | "codec">;

/** What the output really is, from ffprobe (or sharp, for images ffmpeg cannot read) of the file written. */
async function verifyOutput(command: FfmpegCommand, dir: string, runtime: JobRuntime, signal: AbortSignal): Promise<VerifiedFacts> {
  const file = command.factsFrom ?? command.main;
  if (/\.(webp|avif|gif)$/i.test(file)) return imageFacts(file, dir);
  const probed = await probeFile(file, dir, { ffprobe: runtime.ffprobe, signal, integrityChecks: false });
  return {
    duration_ms: probed.isStillImage ? null : probed.metadata.duration_ms,
    width: probed.source.width,
    height: probed.source.height,
    codec: probed.metadata.codec ?? probed.metadata.audio_codec,
  };
}
