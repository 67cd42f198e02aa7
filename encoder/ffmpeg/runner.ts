import { spawn } from "node:child_process";
import { PipelineError } from "../errors";
import type { FfmpegCommand } from "./command";
import { ProgressParser } from "./progress";

export interface RunOptions {
  /** The job's working directory: ffmpeg runs inside it and names only files in it. */
  cwd: string;
  signal: AbortSignal;
  onProgress?: (fraction: number) => void;
  ffmpeg?: string;
}

const STDERR_LINES = 20;
const KILL_GRACE_MS = 1_000;

/**
 * Adds what every ffmpeg run gets: no stdin, quiet logs, machine-readable progress on
 * stdout, and before each input a whitelist of the file and pipe protocols, so no
 * argument can make ffmpeg open a network URL or another protocol.
 */
export function ffmpegArgv(command: FfmpegCommand): string[] {
  const args: string[] = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y"];
  for (let i = 0; i < command.args.length; i++) {
    if (command.args[i] === "-i") args.push("-protocol_whitelist", "file,pipe");
    args.push(command.args[i]!);
  }
  return args;
}

/**
 * Runs one ffmpeg command in its own process group. Cancelling sends SIGTERM to the
 * group and SIGKILL after a grace period, so ffmpeg and anything it spawned are gone
 * within KILL_GRACE_MS. Failure carries ffmpeg's last stderr lines.
 */
export function runFfmpeg(command: FfmpegCommand, options: RunOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(new PipelineError("canceled", "The job was canceled"));
    const child = spawn(options.ffmpeg ?? "ffmpeg", ffmpegArgv(command), {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const stderr: string[] = [];
    let stderrTail = "";
    const progress = new ProgressParser(command.durationS, (f) => options.onProgress?.(f));
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => progress.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
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
      if (code === 0) return resolve();
      if (stderrTail.trim()) stderr.push(stderrTail.trim());
      const tail = stderr.slice(-STDERR_LINES).join("\n");
      reject(new PipelineError("encode_failed", `ffmpeg exited with ${code ?? signal}${tail ? `:\n${tail}` : ""}`));
    });
  });
}
