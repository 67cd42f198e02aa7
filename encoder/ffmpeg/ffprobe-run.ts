import { type ChildProcess, type ChildProcessByStdio, spawn } from "node:child_process";
import type { Socket } from "node:net";
import os from "node:os";
import type { Readable, Writable } from "node:stream";
import { PipelineError } from "../errors";
import { maxAllocArgs } from "./limits";
import { type ByteSource, feedStdin } from "./stdin-feed";

/**
 * Running ffprobe: on a file in the job's working directory, or on bytes handed to it
 * through its stdin. Both wait for it the same way (finishRun): a cancel, a missing
 * binary and a timeout become pipeline errors, and what it printed is returned.
 */

export type ProbeFailureCode = "input_unreadable" | "input_no_video" | "input_too_large";

/** A probe failure: a contract code and a message safe to show the user. */
export class ProbeError extends PipelineError {
  declare readonly code: ProbeFailureCode;
  constructor(code: ProbeFailureCode, message: string) {
    super(code, message);
    this.name = "ProbeError";
  }
}

/** The streams-and-format description of `url`, which may open only `protocols`. */
export function describeArgv(protocols: string, url: string): string[] {
  return ["-v", "error", ...maxAllocArgs(), "-protocol_whitelist", protocols, "-print_format", "json", "-show_format", "-show_streams", url];
}

export interface FfprobeRunOptions {
  ffprobe?: string;
  signal?: AbortSignal;
  /** Per ffprobe run; an input that takes longer to probe is treated as unreadable. */
  timeoutMs?: number;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  overflow: boolean;
}

/** How much ffprobe may print before its run counts as overflowing. */
const PROBE_OUTPUT_LIMIT = 16 * 1024 * 1024;
/** How long one ffprobe run may take by default. */
const PROBE_TIMEOUT_MS = 60_000;

/** Runs ffprobe on files in `cwd` (no shell). */
export function runProbe(argv: string[], cwd: string, options: FfprobeRunOptions): Promise<RunResult> {
  const child = spawn(options.ffprobe ?? "ffprobe", argv, { cwd, stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
  return finishRun(child, options);
}

type ProbeProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * An ffprobe that describes the file it reads from its stdin: a file still arriving,
 * or one a warm ffprobe is handed. The pipe is the only protocol it may open, so it
 * reads nothing but the bytes it is given, and it needs no working directory of a job.
 * The pipe cannot seek, so only a file that reads front to back (a faststart MP4: its
 * index before its media data) can be described this way. Used once; whoever starts
 * or takes one runs it or discards it.
 */
export class PipeProbe {
  private constructor(private readonly child: ProbeProcess) {}

  static start(ffprobe = "ffprobe"): PipeProbe {
    const child: ProbeProcess = spawn(ffprobe, describeArgv("pipe", "pipe:0"), { cwd: os.tmpdir(), stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    // Reported by run(); a failed start must not count as unhandled until then.
    child.on("error", () => {});
    child.stdin.on("error", () => {});
    return new PipeProbe(child);
  }

  get alive(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Ends it if it is still running: unused, or after a run that threw. */
  discard(): void {
    if (this.alive) this.child.kill("SIGKILL");
  }

  /** Whether an idle one keeps the encoder's process alive; it ends when its stdin closes with ours. */
  keepsProcessAlive(ref: boolean): void {
    const { child } = this;
    for (const handle of [child, child.stdin as unknown as Socket, child.stdout as unknown as Socket, child.stderr as unknown as Socket]) {
      if (ref) handle.ref?.();
      else handle.unref?.();
    }
  }

  /** Calls `then` once the process has exited, however. */
  onExit(then: () => void): void {
    this.child.once("exit", then);
    this.child.once("error", then);
  }

  /**
   * Hands the bytes to ffprobe until it has read enough (it stops reading once it has
   * described the streams) and returns what it printed, as a run on the file would. If
   * the source throws first, ffprobe is killed and the error is thrown.
   */
  run(bytes: ByteSource, options: FfprobeRunOptions = {}): Promise<RunResult> {
    this.keepsProcessAlive(true);
    return finishRun(this.child, options, bytes);
  }
}

/**
 * Waits for a started ffprobe, feeding it `bytes` when given, and returns what it
 * printed. It is killed on cancel, on timeout, when it prints too much (an overflow, not
 * an error) and when the bytes fail, whose error is then thrown.
 */
async function finishRun(child: ChildProcess, options: FfprobeRunOptions, bytes?: ByteSource): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  let overflow = false;
  let startError: Error | undefined;
  let killedFor: "timeout" | "canceled" | "feed" | null = null;
  const kill = (why: NonNullable<typeof killedFor>) => {
    killedFor ??= why;
    child.kill("SIGKILL");
  };
  child.stdout!.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
    if (stdout.length > PROBE_OUTPUT_LIMIT) {
      overflow = true;
      child.kill("SIGKILL");
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-PROBE_OUTPUT_LIMIT)));
  const closed = new Promise<number | null>((resolve) => {
    child.once("close", (code: number | null) => resolve(code));
    child.once("error", (err) => {
      startError = err;
      resolve(null);
    });
  });
  const timer = setTimeout(() => kill("timeout"), options.timeoutMs ?? PROBE_TIMEOUT_MS);
  const onAbort = () => kill("canceled");
  options.signal?.addEventListener("abort", onAbort);
  if (options.signal?.aborted) onAbort();
  let feedError: unknown;
  try {
    if (bytes) {
      await feedStdin(child.stdin!, bytes, closed).catch((err: unknown) => {
        feedError = err;
        kill("feed");
      });
    }
    const code = await closed;
    if (killedFor === "canceled") throw new PipelineError("canceled", "The job was canceled");
    if (startError) throw new PipelineError("encode_failed", `ffprobe could not start: ${startError.message}`);
    if (killedFor === "timeout") throw new ProbeError("input_unreadable", "The input could not be read: probing it took too long");
    if (killedFor === "feed") throw feedError;
    return { code: overflow ? null : code, stdout, stderr, overflow };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
