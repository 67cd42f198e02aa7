import { spawn } from "node:child_process";
import { PipelineError } from "../errors";
import type { FfmpegCommand } from "./command";
import { ProgressParser } from "./progress";
import { type ByteSource, feedStdin } from "./stdin-feed";

export interface RunOptions {
  /** The job's working directory: ffmpeg runs inside it and names only files in it. */
  cwd: string;
  signal: AbortSignal;
  onProgress?: (fraction: number) => void;
  ffmpeg?: string;
  /**
   * An input file still being written, read as it arrives: ffmpeg waits up to `waitMs`
   * for its next bytes. Then a run reading them from stdin fails, and one following the
   * file skips them and logs an error (see FfmpegOutcome).
   */
  growingInput?: GrowingInput;
}

export interface GrowingInput {
  file: string;
  waitMs: number;
  /** Its bytes as they arrive, waiting up to `waitMs` for each next one. */
  bytes: ByteSource;
}

const STDERR_LINES = 20;
const KILL_GRACE_MS = 1_000;
const STDIN = "pipe:0";

/**
 * Whether ffmpeg reads a growing input from its stdin, fed the bytes as they arrive:
 * when the command reads it once, from its start. Its mov demuxer then takes the
 * samples in file order and frames flow as the bytes arrive; reading the file itself,
 * it would first walk every top-level box to the end, i.e. wait for the last byte. A
 * command that reads from a seek point (`-ss`), or reads the input more than once,
 * follows the file instead.
 */
export function readsFromStdin(command: FfmpegCommand, file: string): boolean {
  const { args } = command;
  const uses = args.flatMap((arg, i) => (arg === "-i" && args[i + 1] === file ? [i] : []));
  if (uses.length !== 1) return false;
  const previousInput = args.lastIndexOf("-i", uses[0]! - 1);
  return !args.slice(previousInput < 0 ? 0 : previousInput + 2, uses[0]).includes("-ss");
}

/**
 * Adds what every ffmpeg run gets: no stdin, quiet logs, machine-readable progress on
 * stdout, and before each input a whitelist of the file and pipe protocols, so no
 * argument can make ffmpeg open a network URL or another protocol. A growing input is
 * read from stdin (see readsFromStdin) or with the file protocol's `follow`.
 */
export function ffmpegArgv(command: FfmpegCommand, growing?: GrowingInput): string[] {
  const args: string[] = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y"];
  const piped = !!growing && readsFromStdin(command, growing.file);
  for (let i = 0; i < command.args.length; i++) {
    const arg = command.args[i]!;
    if (arg === "-i") {
      args.push("-protocol_whitelist", "file,pipe");
      if (growing && command.args[i + 1] === growing.file) {
        if (piped) {
          args.push("-i", STDIN);
          i++;
          continue;
        }
        args.push(...followArgs(growing.waitMs));
      }
    }
    args.push(arg);
  }
  return args;
}

/** Input options that make the file protocol wait up to `waitMs` for more bytes at the end of a file. */
function followArgs(waitMs: number): string[] {
  return ["-follow", "1", "-rw_timeout", String(waitMs * 1000)];
}

export interface FfmpegOutcome {
  /** Seconds of media the output reached: short of the command's durationS when the input ran out early. */
  reachedS: number;
  /**
   * Whether ffmpeg logged an error though it succeeded. It does so, and goes on, when
   * it could not read part of its input (a cut-short file, or a growing one whose next
   * bytes came too late).
   */
  loggedErrors: boolean;
}

/**
 * Runs one ffmpeg command in its own process group. Cancelling sends SIGTERM to the
 * group and SIGKILL after a grace period, so ffmpeg and anything it spawned are gone
 * within KILL_GRACE_MS. Failure carries ffmpeg's last stderr lines.
 */
export function runFfmpeg(command: FfmpegCommand, options: RunOptions): Promise<FfmpegOutcome> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(new PipelineError("canceled", "The job was canceled"));
    const { growingInput } = options;
    const piped = !!growingInput && readsFromStdin(command, growingInput.file);
    const child = spawn(options.ffmpeg ?? "ffmpeg", ffmpegArgv(command, growingInput), {
      cwd: options.cwd,
      stdio: [piped ? "pipe" : "ignore", "pipe", "pipe"],
      detached: true,
    });
    const stderr: string[] = [];
    let stderrTail = "";
    const progress = new ProgressParser(command.durationS, (f) => options.onProgress?.(f));
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => progress.push(chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (stderrTail + chunk).split("\n");
      stderrTail = lines.pop()!;
      stderr.push(...lines.filter((l) => l.trim() !== ""));
      if (stderr.length > STDERR_LINES) stderr.splice(0, stderr.length - STDERR_LINES);
    });

    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    const onAbort = () => {
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS);
    };
    options.signal.addEventListener("abort", onAbort, { once: true });

    // The input's bytes stop coming (later than the wait, or the import failed): ffmpeg
    // would take the end of its stdin for the end of the input, so it is stopped instead.
    let feedError: unknown;
    if (piped) {
      child.stdin!.on("error", () => {});
      const closed = new Promise((resolve) => child.once("close", resolve));
      feedStdin(child.stdin!, growingInput.bytes, closed).catch((err: unknown) => {
        feedError = err;
        killGroup("SIGKILL");
      });
    }

    child.on("error", (err) => {
      options.signal.removeEventListener("abort", onAbort);
      reject(new PipelineError("encode_failed", `ffmpeg could not start: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      options.signal.removeEventListener("abort", onAbort);
      clearTimeout(killTimer);
      // Anything left in the group (a filter's helper process) goes with ffmpeg.
      killGroup("SIGKILL");
      if (options.signal.aborted) return reject(new PipelineError("canceled", "The job was canceled"));
      if (feedError) return reject(feedError);
      if (code === 0) return resolve({ reachedS: progress.reachedS, loggedErrors: stderr.length > 0 || stderrTail.trim() !== "" });
      if (stderrTail.trim()) stderr.push(stderrTail.trim());
      const tail = stderr.slice(-STDERR_LINES).join("\n");
      reject(new PipelineError("encode_failed", `ffmpeg exited with ${code ?? signal}${tail ? `:\n${tail}` : ""}`));
    });
  });
}
