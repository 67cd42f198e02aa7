import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { EncoderEvent, ToolsOrderInput } from "../../encoder/contract";
import { clipPath } from "./clips";
import { encoderSuite } from "./encoder-suite";
import { parseMpd } from "./packages";

/*
 * shaka:package_dash, Kiln's own DASH packager, through the real encoder app: a storage:get
 * of a small h264+aac clip, the packager in the bwrap sandbox, and a storage:put of the
 * package's files to the sink, which are then read as a player would: the MPD's
 * representations, the files it names, and the media joined from init and segments.
 */

type Step = ToolsOrderInput["steps"][number];
type Package = Extract<Step, { tool: "shaka:package_dash" }>;

const KEY_ID = "0123456789abcdef0123456789abcdef";
const KEY = "fedcba9876543210fedcba9876543210";

const suite = encoderSuite("dash", (scratch) => {
  const silent = path.join(scratch, "silent.mp4");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", silent]);
  return { "source.mp4": clipPath("small"), "silent.mp4": silent };
});

let n = 0;
const id = (name: string) => `task_${name}_${++n}`;
const get = (name = "source.mp4"): Step => ({ tool: "storage:get", task_id: id("get"), files: [{ name, url: suite.media.url(name) }] });
const pkg = (extra: Partial<Package> = {}): Package => ({
  tool: "shaka:package_dash",
  task_id: id("dash"),
  inputs: [
    { input_file: "source.mp4", stream_selector: "video", output: "video" },
    { input_file: "source.mp4", stream_selector: "audio", output: "audio.mp4", bandwidth: 128_000 },
  ],
  output_dir: "dash",
  mpd_output: "stream.mpd",
  ...extra,
});
/** Every file of output_dir (the jobs' names never meet: each job writes its own output names). */
const putAll = (dir: string): Step => ({ tool: "storage:put", task_id: id("put"), files: [], patterns: ["*"], base_dir: dir });

async function run(jobId: string, steps: Step[]) {
  expect((await suite.encoder.call("POST", "/work", suite.sink.toolsOrder(jobId, steps))).status).toBe(202);
  const end = await suite.sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || e.type === "task_failed"), 90_000);
  return { end, events: suite.eventsOf(jobId) };
}
const logOf = (events: EncoderEvent[], taskId: string) => events.flatMap((e) => (e.type === "task_log" && e.task_id === taskId ? e.lines.map((l) => l.text) : []));
const uploaded = (name: string) => {
  const file = suite.sink.uploads.get(name);
  if (!file) throw new Error(`${name} was not stored; stored: ${[...suite.sink.uploads.keys()].join(", ")}`);
  return file.bytes;
};
const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1] ?? null;
const representationTags = (mpd: string) => [...mpd.matchAll(/<Representation\b[^>]*>/g)].map((m) => m[0]);

/** A representation's init and media segments joined into one fragmented MP4 on disk. */
function joined(files: string[]): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-dash-joined-")), "joined.mp4");
  writeFileSync(file, Buffer.concat(files.map(uploaded)));
  return file;
}

/** Decodes one stream of a file: frame count, errors, and the frames' MD5s in order. */
function decode(file: string, stream: "v" | "a", key?: string) {
  const run = spawnSync("ffmpeg", ["-v", "error", ...(key ? ["-decryption_key", key] : []), "-i", file, "-map", `0:${stream}:0`, "-f", "framemd5", "-"], { encoding: "utf8" });
  const lines = run.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  return { frames: lines.length, errors: run.stderr + (run.status === 0 ? "" : `exit ${run.status}`), md5: lines.map((l) => l.split(",").pop()!.trim()).join() };
}

/**
 * The source's AAC frames, decoded from the package: the source's edit list hides the
 * encoder's priming frame, which the fragments carry as their first frame.
 */
function expectSameAudio(packaged: string): void {
  const source = decode(clipPath("small"), "a").md5.split(",");
  const frames = packaged.split(",");
  expect(frames.length).toBe(source.length + 1);
  expect(frames.slice(1)).toEqual(source);
}

function ffprobeDuration(file: string): number {
  return Number(JSON.parse(execFileSync("ffprobe", ["-v", "error", "-print_format", "json", "-show_format", file], { encoding: "utf8" })).format.duration);
}

describe("shaka:package_dash", { timeout: 120_000 }, () => {
  it("packages video and audio by stream copy: the MPD names every file it wrote, with codecs and bandwidth, and the media lasts as long as the input", async () => {
    const step = pkg();
    const { end, events } = await run("job_dash_clear", [get(), step, putAll("dash")]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");

    const mpdText = uploaded("stream.mpd").toString("utf8");
    const mpd = parseMpd(mpdText);
    expect(mpd.type).toBe("static");
    expect(mpd.durationS).toBeCloseTo(2, 0);
    const video = mpd.representations.find((r) => r.contentType === "video")!;
    const audio = mpd.representations.find((r) => r.contentType === "audio")!;
    expect(mpd.representations).toHaveLength(2);
    expect(video).toMatchObject({ mimeType: "video/mp4", width: 320, height: 180 });
    expect(video.codecs).toMatch(/^avc1\./);
    expect(audio).toMatchObject({ mimeType: "audio/mp4", codecs: "mp4a.40.2" });
    // Each stream's files are named by its output (a media extension dropped), and all are there.
    expect(video.files[0]).toBe("video_init.mp4");
    expect(video.files.slice(1).every((f) => /^video_\d+\.m4s$/.test(f))).toBe(true);
    expect(audio.files[0]).toBe("audio_init.mp4");
    for (const file of [...video.files, ...audio.files]) expect(uploaded(file).length).toBeGreaterThan(0);
    // One adaptation set per kind; the audio's bandwidth is the one given, the video's what the stream declares.
    expect(mpdText.match(/<AdaptationSet\b/g)).toHaveLength(2);
    const [videoTag, audioTag] = representationTags(mpdText);
    expect(attr(audioTag!, "bandwidth")).toBe("128000");
    const sourceRate = Number(JSON.parse(execFileSync("ffprobe", ["-v", "error", "-print_format", "json", "-show_streams", "-select_streams", "v:0", clipPath("small")], { encoding: "utf8" })).streams[0].bit_rate);
    expect(Number(attr(videoTag!, "bandwidth"))).toBeGreaterThan(sourceRate * 0.8);
    expect(Number(attr(videoTag!, "bandwidth"))).toBeLessThan(sourceRate * 1.25);

    // Stream copy: the joined video decodes to the very frames of the source, 2 s of them.
    const joinedVideo = joined(video.files);
    expect(ffprobeDuration(joinedVideo)).toBeCloseTo(2, 1);
    const fromPackage = decode(joinedVideo, "v");
    expect(fromPackage.errors).toBe("");
    expect(fromPackage.frames).toBe(50);
    expect(fromPackage.md5).toBe(decode(clipPath("small"), "v").md5);
    const joinedAudio = joined(audio.files);
    expect(ffprobeDuration(joinedAudio)).toBeCloseTo(2, 1);
    expectSameAudio(decode(joinedAudio, "a").md5);

    // ffmpeg's own lines are the task's log, then the packager's summary.
    const log = logOf(events, step.task_id);
    expect(log.some((l) => /Output #0, dash, to '\.task_dash_\d+\.dash\/manifest\.mpd'/.test(l))).toBe(true);
    expect(log).toContain("dash/video_init.mp4 and 1 segments: video h264");
    expect(log).toContain("dash/stream.mpd: 2 representations");
    // output_dir holds the package and nothing else: the MPD and exactly the files it names.
    const put = events.find((e): e is Extract<EncoderEvent, { type: "outputs_discovered" }> => e.type === "outputs_discovered")!;
    expect(put.outputs.map((o) => o.file).sort()).toEqual(["stream.mpd", ...video.files, ...audio.files].sort());
  });

  it("with a ClearKey key: the MPD signals cenc with the key id, the segments cannot be decoded without the key and decode to the source's frames with it", async () => {
    const step = pkg({
      inputs: [
        { input_file: "source.mp4", stream_selector: 0, output: "ck_video" },
        { input_file: "source.mp4", stream_selector: "audio", output: "ck_audio" },
      ],
      output_dir: "enc",
      mpd_output: "ck.mpd",
      protection: { scheme: "cenc", key_id: KEY_ID, key: KEY },
    });
    const { end, events } = await run("job_dash_cenc", [get(), step, putAll("enc")]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");

    const mpdText = uploaded("ck.mpd").toString("utf8");
    expect(mpdText.match(/cenc:default_KID="01234567-89ab-cdef-0123-456789abcdef"/g)).toHaveLength(2);
    expect(mpdText.match(/schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e" value="ClearKey1.0"/g)).toHaveLength(2);
    const mpd = parseMpd(mpdText);
    const video = mpd.representations.find((r) => r.contentType === "video")!;
    const audio = mpd.representations.find((r) => r.contentType === "audio")!;
    const init = uploaded(video.files[0]!);
    expect(init.includes(Buffer.from("encv")) && init.includes(Buffer.from("tenc")) && init.includes(Buffer.from(KEY_ID, "hex"))).toBe(true);

    const source = decode(clipPath("small"), "v");
    const joinedVideo = joined(video.files);
    const withKey = decode(joinedVideo, "v", KEY);
    expect(withKey.errors).toBe("");
    expect(withKey.md5).toBe(source.md5);
    const withoutKey = decode(joinedVideo, "v");
    expect(withoutKey.md5).not.toBe(source.md5);
    expect(withoutKey.errors).not.toBe("");
    const joinedAudio = joined(audio.files);
    expectSameAudio(decode(joinedAudio, "a", KEY).md5);
    expect(decode(joinedAudio, "a").md5.split(",").slice(1).join()).not.toBe(decode(clipPath("small"), "a").md5);

    const log = logOf(events, step.task_id).join("\n");
    expect(log).toContain(`cenc: ClearKey key id ${KEY_ID}`);
    expect(log).not.toContain(KEY);
  });

  it("generates a key when none is given: its id is logged, the key is not, and both are in the job's environment", async () => {
    const step = pkg({ inputs: [{ input_file: "source.mp4", stream_selector: "video", output: "gen_video" }], output_dir: "gen", mpd_output: "gen.mpd", protection: { scheme: "cenc" } });
    const reveal: Step = { tool: "utils:env", task_id: id("env"), variables: { SEEN_KEY: "${DASH_KEY}", SEEN_KID: "${DASH_KEY_ID}" } };
    const { end, events } = await run("job_dash_generated", [get(), step, reveal, putAll("gen")]);
    expect(end.type, JSON.stringify(end)).toBe("job_completed");

    const envLog = logOf(events, reveal.task_id);
    const key = /^SEEN_KEY=([0-9a-f]{32})$/.exec(envLog.find((l) => l.startsWith("SEEN_KEY="))!)![1]!;
    const kid = /^SEEN_KID=([0-9a-f]{32})$/.exec(envLog.find((l) => l.startsWith("SEEN_KID="))!)![1]!;
    const packagerLog = logOf(events, step.task_id).join("\n");
    expect(packagerLog).toContain(`generated ClearKey key id ${kid}`);
    expect(packagerLog).not.toContain(key);
    const mpdText = uploaded("gen.mpd").toString("utf8");
    expect(mpdText).toContain(`cenc:default_KID="${kid.slice(0, 8)}-${kid.slice(8, 12)}-${kid.slice(12, 16)}-${kid.slice(16, 20)}-${kid.slice(20)}"`);
    const video = parseMpd(mpdText).representations[0]!;
    const joinedVideo = joined(video.files);
    expect(decode(joinedVideo, "v", key).md5).toBe(decode(clipPath("small"), "v").md5);
  });

  it("fails with stream_missing when an input has no stream its selector names", async () => {
    for (const [jobId, selector, message] of [
      ["job_dash_no_audio", "audio", /silent\.mp4 has no audio stream/],
      ["job_dash_no_index", 3, /silent\.mp4 has no stream 3/],
    ] as const) {
      const step = pkg({ inputs: [{ input_file: "silent.mp4", stream_selector: selector, output: "x" }], output_dir: "none" });
      const { end, events } = await run(jobId, [get("silent.mp4"), step, putAll("none")]);
      expect(end).toMatchObject({ type: "task_failed", task_id: step.task_id, error: { code: "stream_missing" } });
      expect((end as Extract<EncoderEvent, { type: "task_failed" }>).error.message).toMatch(message);
      // Nothing ran after the packager.
      expect(events.some((e) => e.type === "task_started" && e.task_id !== step.task_id && (e.task_id ?? "").startsWith("task_put"))).toBe(false);
    }
  });
});
