import type { ToolStep, ToolsOrder } from "../contract";
import { PipelineError, toFailure } from "../errors";
import type { Reporter } from "../pipeline/reporter";
import { withWorkDir } from "../pipeline/workdir";
import { setVariables } from "../tools/env";
import { runCommand } from "../tools/ffmpeg-cmd";
import { analyzeLoudness } from "../tools/loudnorm";
import { packageDash } from "../tools/package-dash";
import { renameFiles } from "../tools/rename";
import type { ToolPlace } from "../tools/sandboxed-probe";
import type { JobEnv, StepEnd, StepOf, Tool } from "../tools/step";
import { checkFiles } from "../tools/storage-check";
import { getFiles } from "../tools/storage-get";
import { putFiles } from "../tools/storage-put";
import { tarFiles } from "../tools/tar";
import { TaskLog } from "../tools/task-log";
import type { EngineRuntime } from "./runtime";

const tools: { [T in ToolStep["tool"]]: Tool<StepOf<T>> } = {
  "storage:get": { stage: "import", fallback: "encode_failed", run: getFiles },
  "storage:check": { stage: "import", fallback: "check_failed", run: checkFiles },
  "ffmpeg:cmd": { stage: "encode", fallback: "encode_failed", run: runCommand },
  "ffmpeg:loudnorm_analyze": { stage: "encode", fallback: "encode_failed", run: analyzeLoudness },
  "utils:env": { stage: "encode", fallback: "encode_failed", run: setVariables },
  "utils:rename": { stage: "encode", fallback: "rename_conflict", run: renameFiles },
  "utils:tar": { stage: "encode", fallback: "archive_refused", run: tarFiles },
  "shaka:package_dash": { stage: "encode", fallback: "encode_failed", run: packageDash },
  "storage:put": { stage: "export", fallback: "export_failed", run: putFiles },
};
const toolOf = (step: ToolStep) => tools[step.tool] as Tool<ToolStep>;

/** The order's steps as they run: one at a time, or consecutive parallel steps together. */
function groups(steps: readonly ToolStep[]): ToolStep[][] {
  const out: ToolStep[][] = [];
  for (const step of steps) {
    const last = out.at(-1);
    if (step.parallel && last?.[0]?.parallel) last.push(step);
    else out.push([step]);
  }
  return out;
}

/** A step that failed, and how. */
class StepFailure extends Error {
  constructor(
    readonly step: ToolStep,
    readonly failure: unknown,
  ) {
    super("a step failed");
  }
}

/**
 * The tools engine: a tool pipeline's steps in one working directory that is removed
 * afterwards, each step after the ones before, except that consecutive parallel steps
 * (VTK's `|p`) run at the same time and the next step waits for all of them. Each step
 * reports task_started, progress, its log and task_completed under its own task id and
 * stage. The first failure ends the job with one task_failed, after the other steps of
 * its group have finished; a step that completes the job early (storage:check's
 * COMPLETE_ON_PRESENCE) reports every later step skipped. A user's ffmpeg runs only in
 * the sandbox.
 */
export async function runTools(order: ToolsOrder, runtime: EngineRuntime): Promise<void> {
  const { reporter, signal } = runtime;
  const env: JobEnv = new Map();
  const fractions = order.steps.map(() => 0);
  // The last word is sent after the working directory is gone, so "done" means clean.
  let last: Parameters<Reporter["send"]>[0] = { type: "job_completed" };
  try {
    await withWorkDir(order.job_id, order.attempt, async (dir) => {
      const place: ToolPlace = { sandbox: runtime.sandbox, dir, limits: order.tool_limits, signal, ffmpeg: runtime.ffmpeg, ffprobe: runtime.ffprobe, cores: runtime.cores };
      const runStep = async (step: ToolStep): Promise<StepEnd> => {
        const index = order.steps.indexOf(step);
        const tool = toolOf(step);
        const log = new TaskLog(reporter, step.task_id);
        void reporter.send({ type: "task_started", stage: tool.stage, task_id: step.task_id });
        const progress = (fraction: number) => {
          if (fraction <= fractions[index]!) return;
          fractions[index] = fraction;
          reporter.progress(tool.stage, step.task_id, fraction * 100, (fractions.reduce((a, b) => a + b, 0) / order.steps.length) * 100);
        };
        try {
          if (signal.aborted) throw new PipelineError("canceled", "The job was canceled");
          const end = await tool.run(step, { order, runtime, place, env, log, progress });
          progress(1);
          log.flush();
          void reporter.send({ type: "task_completed", stage: tool.stage, task_id: step.task_id, output: null, ...(end?.bytes_in !== undefined ? { bytes_in: end.bytes_in } : {}) });
          return end;
        } catch (err) {
          log.flush();
          throw new StepFailure(step, err);
        }
      };

      const all = groups(order.steps);
      for (const [g, group] of all.entries()) {
        const ends = await Promise.allSettled(group.map(runStep));
        const failed = ends.find((e): e is PromiseRejectedResult => e.status === "rejected");
        if (failed) throw failed.reason;
        if (ends.some((e) => e.status === "fulfilled" && e.value?.complete)) {
          for (const step of all.slice(g + 1).flat()) void reporter.send({ type: "task_skipped", task_id: step.task_id });
          return;
        }
      }
    });
  } catch (err) {
    const step = err instanceof StepFailure ? err.step : order.steps[0]!;
    const cause = err instanceof StepFailure ? err.failure : err;
    const tool = toolOf(step);
    const error = signal.aborted ? { code: "canceled" as const, message: "The job was canceled" } : toFailure(cause, tool.fallback);
    last = { type: "task_failed", stage: tool.stage, task_id: step.task_id, error };
  }
  await reporter.send(last);
}
