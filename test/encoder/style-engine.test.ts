import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { EncoderEvent } from "../../encoder/contract";
import { styleJsonSchema } from "../../encoder/style/style-json";
import { audioStream, ffprobe, videoStream } from "./ffprobe";
import { encoderSuite } from "./encoder-suite";

/*
 * The style engine through the real encoder app: a source and a template made by
 * ffmpeg, fetched over HTTP, measured stage by stage and rendered; the events it posts
 * and the MP4 it exports are what the Worker would see.
 */
type Measured = Extract<EncoderEvent, { type: "style_measured" }>;
type Failed = Extract<EncoderEvent, { type: "task_failed" }>;
type Completed = Extract<EncoderEvent, { type: "task_completed" }>;

function makeClip(file: string, video: string, audio: string): string {
  const out = path.join(scratch, file);
  execFileSync("ffmpeg", [
    "-hide_banner", "-loglevel", "error", "-y",
    "-f", "lavfi", "-i", video,
    "-f", "lavfi", "-i", audio,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest", out,
  ]);
  return out;
}

const suite = encoderSuite("style", (scratch) => {
  // A 16:9 source at ordinary levels, and a warm, loud 9:16 template.
  const source = makeClip("source.mp4", "testsrc2=size=320x180:rate=25:duration=4", "sine=frequency=330:sample_rate=48000:duration=4,volume=-20dB");
  const template = makeClip(
    "template.mp4",
    "testsrc2=size=180x320:rate=30:duration=4,colortemperature=temperature=3500,eq=saturation=1.6",
    "sine=frequency=110:sample_rate=48000:duration=4,volume=-3dB",
  );
  const corrupt = path.join(scratch, "corrupt.mp4");
  // An MP4's first bytes and then noise: it sniffs as video and is not.
  writeFileSync(corrupt, Buffer.concat([Buffer.from("0000001c6674797069736f6d0000020069736f6d69736f32", "hex"), Buffer.alloc(4096, 7)]));
  return { "source.mp4": source, "template.mp4": template, "corrupt.mp4": corrupt };
});
const { scratch, eventsOf } = suite;
const terminal = (jobId: string) => suite.sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || e.type === "task_failed"), 120_000);

/** The events that mark the stages' lives. */
const milestones = (events: EncoderEvent[]) =>
  events.filter((e) => !["progress", "heartbeat", "task_log"].includes(e.type)).map((e) => [e.type, "task_id" in e ? e.task_id : ""].filter(Boolean).join(":"));

describe("style engine", { timeout: 180_000 }, () => {
  it("measures a source alone: four stages, its own StyleJSON, no output", async () => {
    const accepted = await suite.encoder.call("POST", "/work", suite.sink.styleOrder("job_style_alone", suite.media.url("source.mp4"), null, null));
    expect(accepted.status).toBe(202);
    expect((await terminal("job_style_alone")).type).toBe("job_completed");
    const events = eventsOf("job_style_alone");
    expect(milestones(events)).toEqual([
      "task_started:task_video_analysis",
      "metadata",
      "task_completed:task_video_analysis",
      "task_started:task_audio_analysis",
      "task_completed:task_audio_analysis",
      "task_started:task_motion_analysis",
      "task_completed:task_motion_analysis",
      "task_started:task_style_extraction",
      "style_measured:task_style_extraction",
      "task_completed:task_style_extraction",
      "job_completed",
    ]);
    const measured = events.find((e): e is Measured => e.type === "style_measured")!;
    const style = styleJsonSchema.parse(measured.style_json);
    expect(style.aspect_ratio).toBe("16:9");
    expect(style.frame_rate).toBe(25);
    expect(style.source_duration_seconds).toBeCloseTo(4, 0);
    expect(measured.source_style_json).toBeUndefined();
    const progress = events.filter((e) => e.type === "progress").map((e) => (e as { job_progress: number }).job_progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("renders the source in the template's style, exports an H.264/AAC MP4 and compares it", async () => {
    const order = suite.sink.styleOrder("job_style_render", suite.media.url("source.mp4"), suite.media.url("template.mp4"), { output_id: "out_styled", config: {} });
    expect((await suite.encoder.call("POST", "/work", order)).status).toBe(202);
    const end = await terminal("job_style_render");
    expect(end.type, JSON.stringify(end)).toBe("job_completed");
    const events = eventsOf("job_style_render");
    const stages = events.filter((e) => e.type === "task_started").map((e) => (e as { task_id: string }).task_id);
    expect(stages).toEqual(order.tasks.map((t) => t.task_id));

    const [extracted, rendered] = events.filter((e): e is Measured => e.type === "style_measured");
    expect(styleJsonSchema.parse(extracted!.style_json).aspect_ratio).toBe("9:16");
    expect(styleJsonSchema.parse(extracted!.source_style_json).aspect_ratio).toBe("16:9");
    expect(rendered!.task_id).toBe("task_rendering");
    expect(rendered!.comparison!.map((c) => c.dimension)).toEqual(expect.arrayContaining(["temperature", "saturation", "integrated_loudness", "aspect_ratio", "frame_rate"]));
    expect(styleJsonSchema.parse(rendered!.output_style_json).aspect_ratio).toBe("9:16");

    const completed = events.find((e): e is Completed => e.type === "task_completed" && e.task_id === "task_rendering")!;
    expect(completed.output).toMatchObject({ output_id: "out_styled", codec: "h264" });
    const upload = suite.sink.uploads.get(completed.output!.main)!;
    expect(upload.sha256).toBe(completed.output!.sha256);
    const file = path.join(scratch, "styled.mp4");
    writeFileSync(file, upload.bytes);
    const probed = ffprobe(file);
    const video = videoStream(probed)!;
    expect(video.codec_name).toBe("h264");
    expect(audioStream(probed)!.codec_name).toBe("aac");
    // The template's 9:16 and 30 fps, exactly.
    expect(video.width! * 16).toBe(video.height! * 9);
    expect(video.r_frame_rate).toBe("30/1");
  });

  it("fails the stage that found a corrupt template with input_unreadable, and keeps serving", async () => {
    const order = suite.sink.styleOrder("job_style_corrupt", suite.media.url("source.mp4"), suite.media.url("corrupt.mp4"), { output_id: "out_never", config: {} });
    expect((await suite.encoder.call("POST", "/work", order)).status).toBe(202);
    const end = (await terminal("job_style_corrupt")) as Failed;
    expect(end.type).toBe("task_failed");
    expect(end.task_id).toBe("task_video_analysis");
    expect(end.error.code).toBe("input_unreadable");
    expect(end.error.message).toMatch(/^The template: /);
    expect((await suite.encoder.call("GET", "/health")).status).toBe(200);
    const next = suite.sink.styleOrder("job_style_after", suite.media.url("source.mp4"), null, null);
    expect((await suite.encoder.call("POST", "/work", next)).status).toBe(202);
    expect((await terminal("job_style_after")).type).toBe("job_completed");
  });
});
