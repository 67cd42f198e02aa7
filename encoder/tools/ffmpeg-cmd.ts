import { lstat } from "node:fs/promises";
import path from "node:path";
import { toolArgumentsProblem } from "../contract";
import { PipelineError } from "../errors";
import { StderrTail } from "../ffmpeg/lines";
import { ProgressParser } from "../ffmpeg/progress";
import { whitelistInputs } from "../ffmpeg/runner";
import { substitute } from "./env";
import { type ToolPlace, probeInSandbox } from "./sandboxed-probe";
import type { StepContext, StepOf } from "./step";
import { ensureDir } from "./workdir-files";

export interface FfmpegCmdOptions extends ToolPlace {
  /** TEST-ONLY when false: no allowlist and no protocol whitelist, the sandbox alone (see EngineRuntime). */
  checkArguments: boolean;
  /** -xerror: the first decoding error ends the run (VTK's default, ignore_decoding_errors: false). */
  exitOnError?: boolean;
  /** Each stderr line, as read (cut at MAX_STDERR_LINE characters). */
  onLine: (line: string) => void;
  onProgress: (fraction: number) => void;
}

/**
 * The argv of a user's ffmpeg command: the fixed options every run gets (no banner,
 * never stdin, progress on stdout instead of the status line; a user's -stats still
 * wins), then the user's arguments with the file and pipe protocols whitelisted
 * before each input. The whitelist is defence in depth, not a boundary: an argument
 * list can swallow it as another option's value; the sandbox is the boundary.
 */
export function toolFfmpegArgv(args: readonly string[], whitelist: boolean, exitOnError = false): string[] {
  return ["-hide_banner", "-nostdin", "-nostats", "-progress", "pipe:1", ...(exitOnError ? ["-xerror"] : []), ...(whitelist ? whitelistInputs(args) : args)];
}

/** The files ffmpeg's inputs name in the working directory: every `-i` but filter graphs (`-f lavfi`) and patterns (`%03d`). */
export function inputFiles(args: readonly string[]): string[] {
  const files: string[] = [];
  let format: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-f") {
      format = args[++i];
    } else if (args[i] === "-i") {
      const input = args[++i]?.replace(/^file:/, "");
      if (input && format !== "lavfi") files.push(input);
      format = undefined;
    }
  }
  return files.filter((f) => !path.isAbsolute(f) && !/[:%]/.test(f) && !f.split("/").includes(".."));
}

/**
 * Runs a user's ffmpeg command in the sandbox: refused first if the allowlist refuses
 * it (`tool_refused`) or an input is not in the working directory (`file_missing`).
 * Progress is ffmpeg's media time over the duration of its first input, when ffprobe
 * can tell it; otherwise it jumps to the end when the run does. A non-zero exit fails
 * with `encode_failed` and ffmpeg's last lines.
 */
export async function runFfmpegCmd(args: readonly string[], options: FfmpegCmdOptions): Promise<void> {
  const problem = options.checkArguments ? toolArgumentsProblem(args) : null;
  if (problem) throw new PipelineError("tool_refused", `The ffmpeg arguments were refused: ${problem}`);
  const inputs = inputFiles(args);
  for (const input of inputs) {
    if (!(await lstat(path.join(options.dir, input)).catch(() => null))) throw new PipelineError("file_missing", `ffmpeg's input ${input} is not in the working directory`);
  }
  const durationS = inputs[0] === undefined ? 0 : ((await probeInSandbox(inputs[0], options))?.source.durationS ?? 0);

  const stderr = new StderrTail(options.onLine);
  const progress = new ProgressParser(durationS, options.onProgress);
  let code: number;
  try {
    const run = () =>
      options.sandbox.run({
        dir: options.dir,
        command: [options.ffmpeg ?? "ffmpeg", ...toolFfmpegArgv(args, options.checkArguments, options.exitOnError)],
        limits: options.limits,
        signal: options.signal,
        onStdout: (text) => progress.push(text),
        onStderr: (text) => stderr.push(text),
      });
    code = await (options.cores ? options.cores.hold(options.signal, run) : run());
  } finally {
    stderr.end();
  }
  if (code !== 0) throw new PipelineError("encode_failed", `ffmpeg exited with ${code}${stderr.text ? `:\n${stderr.text}` : ""}`);
}

/**
 * ffmpeg:cmd — the user's arguments, `${NAME}` substituted from the job's environment
 * (and checked again after), in the sandbox; `outputdir` made first; -xerror unless
 * decoding errors are to be ignored. Its stderr is the task's log.
 */
export async function runCommand(step: StepOf<"ffmpeg:cmd">, { runtime, place, env, log, progress }: StepContext): Promise<void> {
  const args = step.arguments.map((arg) => substitute(arg, env));
  if (step.outputdir) await ensureDir(place.dir, step.outputdir);
  await runFfmpegCmd(args, {
    ...place,
    checkArguments: runtime.checkToolArguments,
    exitOnError: step.ignore_decoding_errors === false,
    onLine: (line) => log.add(line),
    onProgress: progress,
  });
}
