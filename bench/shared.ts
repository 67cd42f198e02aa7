// What the benchmarks share: the 20 s 1080p clip, bare ffmpeg runs with the runner's
// exact argv (and their peak thread count), and medians and tables for printing.
import childProcess, { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { FfmpegCommand } from "../encoder/ffmpeg/command";
import { ffmpegArgv } from "../encoder/ffmpeg/runner";

// Taken at load, before bench/encode.ts wraps spawn to trace the encoder's children.
const spawn = childProcess.spawn;

// ---------------------------------------------------------------------------------------
// The clip: 20 s of 1920x1080 at 30 fps, h264 + AAC, made once per machine.

export function benchClip(): string {
  const dir = path.join(os.tmpdir(), "kiln-bench");
  const file = path.join(dir, "clip-1080p30-20s-v1.mp4");
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.part.${process.pid}.mp4`;
  console.log("generating the 20 s 1080p clip (once)…");
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=20",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=20",
    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p", "-g", "60",
    "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart",
    tmp,
  ], { stdio: "inherit" });
  renameSync(tmp, file);
  return file;
}

// ---------------------------------------------------------------------------------------
// Bare ffmpeg: the runner's exact argv, in a directory holding the input as `input`.

/** Runs the command as the runner would (minus progress handling); resolves with its seconds. */
export async function runBare(command: FfmpegCommand, cwd: string): Promise<number> {
  return (await runArgv(ffmpegArgv(command), cwd)).seconds;
}

/** Runs ffmpeg with exactly `argv`; resolves with its seconds and the most threads it had at once. */
export function runArgv(argv: string[], cwd: string): Promise<{ seconds: number; threads: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    // In a session of its own, as the runner starts the encoder's: with autogroup
    // scheduling a session shares the CPU as one, so a busy machine would otherwise
    // treat the two sides differently.
    const child = spawn("ffmpeg", argv, { cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const threads = peakThreads(child.pid);
    let stderr = "";
    child.stdout.resume();
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr = (stderr + c).slice(-4000)));
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = (performance.now() - start) / 1000;
      if (code === 0) resolve({ seconds, threads: threads.stop() });
      else reject(new Error(`ffmpeg exited with ${code}:\n${stderr}\nargv: ${argv.join(" ")}`));
    });
  });
}

/** Samples a process's thread count every 100 ms; stop() gives the most seen. */
export function peakThreads(pid: number | undefined): { stop(): number } {
  let peak = 0;
  const read = () => {
    try {
      const match = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match) peak = Math.max(peak, Number(match[1]));
    } catch {
      // gone
    }
  };
  const timer = setInterval(read, 100);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Removes what a command wrote (its files, or the top directory of each). */
export function clean(cwd: string, command: FfmpegCommand): void {
  for (const out of command.outputs) {
    const top = out.split("/")[0]!;
    rmSync(path.join(cwd, top), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// Stats and printing

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
export const sec = (s: number) => s.toFixed(2);

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")).join("\n");
}
