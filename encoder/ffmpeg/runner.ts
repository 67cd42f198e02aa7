import { spawn } from "node:child_process";
import { PipelineError } from "../errors";
import type { FfmpegCommand } from "./command";
import type { Cores } from "./cores";
import { MAX_RUN_RSS_BYTES, RSS_SAMPLE_MS, maxAllocArgs, residentBytes, runBudgetMs } from "./limits";
import { StderrTail } from "./lines";
import { type ByteSource, feedStdin } from "./stdin-feed";
import { ProgressParser } from "./progress";

export interface RunOptions {
  /** The job's working directory: ffmpeg runs inside it and names only files in it. */
  cwd: string;
  signal: AbortSignal;
  onProgress?: (fraction: number) => void;
  ffmpeg?: string;
  /**
   * An input file still being written: ffmpeg waits up to `waitMs` for its next bytes
   * instead of ending there, then gives up on them (and logs an error, see FfmpegOutcome).
   */
  growingInput?: GrowingInput;
  /** Wall-clock time the run may take; by default runBudgetMs of the media it makes. */
  budgetMs?: number;
  /** Resident memory the run may reach; by default MAX_RUN_RSS_BYTES. */
  maxRssBytes?: number;
  /** The encoder's cores: the run starts once it holds one (its budget counts from then). */
  cores?: Cores;
}

export interface GrowingInput {
  file: string;
  waitMs: number;
  /**
   * The file's bytes as they arrive, for a file ffmpeg cannot follow (it reads to the
   * end, where a followed file never says it has ended): ffmpeg reads them from its
   * stdin, and they end when the file is whole. The source throws when the next bytes
   * take longer than `waitMs`: the run then fails.
   */
  bytes?: ByteSource;
}

const KILL_GRACE_MS = 1_000;

/**
 * Adds what every ffmpeg run gets: no stdin, quiet logs, machine-readable progress on
 * stdout, and before each input a whitelist of the file and pipe protocols, so no
 * argument can make ffmpeg open a network URL or another protocol. A growing input is
 * read with the file protocol's `follow`, or from stdin when its bytes are fed there.
 */
export function ffmpegArgv(command: FfmpegCommand, growing?: GrowingInput): string[] {
  return ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-y", ...maxAllocArgs(), ...whitelistInputs(command.args, growing)];
}

/** `args` with the file and pipe protocols whitelisted before every `-i` (and a growing input followed). */
export function whitelistInputs(args: readonly string[], growing?: GrowingInput): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-i") {
      out.push("-protocol_whitelist", "file,pipe");
      if (growing && args[i + 1] === growing.file) {
        if (growing.bytes) {
          out.push("-i", "pipe:0");
          i++;
          continue;
        }
        out.push(...followArgs(growing.waitMs));
      }
    }
    out.push(args[i]!);
  }
  return out;
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
  /** The first line ffmpeg logged about input it could not demux or decode (see isInputDamage), if any. */
  inputDamage: string | null;
}

/**
 * What ffmpeg logs, at the error level, when the input's own data is bad: a damaged
 * bitstream it concealed, a container it read past the end of, timestamps or time
 * scales it had to make up. ffmpeg often goes on and exits 0 with an output made of
 * guesses; the job treats these as a damaged input instead (input_unreadable).
 */
const INPUT_DAMAGE = [
  /error while decoding/i,
  /Invalid NAL unit/i,
  /decode_slice_header error/,
  /concealing \d+ (DC|AC|MV) errors/,
  /Invalid data found when processing input/,
  /partial file/,
  /Packet corrupt/,
  /Invalid (mvhd|mdhd) time scale/,
  /non monotonically increasing dts/,
  /Application provided (duration|invalid)/,
];

/** Whether a line ffmpeg logged says its input is damaged (see INPUT_DAMAGE). */
export function isInputDamage(line: string): boolean {
  return INPUT_DAMAGE.some((re) => re.test(line));
}
/**
 * Runs one ffmpeg command in its own process group, once it holds one of `cores` when
 * given. Cancelling sends SIGTERM to the group and SIGKILL after a grace period, so
 * ffmpeg and anything it spawned are gone within KILL_GRACE_MS. Failure carries
 * ffmpeg's last stderr lines.
 */
export function runFfmpeg(command: FfmpegCommand, options: RunOptions): Promise<FfmpegOutcome> {
  return options.cores ? options.cores.hold(options.signal, () => spawnRun(command, options)) : spawnRun(command, options);
}

function spawnRun(command: FfmpegCommand, options: RunOptions): Promise<FfmpegOutcome> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(new PipelineError("canceled", "The job was canceled"));
    const fed = options.growingInput?.bytes;
    const child = spawn(options.ffmpeg ?? "ffmpeg", ffmpegArgv(command, options.growingInput), {
      cwd: options.cwd,
      stdio: [fed ? "pipe" : "ignore", "pipe", "pipe"],
      detached: true,
    });
    let inputDamage: string | null = null;
    const stderr = new StderrTail((line) => {
      if (inputDamage === null && isInputDamage(line)) inputDamage = line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, "").slice(0, 200);
    });
    const progress = new ProgressParser(command.durationS, (f) => options.onProgress?.(f));
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => progress.push(chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));

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

    // The bounds hold whatever the input declared: past either, the group is killed.
    let overLimit: string | null = null;
    const stopFor = (why: string) => {
      overLimit ??= why;
      killGroup("SIGKILL");
    };
    const budgetMs = options.budgetMs ?? runBudgetMs(command.durationS);
    const maxRss = options.maxRssBytes ?? MAX_RUN_RSS_BYTES;
    const wallTimer = setTimeout(() => stopFor(`it ran past its budget of ${Math.round(budgetMs / 1000)} s`), budgetMs);
    const rssTimer = setInterval(() => {
      const rss = child.pid === undefined ? 0 : residentBytes(child.pid);
      if (rss > maxRss) stopFor(`it used ${Math.round(rss / 1024 ** 2)} MB of memory, past its limit of ${Math.round(maxRss / 1024 ** 2)} MB`);
    }, RSS_SAMPLE_MS);
    const clearLimits = () => {
      clearTimeout(wallTimer);
      clearInterval(rssTimer);
    };

    let feedError: unknown = null;
    if (fed) {
      // ffmpeg may stop reading early (an output of part of the input): not an error.
      child.stdin!.on("error", () => {});
      const closed = new Promise<void>((resolve) => {
        child.once("close", () => resolve());
        child.once("error", () => resolve());
      });
      feedStdin(child.stdin!, fed, closed).catch((err: unknown) => {
        feedError = err;
        killGroup("SIGKILL");
      });
    }

    child.on("error", (err) => {
      clearLimits();
      options.signal.removeEventListener("abort", onAbort);
      reject(new PipelineError("encode_failed", `ffmpeg could not start: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearLimits();
      options.signal.removeEventListener("abort", onAbort);
      clearTimeout(killTimer);
      // Anything left in the group (a filter's helper process) goes with ffmpeg.
      killGroup("SIGKILL");
      if (options.signal.aborted) return reject(new PipelineError("canceled", "The job was canceled"));
      stderr.end();
      if (overLimit) return reject(new PipelineError("resource_limit", `ffmpeg was stopped: ${overLimit}`));
      if (feedError) return reject(feedError instanceof PipelineError ? feedError : new PipelineError("encode_failed", "The input could not be fed to ffmpeg"));
      if (code === 0) return resolve({ reachedS: progress.reachedS, loggedErrors: stderr.wrote, inputDamage });
      const tail = stderr.text;
      // A run that failed on damaged input is the input's failure, not the encoder's.
      reject(new PipelineError(inputDamage ? "input_unreadable" : "encode_failed", `ffmpeg exited with ${code ?? signal}${tail ? `:\n${tail}` : ""}`));
    });
  });
}
