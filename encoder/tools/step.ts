import type { FailureCode, ToolStep, ToolsOrder } from "../contract";
import type { EngineRuntime } from "../engines/runtime";
import type { ToolPlace } from "./sandboxed-probe";
import type { TaskLog } from "./task-log";

/** The stage a step's events name: get and check read, ffmpeg and utils work, put stores. */
export type Stage = "import" | "encode" | "export";
export type StepOf<T extends ToolStep["tool"]> = Extract<ToolStep, { tool: T }>;

/** The job's environment: utils:env and a loudness analysis write it; `${NAME}` in later steps reads it. */
export type JobEnv = Map<string, string>;

export interface StepContext {
  order: ToolsOrder;
  runtime: EngineRuntime;
  place: ToolPlace;
  env: JobEnv;
  /** The step's task log: its lines go to the task as `task_log` events. */
  log: TaskLog;
  /** This step's progress, 0 to 1. */
  progress: (fraction: number) => void;
}

/**
 * What a step's end tells: `complete` ends the job as completed, the steps after it
 * skipped; `bytes_in` is what it fetched into the working directory, reported on its
 * task_completed.
 */
export type StepEnd = void | { complete?: true; bytes_in?: number };

export interface Tool<S extends ToolStep> {
  stage: Stage;
  /** The code of a failure that carries none of its own. */
  fallback: FailureCode;
  run: (step: S, context: StepContext) => Promise<StepEnd>;
}
