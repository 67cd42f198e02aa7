import { lstat, rm } from "node:fs/promises";
import path from "node:path";
import type { FailureCode, ToolStep, ToolsOrder } from "../contract";
import { PipelineError, toFailure } from "../errors";
import { exportOutputs } from "../pipeline/export";
import { importInput } from "../pipeline/import";
import type { Reporter } from "../pipeline/reporter";
import { factsOf } from "../pipeline/verify";
import { withWorkDir } from "../pipeline/workdir";
import { runFfmpegCmd } from "../tools/ffmpeg-cmd";
import { type ToolPlace, probeInSandbox } from "../tools/sandboxed-probe";
import { TaskLog } from "../tools/task-log";
import type { EngineRuntime } from "./runtime";

type Stage = "import" | "encode" | "export";
type StepOf<T extends ToolStep["tool"]> = Extract<ToolStep, { tool: T }>;

interface StepContext {
  order: ToolsOrder;
  runtime: EngineRuntime;
  place: ToolPlace;
  /** This step's progress, 0 to 1. */
  progress: (fraction: number) => void;
}

interface Tool<S extends ToolStep> {
  /** The stage the step's events name. */
  stage: Stage;
  /** The code of a failure that carries none of its own. */
  fallback: FailureCode;
  run: (step: S, context: StepContext) => Promise<void>;
}

const tools: { [T in ToolStep["tool"]]: Tool<StepOf<T>> } = {
  "storage:get": { stage: "import", fallback: "encode_failed", run: getFiles },
  "ffmpeg:cmd": { stage: "encode", fallback: "encode_failed", run: runCommand },
  "storage:put": { stage: "export", fallback: "export_failed", run: putFiles },
};

/**
 * The tools engine: a tool pipeline's steps in order, in one working directory that is
 * removed afterwards. Each step reports task_started, progress and task_completed under
 * its own task id and stage; the first step that fails reports one task_failed and
 * ends the job there. A user's ffmpeg runs only in the sandbox.
 */
export async function runTools(order: ToolsOrder, runtime: EngineRuntime): Promise<void> {
  const { reporter, signal } = runtime;
  let current: ToolStep = order.steps[0]!;
  // The last word is sent after the working directory is gone, so "done" means clean.
  let last: Parameters<Reporter["send"]>[0];
  try {
    await withWorkDir(order.job_id, order.attempt, async (dir) => {
      const place: ToolPlace = { sandbox: runtime.sandbox, dir, limits: order.tool_limits, signal, ffmpeg: runtime.ffmpeg, ffprobe: runtime.ffprobe };
      for (const [index, step] of order.steps.entries()) {
        current = step;
        if (signal.aborted) throw new PipelineError("canceled", "The job was canceled");
        const tool = tools[step.tool] as Tool<ToolStep>;
        void reporter.send({ type: "task_started", stage: tool.stage, task_id: step.task_id });
        let reached = -1;
        const progress = (fraction: number) => {
          if (fraction <= reached) return;
          reached = fraction;
          reporter.progress(tool.stage, step.task_id, fraction * 100, ((index + fraction) / order.steps.length) * 100);
        };
        await tool.run(step, { order, runtime, place, progress });
        progress(1);
        void reporter.send({ type: "task_completed", stage: tool.stage, task_id: step.task_id, output: null });
      }
    });
    last = { type: "job_completed" };
  } catch (err) {
    const tool = tools[current.tool];
    const error = signal.aborted ? { code: "canceled" as const, message: "The job was canceled" } : toFailure(err, tool.fallback);
    last = { type: "task_failed", stage: tool.stage, task_id: current.task_id, error };
  }
  await reporter.send(last);
}

/** storage:get — each file through the guarded import (the order's limits, no private networks unless allowed). */
async function getFiles(step: StepOf<"storage:get">, { order, runtime, place, progress }: StepContext): Promise<void> {
  for (const [i, file] of step.files.entries()) {
    const dest = path.join(place.dir, file.name);
    // A name fetched again replaces the file; rm never follows a symlink.
    await rm(dest, { force: true });
    await importInput(file.url, dest, {
      maxBytes: order.limits.max_input_bytes,
      connectTimeoutMs: order.limits.connect_timeout_ms,
      readTimeoutMs: order.limits.read_timeout_ms,
      allowPrivateNetworks: runtime.allowPrivateNetworks,
      signal: runtime.signal,
      onProgress: (bytes, total) => {
        if (total) progress((i + bytes / total) / step.files.length);
      },
    });
  }
}

/** ffmpeg:cmd — the user's arguments in the sandbox; its stderr goes to the task's log. */
async function runCommand(step: StepOf<"ffmpeg:cmd">, { runtime, place, progress }: StepContext): Promise<void> {
  const log = new TaskLog(runtime.reporter, step.task_id);
  try {
    await runFfmpegCmd(step.arguments, { ...place, checkArguments: runtime.checkToolArguments, onLine: (line) => log.add(line), onProgress: progress });
  } finally {
    log.flush();
  }
}

/**
 * storage:put — each named file, which must be a regular file in the working directory
 * (a symlink or anything else would let the upload read outside it), uploaded through
 * the export signing route as its output, then described by ffprobe in the sandbox: a
 * file that is not media is stored all the same, with null media facts.
 */
async function putFiles(step: StepOf<"storage:put">, { order, runtime, place, progress }: StepContext): Promise<void> {
  for (const { name } of step.files) {
    const info = await lstat(path.join(place.dir, name)).catch(() => null);
    if (!info) throw new PipelineError("file_missing", `${name} is not in the working directory`);
    if (!info.isFile()) throw new PipelineError("file_missing", `${name} is ${info.isSymbolicLink() ? "a symbolic link" : "not a regular file"}: only files in the working directory can be stored`);
  }
  const stored = await exportOutputs(order, place.dir, step.files.map((f) => ({ outputId: f.output_id, main: f.name, files: [f.name] })), runtime.signal);
  for (const [i, output] of stored.entries()) {
    const probed = await probeInSandbox(output.main, place);
    const facts = probed ? factsOf(probed) : { duration_ms: null, width: null, height: null, codec: null };
    void runtime.reporter.send({ type: "output_completed", task_id: step.task_id, output: { ...output, ...facts } });
    progress((i + 1) / stored.length);
  }
}
