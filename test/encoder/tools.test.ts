import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { EncoderEvent, ToolsOrderInput } from "../../encoder/contract";
import { audioStream, ffprobe, videoStream } from "./ffprobe";
import { encoderSuite } from "./encoder-suite";
import { startEncoder } from "./harness";

/** The tools engine through the real encoder app: real bwrap, real ffmpeg, tiny lavfi clips. */

type Steps = ToolsOrderInput["steps"];
type Limits = ToolsOrderInput["tool_limits"];
type Failed = Extract<EncoderEvent, { type: "task_failed" }>;
type Log = Extract<EncoderEvent, { type: "task_log" }>;

const suite = encoderSuite("tools", (scratch) => {
  // A real QuickTime file with H.264 and AAC, as a camera or editor hands it over.
  const source = path.join(scratch, "source.mov");
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", source,
  ]);
  writeFileSync(path.join(scratch, "notes.txt"), "not media, stored all the same\n");
  return { "source.mov": source, "notes.txt": path.join(scratch, "notes.txt") };
});
const { workDir, scratch, eventsOf } = suite;
const terminal = (jobId: string) => suite.sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || e.type === "task_failed"));
const get = (name = "source.mov"): Steps[number] => ({ tool: "storage:get", task_id: "task_get", files: [{ name, url: suite.media.url(name) }] });
const cmd = (...args: string[]): Steps[number] => ({ tool: "ffmpeg:cmd", task_id: "task_cmd", arguments: args });
const put = (name: string, outputId = `out_${name.replace(/\W/g, "_")}`): Steps[number] => ({ tool: "storage:put", task_id: "task_put", files: [{ name, output_id: outputId }] });

async function run(jobId: string, steps: Steps, limits: Limits = {}, on = suite.encoder) {
  const accepted = await on.call("POST", "/work", suite.sink.toolsOrder(jobId, steps, limits));
  expect(accepted.status).toBe(202);
  const end = await terminal(jobId);
  return { end, events: eventsOf(jobId) };
}

/** The events that mark a step's life, task_log runs collapsed to one entry. */
function milestones(events: EncoderEvent[]): string[] {
  const marks = events
    .filter((e) => e.type !== "progress" && e.type !== "heartbeat")
    .map((e) => [e.type, "stage" in e ? e.stage : "", "task_id" in e ? e.task_id : ""].filter(Boolean).join(":"));
  return marks.filter((m, i) => !(m.startsWith("task_log") && marks[i - 1] === m));
}

/** Processes anywhere on the machine whose command line carries `marker`: a sandboxed ffmpeg lives in its own namespaces. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker)) pids.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

describe("tools engine", { timeout: 60_000 }, () => {
  it("runs the VTK example: storage:get → ffmpeg:cmd in the sandbox → storage:put, with timestamped logs and verified facts", async () => {
    const started = Date.now();
    const { end, events } = await run("job_tools_vtk", [
      get(),
      cmd("-y", "-i", "source.mov", "-c:v", "libx264", "-b:v", "1500k", "-c:a", "aac", "-b:a", "128k", "source_720p.mp4"),
      put("source_720p.mp4", "out_720p"),
    ]);
    expect(end.type).toBe("job_completed");
    expect(milestones(events)).toEqual([
      "task_started:import:task_get",
      "task_log:task_get",
      "task_completed:import:task_get",
      "task_started:encode:task_cmd",
      "task_log:task_cmd",
      "task_completed:encode:task_cmd",
      "task_started:export:task_put",
      "output_completed:task_put",
      "task_log:task_put",
      "task_completed:export:task_put",
      "job_completed",
    ]);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));

    const logs = events.filter((e): e is Log => e.type === "task_log" && e.task_id === "task_cmd").flatMap((e) => e.lines);
    expect(logs.map((l) => l.text).join("\n")).toMatch(/Stream mapping|libx264/);
    for (const line of logs) {
      expect(Date.parse(line.at)).toBeGreaterThanOrEqual(started - 1000);
      expect(Date.parse(line.at)).toBeLessThanOrEqual(Date.now());
      expect(line.text.length).toBeLessThanOrEqual(2048);
    }

    const encodeProgress = events.filter((e) => e.type === "progress" && e.task_id === "task_cmd");
    expect(encodeProgress.length).toBeGreaterThan(0);
    const jobProgress = events.filter((e) => e.type === "progress").map((e) => (e as { job_progress: number }).job_progress);
    expect(jobProgress).toEqual([...jobProgress].sort((a, b) => a - b));
    expect(jobProgress.at(-1)).toBe(100);

    const { output } = events.find((e) => e.type === "output_completed") as Extract<EncoderEvent, { type: "output_completed" }>;
    expect(output).toMatchObject({ output_id: "out_720p", main: "source_720p.mp4", codec: "h264", width: 320, height: 180 });
    expect(output.duration_ms).toBeGreaterThan(900);
    expect(output.duration_ms).toBeLessThan(1200);
    const uploaded = suite.sink.uploads.get("source_720p.mp4")!;
    expect(uploaded.sha256).toBe(output.sha256);
    expect(uploaded.bytes.length).toBe(output.size_bytes);
    expect(uploaded.contentType).toBe("video/mp4");
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-tools-out-")), "out.mp4");
    writeFileSync(file, uploaded.bytes);
    const probed = ffprobe(file);
    expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    expect(audioStream(probed)?.codec_name).toBe("aac");
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("stores a file that is not media with null media facts", async () => {
    const { end, events } = await run("job_tools_text", [get("notes.txt"), put("notes.txt", "out_notes")]);
    expect(end.type).toBe("job_completed");
    const { output } = events.find((e) => e.type === "output_completed") as Extract<EncoderEvent, { type: "output_completed" }>;
    expect(output).toMatchObject({ output_id: "out_notes", duration_ms: null, width: null, height: null, codec: null, size_bytes: 31 });
    expect(output.sha256).toBe(suite.sink.uploads.get("notes.txt")!.sha256);
  });

  it("fails bad arguments with encode_failed and ffmpeg's stderr, stops there, and serves the next order", async () => {
    const { end, events } = await run("job_tools_badargs", [get(), cmd("-i", "source.mov", "-c:v", "nosuchcodec", "bad.mp4"), put("bad.mp4")]);
    expect(end).toMatchObject({ type: "task_failed", stage: "encode", task_id: "task_cmd", error: { code: "encode_failed" } });
    expect((end as Failed).error.message).toMatch(/ffmpeg exited with \d+:[\s\S]*nosuchcodec/);
    expect(events.filter((e) => e.type === "task_failed")).toHaveLength(1);
    expect(events.some((e) => e.type === "task_started" && e.task_id === "task_put")).toBe(false);
    expect(events.some((e) => e.type === "job_completed")).toBe(false);

    const next = await run("job_tools_after_bad", [get(), cmd("-i", "source.mov", "-vn", "-c:a", "copy", "audio.m4a"), put("audio.m4a")]);
    expect(next.end.type).toBe("job_completed");
    expect(readdirSync(workDir)).toEqual([]);
  });

  it.each([
    ["refused arguments", () => [get(), cmd("-i", "source.mov", "-vf", "movie=\\/etc/passwd", "o.mp4"), put("o.mp4")], "encode", "task_cmd", "tool_refused", /filter "movie"/],
    ["an ffmpeg input not fetched", () => [cmd("-i", "source.mov", "o.mp4"), put("o.mp4")], "encode", "task_cmd", "file_missing", /source.mov is not in the working directory/],
    ["a put of a file never made", () => [get(), put("never_made.mp4")], "export", "task_put", "file_missing", /never_made.mp4 is not in the working directory/],
    ["a put of a directory", () => [get(), cmd("-i", "source.mov", "-c", "copy", "-f", "hls", "-strftime", "1", "-strftime_mkdir", "1", "-hls_segment_filename", "segs/s%s.ts", "index.m3u8"), put("segs")], "export", "task_put", "file_missing", /not a regular file/],
  ] as const)("fails %s with one task_failed naming the step", async (label, steps, stage, taskId, code, message) => {
    // Steps are built when the test runs: the media server's URLs exist by then.
    const { end, events } = await run(`job_tools_fail_${label.replace(/\W/g, "_")}`, steps());
    expect(end).toMatchObject({ type: "task_failed", stage, task_id: taskId, error: { code } });
    expect((end as Failed).error.message).toMatch(message);
    expect(events.filter((e) => e.type === "task_failed")).toHaveLength(1);
    expect(events.some((e) => e.type === "job_completed")).toBe(false);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("fails with sandbox_unavailable when bwrap is missing, and never runs ffmpeg", async () => {
    // If the engine ever ran ffmpeg without the sandbox, this one would leave its mark
    // (not for the version check every encoder makes at start).
    const ran = path.join(scratch, "ffmpeg-ran");
    const fake = path.join(scratch, "ffmpeg-marking");
    writeFileSync(fake, `#!/bin/sh\ncase " $* " in *" -version "*) ;; *) touch '${ran}' ;; esac\nexec ffmpeg "$@"\n`);
    chmodSync(fake, 0o755);
    const unsandboxed = await startEncoder({ bwrap: path.join(scratch, "no-such-bwrap"), ffmpeg: fake, warmProbes: 0 });
    try {
      const { end, events } = await run("job_tools_nobwrap", [get(), cmd("-y", "-i", "source.mov", "-c", "copy", "copy.mp4"), put("copy.mp4")], {}, unsandboxed);
      expect(end).toMatchObject({ type: "task_failed", stage: "encode", task_id: "task_cmd", error: { code: "sandbox_unavailable" } });
      expect((end as Failed).error.message).toMatch(/no-such-bwrap/);
      expect(existsSync(ran)).toBe(false);
      expect(events.some((e) => e.type === "task_log" && e.task_id === "task_cmd")).toBe(false);
      expect(suite.sink.uploads.has("copy.mp4")).toBe(false);
    } finally {
      await unsandboxed.close();
    }
  });

  it.each([
    ["wall-clock time", { wall_seconds: 1 }, ["-re", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:duration=30", "-f", "null", "-"], /longer than its limit of 1 s/],
    ["bytes printed", { max_output_bytes: 4096 }, ["-loglevel", "debug", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:duration=2", "-f", "null", "-"], /printed more than its limit of 4096 bytes/],
    ["file size", { max_file_bytes: 100_000 }, ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=2", "-c:v", "rawvideo", "-f", "rawvideo", "big.raw"], /file larger than its limit of 100000 bytes/],
    ["disk use of the working directory", { max_disk_bytes: 3_000_000 }, [
      "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=1",
      "-map", "0", "-c:v", "rawvideo", "-f", "rawvideo", "a.raw", "-map", "0", "-c:v", "rawvideo", "-f", "rawvideo", "b.raw",
    ], /grew to \d+ bytes, past its limit of 3000000 bytes/],
    ["CPU time", { cpu_seconds: 1, wall_seconds: 60 }, ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=120", "-c:v", "libx264", "-preset", "veryslow", "-f", "null", "-"], /CPU time limit of 1 s/],
  ] as const)("kills a run past its %s with resource_limit", async (label, limits, args, message) => {
    const { end } = await run(`job_tools_limit_${label.replace(/\W/g, "_")}`, [cmd(...args)], limits);
    expect(end).toMatchObject({ type: "task_failed", stage: "encode", task_id: "task_cmd", error: { code: "resource_limit" } });
    expect((end as Failed).error.message).toMatch(message);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("keeps the slot, duplicate and heartbeat behaviour, and a cancel kills the sandboxed ffmpeg at once", async () => {
    const marker = "kiln-cancel-marker-7f3a";
    const order = suite.sink.toolsOrder("job_tools_cancel", [cmd("-re", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:duration=60", "-metadata", `comment=${marker}`, "-f", "null", "-")]);
    expect((await suite.encoder.call("POST", "/work", order)).status).toBe(202);
    const again = await suite.encoder.call("POST", "/work", order);
    expect(((await again.json()) as { duplicate?: boolean }).duplicate).toBe(true);
    await suite.sink.waitFor((e) => e.job_id === "job_tools_cancel" && e.type === "task_log");
    await suite.sink.waitFor((e) => e.job_id === "job_tools_cancel" && e.type === "heartbeat");
    expect(processesWith(marker).length).toBeGreaterThan(0);
    const health = (await (await fetch(`${suite.encoder.base}/health`)).json()) as { slots: { busy: number } };
    expect(health.slots.busy).toBe(1);

    const startedCancel = Date.now();
    expect((await suite.encoder.call("DELETE", "/work/job_tools_cancel")).status).toBe(200);
    expect(Date.now() - startedCancel).toBeLessThan(2_000);
    expect(processesWith(marker)).toEqual([]);
    const end = (await terminal("job_tools_cancel")) as Failed;
    expect(end).toMatchObject({ type: "task_failed", stage: "encode", task_id: "task_cmd", error: { code: "canceled" } });
    expect(readdirSync(workDir)).toEqual([]);
    expect(suite.encoder.running.size).toBe(0);
  });
});
