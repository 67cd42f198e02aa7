import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Socket } from "node:net";
import os from "node:os";
import type { Readable, Writable } from "node:stream";
import { PipelineError } from "../errors";
import { PROBE_OUTPUT_LIMIT, PROBE_TIMEOUT_MS, ProbeError, type RunResult, describeArgv } from "./probe";

/**
 * ffprobe processes started before they are needed, each blocked reading its stdin.
 * Debian's ffprobe takes 0.1–0.2 s to start (it loads some 215 shared libraries, bound
 * at load time), twice that beside a download; a warm one describes a faststart MP4 in
 * about 50 ms. The pipe cannot seek, so only a file that reads front to back (its index
 * before its media data) is fed to one: callers check that and start ffprobe cold
 * otherwise. The pipe is the only protocol a warm ffprobe may open, so it reads nothing
 * but the bytes it is handed, and it needs no working directory of a job.
 */
export class WarmProbes {
  private readonly idle = new Set<WarmProcess>();
  private closed = false;
  private handedOut = 0;

  /** `size` processes are kept ready; 0 keeps none, and every probe starts cold. */
  constructor(private readonly options: { size: number; ffprobe?: string }) {}

  get size(): number {
    return this.options.size;
  }

  get ready(): number {
    return this.idle.size;
  }

  /** How many have been handed out since the encoder started. */
  get taken(): number {
    return this.handedOut;
  }

  /**
   * Starts processes until `size` are ready. Their start-up takes CPU, so the encoder
   * calls this when it starts and when a job ends, not while a job is encoding.
   */
  fill(): void {
    while (!this.closed && this.idle.size < this.options.size) {
      const child: WarmProcess = spawn(this.options.ffprobe ?? "ffprobe", describeArgv("pipe", "pipe:0"), {
        cwd: os.tmpdir(),
        stdio: ["pipe", "pipe", "pipe"],
        windowsHide: true,
      });
      this.idle.add(child);
      const forget = () => this.idle.delete(child);
      child.once("exit", forget);
      child.once("error", forget);
      child.stdin.on("error", () => {});
      // Idle, it must not keep the encoder's process alive; it ends when its stdin closes with ours.
      setRef(child, false);
    }
  }

  /** A ready process, or null when there is none (the caller starts ffprobe cold). */
  take(): WarmProbe | null {
    for (const child of this.idle) {
      this.idle.delete(child);
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        this.handedOut++;
        return new WarmProbe(child);
      }
    }
    return null;
  }

  /** Ends the ready processes; none are started afterwards. */
  close(): void {
    this.closed = true;
    for (const child of this.idle) child.kill("SIGKILL");
    this.idle.clear();
  }
}

type WarmProcess = ChildProcessByStdio<Writable, Readable, Readable>;

function setRef(child: WarmProcess, ref: boolean): void {
  for (const handle of [child, child.stdin as unknown as Socket, child.stdout as unknown as Socket, child.stderr as unknown as Socket]) {
    if (ref) handle.ref?.();
    else handle.unref?.();
  }
}

/** A file's bytes front to back; the source ends soon after `stop` is aborted. */
export type ByteSource = (stop: AbortSignal) => AsyncIterable<Uint8Array>;

export interface WarmRunOptions {
  signal?: AbortSignal;
  /** From the first byte handed over; a file that takes longer is treated as unreadable. */
  timeoutMs?: number;
}

/** One warm ffprobe, used once; whoever takes one runs it or discards it. */
export class WarmProbe {
  constructor(private readonly child: WarmProcess) {}

  /** Ends it if it is still running: unused, or after a run that threw. */
  discard(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  /**
   * Hands the bytes to ffprobe until it has read enough (it stops reading once it has
   * described the streams) and returns what it printed, as a cold run would. If the
   * source throws first, ffprobe is killed and the error is thrown.
   */
  async run(bytes: ByteSource, options: WarmRunOptions = {}): Promise<RunResult> {
    const { child } = this;
    setRef(child, true);
    let stdout = "";
    let stderr = "";
    let overflow = false;
    let killedFor: "timeout" | "canceled" | "feed" | null = null;
    const kill = (why: NonNullable<typeof killedFor>) => {
      killedFor ??= why;
      child.kill("SIGKILL");
    };
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
      if (stdout.length > PROBE_OUTPUT_LIMIT) {
        overflow = true;
        child.kill("SIGKILL");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-PROBE_OUTPUT_LIMIT)));
    const closed = new Promise<number | null>((resolve) => child.once("close", (code: number | null) => resolve(code)));
    const timer = setTimeout(() => kill("timeout"), options.timeoutMs ?? PROBE_TIMEOUT_MS);
    const onAbort = () => kill("canceled");
    options.signal?.addEventListener("abort", onAbort);
    if (options.signal?.aborted) onAbort();
    let feedError: unknown;
    try {
      await feed(child.stdin, bytes, closed).catch((err: unknown) => {
        feedError = err;
        kill("feed");
      });
      const code = await closed;
      if (killedFor === "canceled") throw new PipelineError("canceled", "The job was canceled");
      if (killedFor === "timeout") throw new ProbeError("input_unreadable", "The input could not be read: probing it took too long");
      if (killedFor === "feed") throw feedError;
      return { code: overflow ? null : code, stdout, stderr, overflow };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }
}

/**
 * Writes the bytes into ffprobe's stdin until they end or ffprobe stops reading (exits);
 * then the source is told to stop, and whatever it throws from then on does not matter.
 */
async function feed(stdin: Writable, bytes: ByteSource, closed: Promise<unknown>): Promise<void> {
  const stop = new AbortController();
  void closed.then(() => stop.abort());
  try {
    for await (const chunk of bytes(stop.signal)) {
      if (stop.signal.aborted) break;
      if (!stdin.write(chunk)) await Promise.race([new Promise((resolve) => stdin.once("drain", resolve)), closed]);
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    stdin.end();
  }
}
