import { execFileSync } from "node:child_process";
import { createReadStream, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { PipelineError } from "../../encoder/errors";
import { describeArgv, runProbe } from "../../encoder/ffmpeg/ffprobe-run";
import { probeStreams } from "../../encoder/ffmpeg/probe";
import { WarmProbes } from "../../encoder/ffmpeg/warm-probes";
import { verifyOutput } from "../../encoder/pipeline/verify";
import { clipPath } from "./clips";

const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-warm-"));
const FASTSTART = path.join(scratch, "faststart.mp4");
/** Its index after its media data: a pipe cannot read it. */
const INDEX_LAST = path.join(scratch, "index-last.mp4");

beforeAll(() => {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", clipPath("landscape"), "-c", "copy", "-movflags", "+faststart", FASTSTART]);
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", clipPath("landscape"), "-c", "copy", INDEX_LAST]);
});

/** This process's ffprobe children. */
function ffprobeChildren(): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === process.pid && stat.includes("(ffprobe)")) pids.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

const fileBytes = (file: string) => (stop: AbortSignal) => createReadStream(file, { signal: stop });

/** The file in small pieces, then nothing more until told to stop: a download that stalls. */
function stallingAfter(file: string, seen: { bytes: number; stopped: boolean }) {
  return async function* (stop: AbortSignal) {
    const bytes = readFileSync(file);
    for (let at = 0; at < bytes.length * 0.6 && !stop.aborted; at += 4096) {
      seen.bytes += Math.min(4096, bytes.length - at);
      yield bytes.subarray(at, at + 4096);
    }
    while (!stop.aborted) await sleep(5);
    seen.stopped = true;
  };
}

let pool: WarmProbes | undefined;
afterEach(() => pool?.close());

function warmPool(size: number): WarmProbes {
  pool = new WarmProbes({ size });
  pool.fill();
  return pool;
}

describe("warm ffprobe processes", () => {
  it("describe a faststart MP4 fed to them as a cold ffprobe of the file does", async () => {
    const probe = warmPool(1).take()!;
    expect(probe).not.toBeNull();
    const run = await probe.run(fileBytes(FASTSTART));
    expect(run).toMatchObject({ code: 0, stderr: "", overflow: false });
    const warm = JSON.parse(run.stdout);
    const cold = JSON.parse(execFileSync("ffprobe", ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", FASTSTART], { encoding: "utf8" }));
    expect(warm.streams).toEqual(cold.streams);
    expect(warm.streams.map((s: { codec_name: string }) => s.codec_name)).toEqual(["h264", "aac"]);
    // A pipe has no size: the size and the bit rate computed from it are all that differ.
    const { filename: _f, size: _s, bit_rate: _b, ...coldFormat } = cold.format;
    const { filename: _w, ...warmFormat } = warm.format;
    expect(warmFormat).toEqual(coldFormat);
  });

  it("answer from the first bytes, before the file has all arrived, and tell the source to stop", async () => {
    const seen = { bytes: 0, stopped: false };
    const run = await warmPool(1).take()!.run(stallingAfter(FASTSTART, seen));
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).format.duration).toMatch(/^3\.0/);
    expect(seen.bytes).toBeLessThan(readFileSync(FASTSTART).length);
    await expect.poll(() => seen.stopped).toBe(true);
  });

  it("read nothing but their pipe: a playlist naming a local file is refused", async () => {
    const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\nfile:${FASTSTART}\n#EXT-X-ENDLIST\n`;
    const run = await warmPool(1).take()!.run(async function* () {
      yield Buffer.from(playlist);
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/not on whitelist|Invalid data/);
    expect(run.stdout).not.toContain("h264");
  });

  it("are killed, and the source's error thrown, when the source fails", async () => {
    const run = warmPool(1).take()!.run(async function* () {
      yield readFileSync(FASTSTART).subarray(0, 4096);
      throw new PipelineError("input_unreachable", "the origin hung up");
    });
    await expect(run).rejects.toMatchObject({ code: "input_unreachable" });
    expect(ffprobeChildren()).toEqual([]);
  });

  it("are killed when the job is canceled or the probe takes too long", async () => {
    const canceled = new AbortController();
    const probes = warmPool(2);
    const first = probes.take()!.run(stallingAfter(FASTSTART, { bytes: 0, stopped: false }), { signal: canceled.signal });
    // Garbage the demuxer keeps asking more of, and none comes: only the timeout ends it.
    const second = probes.take()!.run(async function* (stop) {
      yield Buffer.alloc(1024, 0x47);
      while (!stop.aborted) await sleep(5);
    }, { timeoutMs: 300 });
    canceled.abort();
    await expect(first).rejects.toMatchObject({ code: "canceled" });
    await expect(second).rejects.toMatchObject({ code: "input_unreadable" });
    expect(ffprobeChildren()).toEqual([]);
  });

  it("are handed out until none is ready, never dead, and are refilled to the target", async () => {
    const probes = warmPool(2);
    expect(probes.ready).toBe(2);
    expect(ffprobeChildren()).toHaveLength(2);
    // One dies while idle: it is not handed out.
    process.kill(ffprobeChildren()[0]!, "SIGKILL");
    await expect.poll(() => probes.ready).toBe(1);
    const unused = probes.take();
    expect(unused).not.toBeNull();
    expect(probes.take()).toBeNull();
    expect(probes.taken).toBe(1);
    probes.fill();
    expect(probes.ready).toBe(2);
    probes.close();
    unused!.discard();
    await expect.poll(() => ffprobeChildren()).toEqual([]);
    probes.fill();
    expect(probes.ready).toBe(0);
    expect(probes.take()).toBeNull();
  });

  it("do not outlive a probe that fails before handing them anything", async () => {
    const probe = warmPool(1).take()!;
    await expect(probeStreams("missing.mp4", scratch, { piped: { bytes: fileBytes(FASTSTART), warm: probe } })).rejects.toMatchObject({ code: "input_unreadable" });
    await expect.poll(() => ffprobeChildren()).toEqual([]);
  });

  it("verify an output with its index first, with the facts a cold ffprobe finds; others are read cold", async () => {
    const probes = warmPool(2);
    const signal = new AbortController().signal;
    const command = (main: string) => ({ args: [], outputs: [main], main, durationS: 3 });
    const cold = await verifyOutput(command("faststart.mp4"), scratch, { signal });
    expect(cold).toEqual({ duration_ms: 3000, width: 640, height: 360, codec: "h264" });
    expect(await verifyOutput(command("faststart.mp4"), scratch, { signal, warmProbes: probes })).toEqual(cold);
    expect(probes.taken).toBe(1);
    expect(await verifyOutput(command("index-last.mp4"), scratch, { signal, warmProbes: probes })).toEqual(cold);
    expect(probes.taken).toBe(1);
  });

  it("are not kept when the pool size is 0", async () => {
    const probes = warmPool(0);
    expect(probes.take()).toBeNull();
    // The last test's pool was closed: its processes are on their way out.
    await expect.poll(() => ffprobeChildren()).toEqual([]);
    expect(probes.ready).toBe(0);
  });
});

describe("ffprobe on a file", () => {
  it("fails the same way as a warm one: a missing binary, a read that never ends, a cancel", async () => {
    const argv = describeArgv("file", "file:faststart.mp4");
    await expect(runProbe(argv, scratch, { ffprobe: "/nonexistent/ffprobe" })).rejects.toMatchObject({ code: "encode_failed", message: /could not start/ });
    // A FIFO nobody writes to: opening it blocks until the timeout.
    execFileSync("mkfifo", [path.join(scratch, "never.fifo")]);
    await expect(runProbe(describeArgv("file", "file:never.fifo"), scratch, { timeoutMs: 300 })).rejects.toMatchObject({ code: "input_unreadable" });
    const canceled = new AbortController();
    const run = runProbe(describeArgv("file", "file:never.fifo"), scratch, { signal: canceled.signal });
    canceled.abort();
    await expect(run).rejects.toMatchObject({ code: "canceled" });
    await expect.poll(() => ffprobeChildren()).toEqual([]);
    // And a file it can read.
    const ok = await runProbe(argv, scratch, {});
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).format.duration).toMatch(/^3\.0/);
  });
});

