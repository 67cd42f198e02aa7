import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { EncodeSpec, EncoderEvent } from "../../encoder/contract";
import { audioOnlyPath, clipPath, stillImagePath } from "./clips";
import { encoderSuite } from "./encoder-suite";
import { ffprobe, videoStream } from "./ffprobe";

const suite = encoderSuite("service", (scratch) => {
  const text = path.join(scratch, "notes.txt");
  writeFileSync(text, "this is not a video\n".repeat(100));
  const empty = path.join(scratch, "empty.mp4");
  writeFileSync(empty, "");
  const random = path.join(scratch, "random.mp4");
  writeFileSync(random, Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + 13) % 251)));
  const truncated = path.join(scratch, "truncated.mp4");
  const whole = readFileSync(clipPath("landscape"));
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.3)));
  // Cut short with their index intact: ffprobe describes the whole, ffmpeg encodes what is there and exits 0.
  const cutShort = (container: string, ...flags: string[]) => {
    const full = path.join(scratch, `whole.${container}`);
    execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", clipPath("landscape"), "-c", "copy", ...flags, full]);
    const bytes = readFileSync(full);
    writeFileSync(path.join(scratch, `cut.${container}`), bytes.subarray(0, Math.floor(bytes.length * 0.3)));
    return path.join(scratch, `cut.${container}`);
  };
  return {
    "landscape.mp4": clipPath("landscape"),
    "notes.txt": text,
    "empty.mp4": empty,
    "random.mp4": random,
    "truncated.mp4": truncated,
    "cut-faststart.mp4": cutShort("mp4", "-movflags", "+faststart"),
    "cut.mkv": cutShort("mkv"),
    "still.png": stillImagePath(),
    "tone.m4a": audioOnlyPath(),
  };
});
const { workDir, eventsOf } = suite;
const terminal = (jobId: string) => suite.sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)));

/** Processes whose working directory is inside the encoder's work root: ffmpeg runs there. */
function processesInWorkDir(): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(workDir)) pids.push(Number(pid));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids;
}

describe("encoder service", () => {
  it("refuses requests without the shared token and malformed orders", async () => {
    expect((await suite.encoder.call("POST", "/work", {}, "wrong")).status).toBe(401);
    expect((await suite.encoder.call("DELETE", "/work/job_x", undefined, "wrong")).status).toBe(401);
    const bad = await suite.encoder.call("POST", "/work", { v: 1, job_id: "job_x" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_work_order");
  });

  it("runs import → probe → encode → export and reports verified output facts", async () => {
    const order = suite.sink.order("job_e2e_video", suite.media.url("landscape.mp4"), [
      { task_id: "task_v", output_id: "out_v", spec: { kind: "video", format: "mp4", codec: "h264", width: 320, quality: "low" } },
    ]);
    const accepted = await suite.encoder.call("POST", "/work", order);
    expect(accepted.status).toBe(202);
    const end = await terminal("job_e2e_video");
    expect(end.type).toBe("job_completed");

    const events = eventsOf("job_e2e_video");
    const milestones = events.filter((e) => e.type !== "progress" && e.type !== "heartbeat").map((e) => `${e.type}:${"stage" in e ? e.stage : ""}`);
    expect(milestones).toEqual([
      "task_started:import",
      "task_completed:import",
      "task_started:probe",
      "metadata:",
      "task_completed:probe",
      "task_started:encode",
      "task_started:export",
      "task_completed:encode",
      "task_completed:export",
      "job_completed:",
    ]);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const progress = events.filter((e) => e.type === "progress" || e.type === "heartbeat").map((e) => (e as { job_progress: number }).job_progress);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(100);

    const metadata = events.find((e) => e.type === "metadata") as Extract<EncoderEvent, { type: "metadata" }>;
    expect(metadata.input_metadata).toMatchObject({ width: 640, height: 360, has_audio: true, codec: "h264" });

    const done = events.find((e) => e.type === "task_completed" && e.stage === "encode") as Extract<EncoderEvent, { type: "task_completed" }>;
    const facts = done.output!;
    expect(facts).toMatchObject({ output_id: "out_v", width: 320, height: 180, codec: "h264" });
    expect(facts.duration_ms).toBeGreaterThan(2900);
    expect(facts.duration_ms).toBeLessThan(3100);
    const uploaded = suite.sink.uploads.get(facts.main)!;
    expect(uploaded.sha256).toBe(facts.sha256);
    expect(uploaded.bytes.length).toBe(facts.size_bytes);
    expect(uploaded.contentType).toBe("video/mp4");
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-out-")), "out.mp4");
    writeFileSync(file, uploaded.bytes);
    const probed = ffprobe(file);
    expect(probed.format.format_name).toContain("mp4");
    expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("fails bad media with a specific code and keeps serving", async () => {
    await suite.encoder.call("POST", "/work", suite.sink.order("job_bad_text", suite.media.url("notes.txt"), [
      { task_id: "t", output_id: "o", spec: { kind: "video", format: "mp4", codec: "h264" } },
    ]));
    const failed = (await terminal("job_bad_text")) as Extract<EncoderEvent, { type: "task_failed" }>;
    expect(failed.type).toBe("task_failed");
    expect(failed.error.code).toBe("input_unreadable");

    await suite.encoder.call("POST", "/work", suite.sink.order("job_bad_404", suite.media.url("missing.mp4"), [
      { task_id: "t", output_id: "o", spec: { kind: "video", format: "mp4", codec: "h264" } },
    ]));
    const missing = (await terminal("job_bad_404")) as Extract<EncoderEvent, { type: "task_failed" }>;
    expect(missing.error.code).toBe("input_unreachable");

    await suite.encoder.call("POST", "/work", suite.sink.order("job_after_bad", suite.media.url("landscape.mp4"), [
      { task_id: "t", output_id: "o_after", spec: { kind: "audio", format: "mp3" } },
    ]));
    expect((await terminal("job_after_bad")).type).toBe("job_completed");
    expect(readdirSync(workDir)).toEqual([]);
  });

  it.each([
    ["a zero-byte file", "empty.mp4", "video", "input_unreadable"],
    ["random bytes", "random.mp4", "video", "input_unreadable"],
    ["a truncated mp4", "truncated.mp4", "video", "input_unreadable"],
    ["a faststart mp4 cut short", "cut-faststart.mp4", "video", "input_unreadable"],
    ["a Matroska file cut short", "cut.mkv", "audio", "input_unreadable"],
    ["a text file", "notes.txt", "animation", "input_unreadable"],
    ["an image given to audio", "still.png", "audio", "input_unreadable"],
    ["an audio file given to video", "tone.m4a", "video", "input_no_video"],
  ] as const)("fails %s with %s… and serves the next order", async (label, file, kind, code) => {
    const spec =
      kind === "video"
        ? { kind, format: "mp4" as const, codec: "h264" as const }
        : kind === "audio"
          ? { kind, format: "mp3" as const }
          : { kind, format: "gif" as const, end: 1 };
    const jobId = `job_bad_${file.replace(/\W/g, "_")}`;
    await suite.encoder.call("POST", "/work", suite.sink.order(jobId, suite.media.url(file), [{ task_id: "t", output_id: "o", spec }]));
    const failed = (await terminal(jobId)) as Extract<EncoderEvent, { type: "task_failed" }>;
    expect(failed.type, label).toBe("task_failed");
    expect(failed.error.code).toBe(code);
    expect(failed.error.message.length).toBeGreaterThan(0);
    const next = `${jobId}_next`;
    await suite.encoder.call("POST", "/work", suite.sink.order(next, suite.media.url("landscape.mp4"), [{ task_id: "t", output_id: `o_${next}`, spec: { kind: "image", format: "jpeg" } }]));
    expect((await terminal(next)).type).toBe("job_completed");
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("finds a cut-short input when an output needs what is missing, not when it needs only what is there", async () => {
    const run = async (jobId: string, spec: EncodeSpec) => {
      await suite.encoder.call("POST", "/work", suite.sink.order(jobId, suite.media.url("cut-faststart.mp4"), [{ task_id: "t", output_id: `o_${jobId}`, spec }]));
      return terminal(jobId);
    };
    // The still at 2.5 s lies past where the data stops (under 1 s of the 3 s clip).
    const late = (await run("job_cut_image", { kind: "image", format: "jpeg", start: 2.5 })) as Extract<EncoderEvent, { type: "task_failed" }>;
    expect(late).toMatchObject({ type: "task_failed", stage: "probe", task_id: null, error: { code: "input_unreadable" } });
    expect(late.error.message).toMatch(/truncated/);

    expect((await run("job_cut_window", { kind: "video", format: "mp4", codec: "h264", end: 0.4 })).type).toBe("job_completed");
    const done = eventsOf("job_cut_window").find((e) => e.type === "task_completed" && e.stage === "encode") as Extract<EncoderEvent, { type: "task_completed" }>;
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-out-")), "window.mp4");
    writeFileSync(file, suite.sink.uploads.get(done.output!.main)!.bytes);
    const probed = ffprobe(file);
    expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 640, height: 360 });
    expect(Number(probed.format.duration)).toBeGreaterThan(0.3);
    expect(Number(probed.format.duration)).toBeLessThan(0.6);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("cancels a running encode: ffmpeg is gone within 2 s and the working dir removed", async () => {
    const order = suite.sink.order("job_cancel", suite.media.url("landscape.mp4"), [
      { task_id: "t", output_id: "o_slow", spec: { kind: "video", format: "mp4", codec: "h265", quality: "very_high" } },
    ]);
    await suite.encoder.call("POST", "/work", order);
    await suite.sink.waitFor((e) => e.job_id === "job_cancel" && e.type === "task_started" && e.stage === "encode");
    await suite.sink.waitFor((e) => e.job_id === "job_cancel" && e.type === "progress" && e.stage === "encode");
    expect(processesInWorkDir().length).toBeGreaterThan(0);
    const started = Date.now();
    const res = await suite.encoder.call("DELETE", "/work/job_cancel");
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(processesInWorkDir()).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]);
    const failed = (await terminal("job_cancel")) as Extract<EncoderEvent, { type: "task_failed" }>;
    expect(failed.error.code).toBe("canceled");
    expect((await suite.encoder.call("DELETE", "/work/job_cancel")).status).toBe(404);
  });

  it("stops when an event is answered with the cancel directive", async () => {
    suite.sink.setDirective((e) => (e.job_id === "job_directive" && e.type === "progress" && e.stage === "encode" ? "cancel" : "continue"));
    await suite.encoder.call("POST", "/work", suite.sink.order("job_directive", suite.media.url("landscape.mp4"), [
      { task_id: "t", output_id: "o_dir", spec: { kind: "video", format: "mp4", codec: "h265", quality: "very_high" } },
    ]));
    const failed = (await terminal("job_directive")) as Extract<EncoderEvent, { type: "task_failed" }>;
    expect(failed.error.code).toBe("canceled");
    suite.sink.setDirective(() => "continue");
    expect(processesInWorkDir()).toEqual([]);
  });

  it("heartbeats while working and answers 429 when every slot is busy", async () => {
    await expect.poll(() => suite.encoder.running.size, { timeout: 10_000 }).toBe(0);
    const slow = (id: string) =>
      suite.sink.order(id, suite.media.url("landscape.mp4"), [{ task_id: "t", output_id: `o_${id}`, spec: { kind: "video", format: "mp4", codec: "h265", quality: "very_high" } }]);
    expect((await suite.encoder.call("POST", "/work", slow("job_slot_1"))).status).toBe(202);
    expect((await suite.encoder.call("POST", "/work", slow("job_slot_2"))).status).toBe(202);
    const full = await suite.encoder.call("POST", "/work", slow("job_slot_3"));
    expect(full.status).toBe(429);
    // A redelivered order for a running attempt is accepted without a second run.
    const again = await suite.encoder.call("POST", "/work", slow("job_slot_1"));
    expect(again.status).toBe(202);
    expect(((await again.json()) as { duplicate?: boolean }).duplicate).toBe(true);
    await suite.sink.waitFor((e) => e.job_id === "job_slot_1" && e.type === "heartbeat");
    const health = (await (await fetch(`${suite.encoder.base}/health`)).json()) as { slots: { busy: number; free: number } };
    expect(health.slots).toMatchObject({ busy: 2, free: 0 });
    await suite.encoder.call("DELETE", "/work/job_slot_1");
    await suite.encoder.call("DELETE", "/work/job_slot_2");
    expect(suite.encoder.running.size).toBe(0);
  });
});
