import { spawn } from "node:child_process";
import { chmod, lchown, lstat, mkdir, mkdtemp, readdir, readlink, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { StringDecoder } from "node:string_decoder";
import { type ToolLimits, toolLimitsSchema } from "../contract";
import { PipelineError } from "../errors";
import { workRoot } from "../pipeline/workdir";
import { SANDBOX_ID, SYSTEM_DIRS, type SystemEntry, bwrapArgv } from "./bwrap";

export interface SandboxOptions {
  /** The bubblewrap binary; default `bwrap` from PATH. */
  bwrap?: string;
}

export interface SandboxRun {
  /** The job's working directory: the only host directory the run sees (as /job), and its working directory. */
  dir: string;
  /** Looked up in PATH inside the sandbox (/usr/bin, /bin). */
  command: string[];
  limits: ToolLimits;
  signal: AbortSignal;
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
}

/** How often the working directory's size is taken while a run goes. */
const DISK_CHECK_MS = 500;
const SELF_TEST_LIMITS = toolLimitsSchema.parse({ wall_seconds: 10 });
/** Enough of stderr to tell bwrap's or prlimit's own complaint (they print before the command starts). */
const HEAD_CHARS = 256;

/** Why a run was stopped by the encoder, not by its own end. */
type Stop = { why: "canceled" } | { why: "limit"; message: string };

interface Exit {
  /** bwrap's exit status: the command's, or 128 + the signal that ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  startError: Error | null;
  stopped: Stop | null;
  stderrHead: string;
}

const canceled = () => new PipelineError("canceled", "The job was canceled");

/**
 * Runs tool commands inside bubblewrap (see bwrap.ts) and watches the limits that
 * rlimits cannot express: wall-clock time, bytes printed, and the size of the working
 * directory. Any of them passed kills the run's process group at once (bwrap; the
 * sandbox dies with it: --die-with-parent, and its pid namespace goes with its first
 * process) and fails it with `resource_limit`, as does death by the CPU or file size
 * rlimit. A command is never run any other way: when bwrap cannot start (missing, user
 * namespaces refused), the run fails with `sandbox_unavailable`. Whether it can start
 * is learned from a self-test (`true` in the same sandbox, on a directory in the work
 * root) before the first run, and again after any run that may have failed before its
 * command started.
 *
 * The environment bwrap itself gets is empty: inside, /proc/1/environ is bwrap's, and
 * the encoder's (its token) must not be there to read. An encoder running as root
 * starts bwrap as uid 65534: the kernel does not count root's processes against
 * RLIMIT_NPROC, and a sandbox that is root outside would own every root-owned file it
 * can see.
 */
export class Sandbox {
  /** null: the self-test passed; a string: why it failed. */
  private tested: Promise<string | null> | null = null;
  private system: Promise<SystemEntry[]> | null = null;

  constructor(private readonly options: SandboxOptions = {}) {}

  /** Null when runs can be sandboxed here, else why not. A pass is remembered; a failure is tested again next time. */
  private async unavailable(): Promise<string | null> {
    this.tested ??= this.selfTest();
    const why = await this.tested;
    if (why !== null) this.tested = null;
    return why;
  }

  /**
   * Runs `command` in the sandbox and resolves with its exit status (0 for success).
   * Throws canceled, resource_limit or sandbox_unavailable.
   */
  async run(run: SandboxRun): Promise<number> {
    if (run.signal.aborted) throw canceled();
    const refuse = (why: string) => new PipelineError("sandbox_unavailable", `The tool could not be sandboxed, so it did not run: ${why}`);
    const before = await this.unavailable();
    if (before !== null) throw refuse(before);
    const exit = await this.execute(run);
    if (exit.stopped?.why === "canceled" || run.signal.aborted) throw canceled();
    if (exit.stopped) throw new PipelineError("resource_limit", exit.stopped.message);
    if (exit.startError || (exit.code === 1 && /^(bwrap|prlimit): /.test(exit.stderrHead))) {
      // It may have failed before the command started: the sandbox decides again.
      this.tested = null;
      const why = await this.unavailable();
      if (why !== null) throw refuse(why);
      if (exit.startError) throw refuse(exit.startError.message);
    }
    const killedBy = exit.signal ?? (exit.code !== null && exit.code > 128 ? signalName(exit.code - 128) : null);
    if (killedBy === "SIGKILL" || killedBy === "SIGXCPU") {
      throw new PipelineError("resource_limit", `The run was killed (${killedBy}): past its CPU time limit of ${run.limits.cpu_seconds} s, or out of memory`);
    }
    if (killedBy === "SIGXFSZ") throw new PipelineError("resource_limit", `The run tried to write a file larger than its limit of ${run.limits.max_file_bytes} bytes`);
    // What it left behind counts too, however quickly it was written.
    const used = await diskUsage(run.dir);
    if (used > run.limits.max_disk_bytes) throw new PipelineError("resource_limit", diskMessage(used, run.limits));
    return exit.code ?? 128;
  }

  private async selfTest(): Promise<string | null> {
    // Where job directories are: what a run binds must be reachable the same way.
    await mkdir(workRoot(), { recursive: true });
    const dir = await mkdtemp(path.join(workRoot(), "sandbox-self-test-"));
    try {
      const exit = await this.execute({ dir, command: ["true"], limits: SELF_TEST_LIMITS, signal: new AbortController().signal });
      if (exit.startError) return `${this.options.bwrap ?? "bwrap"} could not be started (${exit.startError.message})`;
      if (exit.code !== 0) return exit.stderrHead.trim().split("\n")[0] || `bwrap exited with ${exit.code ?? exit.signal}`;
      return null;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async execute(run: SandboxRun): Promise<Exit> {
    this.system ??= systemLayout();
    const argv = bwrapArgv(await this.system, run.dir, run.command, {
      cpuSeconds: run.limits.cpu_seconds,
      maxFileBytes: run.limits.max_file_bytes,
      maxOpenFiles: run.limits.max_open_files,
      maxProcesses: run.limits.max_processes,
    });
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await handOver(run.dir);
    const child = spawn(this.options.bwrap ?? "bwrap", argv, {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
      env: {},
      ...(asRoot ? { uid: SANDBOX_ID, gid: SANDBOX_ID } : {}),
    });
    let stopped: Stop | null = null;
    const stop = (why: Stop) => {
      if (stopped) return;
      stopped = why;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    };
    let printed = 0;
    let stderrHead = "";
    const watch = (stream: NodeJS.ReadableStream, deliver?: (text: string) => void, head = false) => {
      const decoder = new StringDecoder("utf8");
      stream.on("data", (chunk: Buffer) => {
        printed += chunk.length;
        if (printed > run.limits.max_output_bytes) return stop({ why: "limit", message: `The run printed more than its limit of ${run.limits.max_output_bytes} bytes` });
        const text = decoder.write(chunk);
        if (head && stderrHead.length < HEAD_CHARS) stderrHead += text.slice(0, HEAD_CHARS - stderrHead.length);
        deliver?.(text);
      });
    };
    watch(child.stdout, run.onStdout);
    watch(child.stderr, run.onStderr, true);

    const onAbort = () => stop({ why: "canceled" });
    run.signal.addEventListener("abort", onAbort, { once: true });
    const wall = setTimeout(() => stop({ why: "limit", message: `The run took longer than its limit of ${run.limits.wall_seconds} s` }), run.limits.wall_seconds * 1000);
    let measuring = false;
    const disk = setInterval(() => {
      if (measuring) return;
      measuring = true;
      void diskUsage(run.dir)
        .then((used) => used > run.limits.max_disk_bytes && stop({ why: "limit", message: diskMessage(used, run.limits) }))
        .catch(() => undefined)
        .finally(() => (measuring = false));
    }, DISK_CHECK_MS);
    try {
      return await new Promise<Exit>((resolve) => {
        child.once("error", (startError) => resolve({ code: null, signal: null, startError, stopped, stderrHead }));
        child.once("close", (code, signal) => resolve({ code, signal, startError: null, stopped, stderrHead }));
      });
    } finally {
      run.signal.removeEventListener("abort", onAbort);
      clearTimeout(wall);
      clearInterval(disk);
    }
  }
}

function signalName(number: number): NodeJS.Signals | null {
  const entry = Object.entries(os.constants.signals).find(([, n]) => n === number);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

function diskMessage(used: number, limits: ToolLimits): string {
  return `The working directory grew to ${used} bytes, past its limit of ${limits.max_disk_bytes} bytes`;
}

/** Bytes of all files under `dir` (their apparent sizes: a sparse file counts whole). */
async function diskUsage(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const sizes = await Promise.all(
    entries.filter((e) => e.isFile()).map((e) => lstat(path.join(e.parentPath, e.name)).then((s) => s.size, () => 0)),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * The working directory and what is in it belong to the sandbox's uid, which must write
 * there, and bwrap, started as that uid, must reach it to bind it: the directory above
 * (the encoder's work root) gets search permission for others, not read.
 */
async function handOver(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const { mode } = await stat(parent);
  if ((mode & 0o001) === 0) await chmod(parent, (mode & 0o7777) | 0o001);
  await lchown(dir, SANDBOX_ID, SANDBOX_ID);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    await lchown(path.join(entry.parentPath, entry.name), SANDBOX_ID, SANDBOX_ID);
  }
}

/** Which system directories this host has, and which of them are symlinks (merged /usr). */
async function systemLayout(): Promise<SystemEntry[]> {
  const entries: SystemEntry[] = [];
  for (const dir of SYSTEM_DIRS) {
    const info = await lstat(dir).catch(() => null);
    if (info?.isSymbolicLink()) entries.push({ path: dir, kind: "symlink", target: await readlink(dir) });
    else if (info?.isDirectory()) entries.push({ path: dir, kind: "dir" });
  }
  return entries;
}
