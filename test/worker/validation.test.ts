import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, seedOrg, videoJob } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/**
 * Every validation rule of POST /v1/jobs (and the GET /v1/jobs query): one request the
 * rule lets through (201) and at least one it turns away with an exact status and code.
 */

type Body = Record<string, unknown>;
interface Rejection {
  name: string;
  body: unknown;
  code: string;
  status?: number;
}
interface Acceptance {
  name: string;
  body: Body;
}

const IN = "https://media.example.com/in.mp4";
const long = (n: number, ch = "a") => ch.repeat(n);
const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

const kindJob = (kind: string, options?: Body, extra: Body = {}): Body => ({ input: IN, kind, ...(options ? { options } : {}), ...extra });
const video = (options: Body) => kindJob("video", options);
const audio = (options: Body) => kindJob("audio", options);
const image = (options: Body) => kindJob("image", options);
const animation = (options: Body) => kindJob("animation", options);
const adaptive = (options: Body) => kindJob("adaptive_video", options);

const mp4Output = (extra: Body = {}): Body => ({ type: "mp4", video: [{ codec: "h264" }], ...extra });
const outputsJob = (outputs: unknown[], extra: Body = {}): Body => ({ input: IN, outputs, ...extra });
const oneOutput = (output: Body) => outputsJob([output]);
const variant = (extra: Body = {}): Body => ({ codec: "h264", ...extra });
const hlsLadder = (n: number) => times(n, () => variant());

// Tool locations are resolved at creation: `tool-keys` is a secret of the org (made in beforeAll).
const get = (files: string[] = ["in.mp4"], location = "s3://{tool-keys}@bucket/in/"): Body => ({ tool: "storage:get", parameters: { location, files } });
const put = (files: string[] = ["out.mp4"], location = "s3://{tool-keys}@bucket/out/"): Body => ({ tool: "storage:put", parameters: { location, files } });
const ffmpeg = (args: string[]): Body => ({ tool: "ffmpeg:cmd", parameters: { arguments: args } });
const transcode = ffmpeg(["-i", "in.mp4", "-c:v", "libx264", "out.mp4"]);
const tasksJob = (tasks: unknown[], extra: Body = {}): Body => ({ tasks, ...extra });
const pipeline = (middle: Body = transcode) => tasksJob([get(), middle, put()]);

let key: string;
beforeAll(async () => {
  ({ key } = await seedOrg());
  const secret = await call("/v1/secrets", { key, body: { name: "tool-keys", credentials: S3_TEST_CREDENTIALS, endpoint: env.TEST_ONLY_ALLOWED_S3_ENDPOINT } });
  expect(secret.status, secret.text).toBe(201);
});

async function expectCreated(body: unknown, headers: Record<string, string> = {}) {
  const res = await call("/v1/jobs", { key, body, headers });
  expect(res.status, res.text).toBe(201);
  expect(res.json.id).toMatch(/^job_[a-z0-9]{20}$/);
  return res;
}

function expectError(res: Awaited<ReturnType<typeof call>>, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  expect(Object.keys(res.json)).toEqual(["error"]);
  expect(res.json.error.code).toBe(code);
  expect(res.json.error.message).toEqual(expect.any(String));
  expect(res.json.error.request_id).toMatch(/^req_/);
  expect(res.json.error.request_id).toBe(res.headers.get("x-request-id"));
}

async function expectRejected(body: unknown, code: string, status = 400, headers: Record<string, string> = {}) {
  expectError(await call("/v1/jobs", { key, body, headers }), status, code);
}

const accepts = (cases: Acceptance[]) =>
  it.each(cases)("accepts $name", async ({ body }) => {
    await expectCreated(body);
  });
const rejects = (cases: Rejection[]) =>
  it.each(cases)("rejects $name with $code", async ({ body, code, status }) => {
    await expectRejected(body, code, status ?? 400);
  });

describe("input", () => {
  accepts([
    { name: "an https URL", body: videoJob() },
    { name: "an http URL", body: videoJob({ input: "http://media.example.com/in.mp4" }) },
  ]);
  rejects([
    // Well-formed, but no such upload: the upload lifecycle is in uploads.test.ts.
    { name: "an unknown upload id", body: videoJob({ input: "vid_abc123" }), code: "upload_not_found" },
    // Well-formed, but the org has no origin for the bucket: origin-jobs.test.ts resolves them.
    { name: "an s3:// URL without an origin", body: videoJob({ input: "s3://my-bucket/videos/in.mp4" }), code: "origin_not_found", status: 422 },
    { name: "a gs:// URL without an origin", body: videoJob({ input: "gs://my.bucket/in.mov" }), code: "origin_not_found", status: 422 },
    { name: "a missing input", body: { kind: "video" }, code: "input_required" },
    { name: "an ftp:// URL", body: videoJob({ input: "ftp://media.example.com/in.mp4" }), code: "invalid_input" },
    { name: "a file:// URL", body: videoJob({ input: "file:///etc/passwd" }), code: "invalid_input" },
    { name: "a bare path", body: videoJob({ input: "/tmp/in.mp4" }), code: "invalid_input" },
    { name: "an s3:// URL without a key", body: videoJob({ input: "s3://bucket" }), code: "invalid_input" },
    { name: "an empty upload id", body: videoJob({ input: "vid_" }), code: "invalid_input" },
    { name: "an empty string", body: videoJob({ input: "" }), code: "invalid_input" },
    { name: "a number", body: videoJob({ input: 42 }), code: "invalid_input" },
    { name: "a URL over 4096 characters", body: videoJob({ input: `https://example.com/${long(4100)}` }), code: "invalid_input" },
  ]);
});

describe("kind: video options", () => {
  accepts([
    { name: "no options", body: kindJob("video") },
    { name: "fps 1", body: video({ fps: 1 }) },
    { name: "fps 60", body: video({ fps: 60 }) },
    { name: "bitrate 300000", body: video({ bitrate: 300_000 }) },
    { name: "bitrate 60000000", body: video({ bitrate: 60_000_000 }) },
    { name: "width 2 and height 7680 px", body: video({ width: 2, height: 7680 }) },
    { name: 'width "50%"', body: video({ width: "50%" }) },
    { name: 'height "1%" and width "100%"', body: video({ height: "1%", width: "100%" }) },
    ...["contain", "cover", "fill"].map((fit) => ({ name: `fit ${fit}`, body: video({ fit }) })),
    ...["center", "top", "bottom", "left", "right", "top_left", "top_right", "bottom_left", "bottom_right"].map((position) => ({
      name: `position ${position}`,
      body: video({ position }),
    })),
    { name: "background #000 with fit contain", body: video({ fit: "contain", background: "#000" }) },
    { name: "background #A0b1C2 with fit contain", body: video({ fit: "contain", background: "#A0b1C2" }) },
    { name: "quality very_low", body: video({ quality: "very_low" }) },
    { name: "end after start", body: video({ start: 0, end: 0.5 }) },
    { name: "mp4 + h265", body: video({ format: "mp4", codec: "h265" }) },
    { name: "mp4 + av1", body: video({ format: "mp4", codec: "av1" }) },
    { name: "webm + vp9", body: video({ format: "webm", codec: "vp9" }) },
    { name: "webm + av1", body: video({ format: "webm", codec: "av1" }) },
    { name: "mov + h264", body: video({ format: "mov", codec: "h264" }) },
  ]);
  rejects([
    { name: "fps 0", body: video({ fps: 0 }), code: "validation_error" },
    { name: "fps 61", body: video({ fps: 61 }), code: "validation_error" },
    { name: "bitrate 299999", body: video({ bitrate: 299_999 }), code: "validation_error" },
    { name: "bitrate 60000001", body: video({ bitrate: 60_000_001 }), code: "validation_error" },
    { name: "a fractional bitrate", body: video({ bitrate: 1_000_000.5 }), code: "validation_error" },
    { name: "width 1 px", body: video({ width: 1 }), code: "validation_error" },
    { name: "height 7681 px", body: video({ height: 7681 }), code: "validation_error" },
    { name: 'width "0%"', body: video({ width: "0%" }), code: "validation_error" },
    { name: 'height "101%"', body: video({ height: "101%" }), code: "validation_error" },
    { name: 'width "640" (a string without %)', body: video({ width: "640" }), code: "validation_error" },
    { name: "fit stretch", body: video({ fit: "stretch" }), code: "validation_error" },
    { name: "position middle", body: video({ position: "middle" }), code: "validation_error" },
    { name: "background black", body: video({ fit: "contain", background: "black" }), code: "validation_error" },
    { name: "background #12345", body: video({ fit: "contain", background: "#12345" }), code: "validation_error" },
    { name: "background with fit cover", body: video({ fit: "cover", background: "#000000" }), code: "validation_error" },
    { name: "background with fit fill", body: video({ fit: "fill", background: "#000000" }), code: "validation_error" },
    { name: "end equal to start", body: video({ start: 5, end: 5 }), code: "validation_error" },
    { name: "end before start", body: video({ start: 5, end: 2 }), code: "validation_error" },
    { name: "a negative start", body: video({ start: -1 }), code: "validation_error" },
    { name: "an unknown option", body: video({ crf: 23 }), code: "validation_error" },
    { name: "format mkv", body: video({ format: "mkv" }), code: "invalid_format" },
    { name: "format gif", body: video({ format: "gif" }), code: "invalid_format" },
    { name: "mp4 + vp9", body: video({ format: "mp4", codec: "vp9" }), code: "invalid_codec" },
    { name: "the default mp4 + vp9", body: video({ codec: "vp9" }), code: "invalid_codec" },
    { name: "webm + h264", body: video({ format: "webm", codec: "h264" }), code: "invalid_codec" },
    { name: "mov + av1", body: video({ format: "mov", codec: "av1" }), code: "invalid_codec" },
    { name: "mov + vp9", body: video({ format: "mov", codec: "vp9" }), code: "invalid_codec" },
    { name: "an unknown codec", body: video({ codec: "mpeg2" }), code: "validation_error" },
  ]);
});

describe("kind: audio options", () => {
  accepts([
    ...["mp3", "aac", "ogg", "opus", "wav", "flac"].map((format) => ({ name: `format ${format}`, body: audio({ format }) })),
    { name: "bitrate 32000", body: audio({ bitrate: 32_000 }) },
    { name: "bitrate 320000", body: audio({ bitrate: 320_000 }) },
    { name: "quality very_high", body: audio({ quality: "very_high" }) },
    { name: "end after start", body: audio({ start: 10, end: 20 }) },
  ]);
  rejects([
    { name: "bitrate 31999", body: audio({ bitrate: 31_999 }), code: "validation_error" },
    { name: "bitrate 320001", body: audio({ bitrate: 320_001 }), code: "validation_error" },
    { name: "format mp4", body: audio({ format: "mp4" }), code: "invalid_format" },
    { name: "format m4a", body: audio({ format: "m4a" }), code: "invalid_format" },
    { name: "quality ultra", body: audio({ quality: "ultra" }), code: "validation_error" },
    { name: "a width (a visual option)", body: audio({ width: 640 }), code: "validation_error" },
    { name: "fps (a video option)", body: audio({ fps: 30 }), code: "validation_error" },
    { name: "end equal to start", body: audio({ start: 3, end: 3 }), code: "validation_error" },
  ]);
});

describe("kind: image options", () => {
  accepts([
    ...["jpeg", "png", "webp", "avif"].map((format) => ({ name: `format ${format}`, body: image({ format }) })),
    { name: 'width "50%" and a start', body: image({ width: "50%", start: 3 }) },
    { name: "background with fit contain", body: image({ width: 320, height: 320, fit: "contain", background: "#ffffff" }) },
  ]);
  rejects([
    { name: "an end (an image has none)", body: image({ start: 1, end: 2 }), code: "validation_error" },
    { name: "fps", body: image({ fps: 10 }), code: "validation_error" },
    { name: "format gif", body: image({ format: "gif" }), code: "invalid_format" },
    { name: 'width "0%"', body: image({ width: "0%" }), code: "validation_error" },
    { name: "background with fit cover", body: image({ fit: "cover", background: "#ffffff" }), code: "validation_error" },
  ]);
});

describe("kind: animation options", () => {
  accepts([
    { name: "just an end", body: animation({ end: 2 }) },
    { name: "format gif, fps 1", body: animation({ format: "gif", start: 1, end: 3, fps: 1 }) },
    { name: "format webp, fps 60", body: animation({ format: "webp", end: 3, fps: 60 }) },
    { name: 'width "25%"', body: animation({ end: 3, width: "25%" }) },
  ]);
  rejects([
    { name: "no options (end is required)", body: kindJob("animation"), code: "validation_error" },
    { name: "a start without an end", body: animation({ start: 1 }), code: "validation_error" },
    { name: "fps 0", body: animation({ end: 3, fps: 0 }), code: "validation_error" },
    { name: "fps 61", body: animation({ end: 3, fps: 61 }), code: "validation_error" },
    { name: "end before start", body: animation({ start: 4, end: 3 }), code: "validation_error" },
    { name: "format mp4", body: animation({ end: 3, format: "mp4" }), code: "invalid_format" },
    { name: "a bitrate", body: animation({ end: 3, bitrate: 500_000 }), code: "validation_error" },
  ]);
});

describe("kind: adaptive_video options", () => {
  accepts([
    { name: "no options", body: kindJob("adaptive_video") },
    { name: "format hls with a size", body: adaptive({ format: "hls", width: 1280, height: "50%" }) },
    { name: "end after start", body: adaptive({ start: 0, end: 60 }) },
  ]);
  rejects([
    { name: "format dash", body: adaptive({ format: "dash" }), code: "invalid_format" },
    { name: "format mp4", body: adaptive({ format: "mp4" }), code: "invalid_format" },
    { name: "fps", body: adaptive({ fps: 30 }), code: "validation_error" },
    { name: "a codec", body: adaptive({ codec: "h264" }), code: "validation_error" },
    { name: 'height "101%"', body: adaptive({ height: "101%" }), code: "validation_error" },
  ]);
});

describe("kind and options", () => {
  rejects([
    { name: "an unknown kind", body: kindJob("gif"), code: "validation_error" },
    { name: "options that are not an object", body: kindJob("video", undefined, { options: "fast" }), code: "validation_error" },
    { name: "options without kind", body: outputsJob([mp4Output()], { options: { fps: 30 } }), code: "validation_error" },
  ]);
});

describe("outputs[]", () => {
  accepts([
    { name: "one mp4 output", body: oneOutput(mp4Output()) },
    { name: "10 outputs", body: outputsJob(times(10, () => mp4Output())) },
    { name: "webm + vp9", body: oneOutput({ type: "webm", video: [variant({ codec: "vp9" })] }) },
    { name: "mkv + vp9", body: oneOutput({ type: "mkv", video: [variant({ codec: "vp9" })] }) },
    { name: "mov + h265", body: oneOutput({ type: "mov", video: [variant({ codec: "h265" })] }) },
    { name: "dash + vp9", body: oneOutput({ type: "dash", video: [variant({ codec: "vp9" })] }) },
    { name: "adaptive + av1", body: oneOutput({ type: "adaptive", video: [variant({ codec: "av1" })] }) },
    { name: "an hls ladder of 20 variants", body: oneOutput({ type: "hls", video: hlsLadder(20) }) },
    { name: "8 audio tracks in hls", body: oneOutput({ type: "hls", video: [variant()], audio: times(8, () => ({ codec: "aac" })) }) },
    { name: "variant width 128, height 128", body: oneOutput(mp4Output({ video: [variant({ width: 128, height: 128 })] })) },
    { name: "variant width 7680, height 4320", body: oneOutput(mp4Output({ video: [variant({ width: 7680, height: 4320 })] })) },
    { name: "variant bitrate 100 and framerate 0", body: oneOutput(mp4Output({ video: [variant({ bitrate: 100, framerate: 0 })] })) },
    { name: "variant bitrate 240000 and framerate 240", body: oneOutput(mp4Output({ video: [variant({ bitrate: 240_000, framerate: 240 })] })) },
    { name: "a resolution and quality", body: oneOutput(mp4Output({ video: [variant({ resolution: "2160p", quality: "premium" })] })) },
    { name: "h264 options on h264", body: oneOutput(mp4Output({ video: [variant({ h264: { profile: "high", preset: "slow", crf: 23, tune: "film" } })] })) },
    { name: "h265 options on h265", body: oneOutput(mp4Output({ video: [{ codec: "h265", h265: { profile: "main10", crf: 28 } }] })) },
    { name: "vp9 options on vp9", body: oneOutput({ type: "webm", video: [{ codec: "vp9", vp9: { crf: 63, speed: 8 } }] }) },
    { name: "av1 options on av1", body: oneOutput({ type: "mp4", video: [{ codec: "av1", av1: { crf: 30, preset: 13 } }] }) },
    { name: "mp4 + aac audio", body: oneOutput(mp4Output({ audio: [{ codec: "aac", bitrate: 128, channels: 2, sample_rate: 48000 }] })) },
    { name: "webm + opus audio", body: oneOutput({ type: "webm", video: [variant({ codec: "vp9" })], audio: [{ codec: "opus" }] }) },
    { name: "mov + mp3 audio", body: oneOutput({ type: "mov", video: [variant()], audio: [{ codec: "mp3" }] }) },
    { name: "dash + opus audio", body: oneOutput({ type: "dash", video: [variant()], audio: [{ codec: "opus" }] }) },
    {
      name: "hls options, segments and subtitle tracks on hls",
      body: oneOutput({
        type: "hls",
        video: [variant()],
        hls: { segment_type: "fmp4", playlist_type: "vod", version: 7 },
        segments: { duration: 6 },
        subtitle_tracks: [{ source: "https://media.example.com/en.vtt", format: "vtt", language: "en-US" }],
      }),
    },
    { name: "dash options on dash", body: oneOutput({ type: "dash", video: [variant()], dash: { profile: "on-demand" }, segments: { duration: 4 } }) },
    { name: "hls options on adaptive", body: oneOutput({ type: "adaptive", video: [variant()], hls: { playlist_type: "event", version: 7 } }) },
    { name: "dash options on adaptive", body: oneOutput({ type: "adaptive", video: [variant()], dash: { profile: "on-demand" } }) },
    { name: "TS segments for an hls ladder, at HLS version 3", body: oneOutput({ type: "hls", video: [variant(), variant({ codec: "h265" })], hls: { segment_type: "ts", version: 3 } }) },
    { name: "h265 tune on h265", body: oneOutput(mp4Output({ video: [{ codec: "h265", h265: { tune: "grain", preset: "slow" } }] })) },
    { name: "width and height without a resolution", body: oneOutput(mp4Output({ video: [variant({ width: 1280, height: 720 })] })) },
    { name: "opus at 48 kHz", body: oneOutput({ type: "webm", video: [variant({ codec: "vp9" })], audio: [{ codec: "opus", sample_rate: 48000, bitrate: 96 }] }) },
    { name: "flac without a bitrate, 8 channels", body: oneOutput({ type: "mkv", video: [variant()], audio: [{ codec: "flac", channels: 8, sample_rate: 96000 }] }) },
    { name: "ac3 at 640 kbps, 6 channels", body: oneOutput({ type: "hls", video: [variant()], audio: [{ codec: "ac3", bitrate: 640, channels: 6 }] }) },
    { name: "a 512-character output path template", body: oneOutput(mp4Output({ path_template: `${long(499)}/{job_id}.mp4` })) },
    { name: "a path template", body: oneOutput(mp4Output({ path_template: "{job_id}/{output_id}-{resolution}.{format}" })) },
    { name: "a built-in preset without type or video", body: oneOutput({ preset: "web_720p_standard" }) },
    { name: "a built-in ladder preset", body: oneOutput({ preset: "hls_ladder_standard" }) },
    { name: "a built-in preset with a compatible override", body: oneOutput({ preset: "web_1080p_premium", type: "mov" }) },
    {
      name: "a built-in preset whose type, video and audio are all overridden",
      body: oneOutput({ preset: "web_720p_standard", type: "webm", video: [variant({ codec: "vp9" })], audio: [{ codec: "opus" }] }),
    },
  ]);
  rejects([
    { name: "an empty outputs list", body: outputsJob([]), code: "validation_error" },
    {
      name: "an s3:// subtitle source no origin holds",
      body: oneOutput({ type: "hls", video: [variant()], subtitle_tracks: [{ source: "s3://subs/en.vtt", language: "en" }] }),
      code: "origin_not_found",
      status: 422,
    },
    { name: "11 outputs", body: outputsJob(times(11, () => mp4Output())), code: "validation_error" },
    { name: "type avi", body: oneOutput(mp4Output({ type: "avi" })), code: "invalid_format" },
    { name: "type gif", body: oneOutput(mp4Output({ type: "gif" })), code: "invalid_format" },
    { name: "no video and no preset", body: oneOutput({ type: "mp4" }), code: "validation_error" },
    { name: "no type and no preset", body: oneOutput({ video: [variant()] }), code: "validation_error" },
    { name: "0 video variants", body: oneOutput({ type: "hls", video: [] }), code: "validation_error" },
    { name: "21 video variants", body: oneOutput({ type: "hls", video: hlsLadder(21) }), code: "validation_error" },
    { name: "9 audio tracks", body: oneOutput({ type: "hls", video: [variant()], audio: times(9, () => ({ codec: "aac" })) }), code: "validation_error" },
    { name: "variant width 127", body: oneOutput(mp4Output({ video: [variant({ width: 127 })] })), code: "validation_error" },
    { name: "variant width 7681", body: oneOutput(mp4Output({ video: [variant({ width: 7681 })] })), code: "validation_error" },
    { name: "variant height 127", body: oneOutput(mp4Output({ video: [variant({ height: 127 })] })), code: "validation_error" },
    { name: "variant height 4321", body: oneOutput(mp4Output({ video: [variant({ height: 4321 })] })), code: "validation_error" },
    { name: "variant bitrate 99", body: oneOutput(mp4Output({ video: [variant({ bitrate: 99 })] })), code: "validation_error" },
    { name: "variant bitrate 240001", body: oneOutput(mp4Output({ video: [variant({ bitrate: 240_001 })] })), code: "validation_error" },
    { name: "variant framerate -1", body: oneOutput(mp4Output({ video: [variant({ framerate: -1 })] })), code: "validation_error" },
    { name: "variant framerate 241", body: oneOutput(mp4Output({ video: [variant({ framerate: 241 })] })), code: "validation_error" },
    { name: "variant framerate 29.97", body: oneOutput(mp4Output({ video: [variant({ framerate: 29.97 })] })), code: "validation_error" },
    { name: "variant resolution 360p", body: oneOutput(mp4Output({ video: [variant({ resolution: "360p" })] })), code: "validation_error" },
    { name: "a variant without a codec", body: oneOutput(mp4Output({ video: [{ width: 640 }] })), code: "validation_error" },
    { name: "vp9 options on h264", body: oneOutput(mp4Output({ video: [variant({ vp9: { crf: 30 } })] })), code: "validation_error" },
    { name: "h264 options on h265", body: oneOutput(mp4Output({ video: [{ codec: "h265", h264: { crf: 23 } }] })), code: "validation_error" },
    { name: "h264 crf 52", body: oneOutput(mp4Output({ video: [variant({ h264: { crf: 52 } })] })), code: "validation_error" },
    { name: "an unknown h264 option", body: oneOutput(mp4Output({ video: [variant({ h264: { level: "4.1" } })] })), code: "validation_error" },
    { name: "mp4 + vp9", body: oneOutput({ type: "mp4", video: [variant({ codec: "vp9" })] }), code: "invalid_codec" },
    { name: "webm + h264", body: oneOutput({ type: "webm", video: [variant()] }), code: "invalid_codec" },
    { name: "mov + av1", body: oneOutput({ type: "mov", video: [variant({ codec: "av1" })] }), code: "invalid_codec" },
    { name: "hls + vp9", body: oneOutput({ type: "hls", video: [variant({ codec: "vp9" })] }), code: "invalid_codec" },
    { name: "adaptive + vp9", body: oneOutput({ type: "adaptive", video: [variant({ codec: "vp9" })] }), code: "invalid_codec" },
    { name: "webm + aac audio", body: oneOutput({ type: "webm", video: [variant({ codec: "vp9" })], audio: [{ codec: "aac" }] }), code: "invalid_codec" },
    { name: "webm + audio defaulting to aac", body: oneOutput({ type: "webm", video: [variant({ codec: "vp9" })], audio: [{}] }), code: "invalid_codec" },
    { name: "mov + opus audio", body: oneOutput({ type: "mov", video: [variant()], audio: [{ codec: "opus" }] }), code: "invalid_codec" },
    { name: "hls + opus audio", body: oneOutput({ type: "hls", video: [variant()], audio: [{ codec: "opus" }] }), code: "invalid_codec" },
    { name: "adaptive + flac audio", body: oneOutput({ type: "adaptive", video: [variant()], audio: [{ codec: "flac" }] }), code: "invalid_codec" },
    { name: "audio bitrate 7", body: oneOutput(mp4Output({ audio: [{ codec: "aac", bitrate: 7 }] })), code: "validation_error" },
    { name: "audio sample rate 44000", body: oneOutput(mp4Output({ audio: [{ codec: "aac", sample_rate: 44000 }] })), code: "validation_error" },
    { name: "audio channels 9", body: oneOutput(mp4Output({ audio: [{ codec: "aac", channels: 9 }] })), code: "validation_error" },
    { name: "hls options on mp4", body: oneOutput(mp4Output({ hls: { segment_type: "ts" } })), code: "validation_error" },
    { name: "dash options on webm", body: oneOutput({ type: "webm", video: [variant({ codec: "vp9" })], dash: {} }), code: "validation_error" },
    { name: "segments on mkv", body: oneOutput({ type: "mkv", video: [variant()], segments: { duration: 6 } }), code: "validation_error" },
    {
      name: "subtitle tracks on mov",
      body: oneOutput({ type: "mov", video: [variant()], subtitle_tracks: [{ source: "https://media.example.com/en.vtt", language: "en" }] }),
      code: "validation_error",
    },
    {
      name: "a file:// subtitle source",
      body: oneOutput({ type: "hls", video: [variant()], subtitle_tracks: [{ source: "file:///etc/passwd", language: "en" }] }),
      code: "validation_error",
    },
    {
      name: "an ftp:// subtitle source",
      body: oneOutput({ type: "hls", video: [variant()], subtitle_tracks: [{ source: "ftp://media.example.com/en.vtt", language: "en" }] }),
      code: "validation_error",
    },
    { name: "hls options on dash", body: oneOutput({ type: "dash", video: [variant()], hls: { version: 7 } }), code: "validation_error" },
    { name: "dash options on hls", body: oneOutput({ type: "hls", video: [variant()], dash: { profile: "live" } }), code: "validation_error" },
    { name: "segment duration 31", body: oneOutput({ type: "hls", video: [variant()], segments: { duration: 31 } }), code: "validation_error" },
    { name: "two variants in an mp4", body: oneOutput({ type: "mp4", video: hlsLadder(2) }), code: "validation_error" },
    { name: "two audio tracks in an mp4", body: oneOutput(mp4Output({ audio: [{ codec: "aac" }, { codec: "aac" }] })), code: "validation_error" },
    { name: "a path template with an unknown variable", body: oneOutput(mp4Output({ path_template: "{job_id}/{name}.mp4" })), code: "validation_error" },
    { name: "an unknown preset slug", body: oneOutput({ preset: "web_9000p" }), code: "preset_not_found", status: 422 },
    { name: "an org preset id that does not exist", body: oneOutput({ preset: "pst_abc123" }), code: "preset_not_found", status: 422 },
    { name: 'the preset "constructor" (not an own key)', body: oneOutput({ preset: "constructor" }), code: "preset_not_found", status: 422 },
    { name: 'the preset "__proto__"', body: oneOutput({ preset: "__proto__" }), code: "preset_not_found", status: 422 },
    { name: "a preset overridden into webm around its h264", body: oneOutput({ preset: "web_720p_standard", type: "webm" }), code: "invalid_codec" },
    { name: "a ladder preset overridden into an mp4", body: oneOutput({ preset: "hls_ladder_standard", type: "mp4" }), code: "validation_error" },
    { name: "a malformed preset name", body: oneOutput({ preset: "Web 720p!" }), code: "validation_error" },
    { name: "an unknown output field", body: oneOutput(mp4Output({ container: "mp4" })), code: "validation_error" },
    { name: "a resolution and a width", body: oneOutput(mp4Output({ video: [variant({ resolution: "720p", width: 1280 })] })), code: "validation_error" },
    { name: "a resolution and a height", body: oneOutput(mp4Output({ video: [variant({ resolution: "720p", height: 720 })] })), code: "validation_error" },
    { name: "an x264 tune on h265", body: oneOutput(mp4Output({ video: [{ codec: "h265", h265: { tune: "film" } }] })), code: "validation_error" },
    { name: "TS segments in an adaptive package", body: oneOutput({ type: "adaptive", video: [variant()], hls: { segment_type: "ts" } }), code: "validation_error" },
    { name: "av1 in TS segments", body: oneOutput({ type: "hls", video: [variant({ codec: "av1" })], hls: { segment_type: "ts" } }), code: "invalid_codec" },
    { name: "HLS version 6 with fMP4 segments", body: oneOutput({ type: "hls", video: [variant()], hls: { version: 6 } }), code: "validation_error" },
    { name: "HLS version 6 for an adaptive package", body: oneOutput({ type: "adaptive", video: [variant()], hls: { version: 6 } }), code: "validation_error" },
    { name: "opus at 44.1 kHz", body: oneOutput({ type: "webm", video: [variant({ codec: "vp9" })], audio: [{ codec: "opus", sample_rate: 44100 }] }), code: "validation_error" },
    { name: "mp3 at 96 kHz", body: oneOutput({ type: "mov", video: [variant()], audio: [{ codec: "mp3", sample_rate: 96000 }] }), code: "validation_error" },
    { name: "mp3 with 6 channels", body: oneOutput({ type: "mov", video: [variant()], audio: [{ codec: "mp3", channels: 6 }] }), code: "validation_error" },
    { name: "ac3 with 8 channels", body: oneOutput({ type: "hls", video: [variant()], audio: [{ codec: "ac3", channels: 8 }] }), code: "validation_error" },
    { name: "aac at 16 kbps", body: oneOutput(mp4Output({ audio: [{ codec: "aac", bitrate: 16 }] })), code: "validation_error" },
    { name: "mp3 at 384 kbps", body: oneOutput({ type: "mov", video: [variant()], audio: [{ codec: "mp3", bitrate: 384 }] }), code: "validation_error" },
    { name: "flac with a bitrate", body: oneOutput({ type: "mkv", video: [variant()], audio: [{ codec: "flac", bitrate: 900 }] }), code: "validation_error" },
    { name: "a 513-character output path template", body: oneOutput(mp4Output({ path_template: `${long(500)}/{job_id}.mp4` })), code: "validation_error" },
    {
      name: "a 2049-character subtitle source",
      body: oneOutput({ type: "hls", video: [variant()], subtitle_tracks: [{ source: `https://media.example.com/${long(2049 - 30)}.vtt`, language: "en" }] }),
      code: "validation_error",
    },
  ]);
});

describe("outputs[].content_aware", () => {
  const perTitle = { mode: "per_title" };
  accepts([
    { name: "per_title on an hls ladder", body: oneOutput({ type: "hls", video: [variant({ resolution: "720p" }), variant({ resolution: "480p", quality: "economy" })], content_aware: perTitle }) },
    { name: "per_title on an mp4 file", body: oneOutput(mp4Output({ content_aware: perTitle })) },
    { name: "per_title with codec options other than crf", body: oneOutput(mp4Output({ video: [variant({ h264: { preset: "slow", profile: "high" } })], content_aware: perTitle })) },
    { name: "per_title on a built-in ladder preset", body: oneOutput({ preset: "hls_ladder_standard", content_aware: perTitle }) },
  ]);
  rejects([
    { name: "content_aware: true", body: oneOutput(mp4Output({ content_aware: true })), code: "validation_error" },
    { name: "content_aware without a mode", body: oneOutput(mp4Output({ content_aware: {} })), code: "validation_error" },
    { name: "mode auto_abr (not offered)", body: oneOutput(mp4Output({ content_aware: { mode: "auto_abr" } })), code: "validation_error" },
    { name: "an unknown mode", body: oneOutput(mp4Output({ content_aware: { mode: "per_scene" } })), code: "validation_error" },
    { name: "a vmaf_target (no VMAF is measured)", body: oneOutput(mp4Output({ content_aware: { mode: "per_title", vmaf_target: 93 } })), code: "validation_error" },
    { name: "per_title with a variant bitrate", body: oneOutput({ type: "hls", video: [variant(), variant({ bitrate: 1500 })], content_aware: perTitle }), code: "validation_error" },
    { name: "per_title with an h264 crf", body: oneOutput(mp4Output({ video: [variant({ h264: { crf: 20 } })], content_aware: perTitle })), code: "validation_error" },
    { name: "per_title with a vp9 crf", body: oneOutput({ type: "webm", video: [{ codec: "vp9", vp9: { crf: 30 } }], content_aware: perTitle }), code: "validation_error" },
    { name: "per_title on a preset overridden with a variant bitrate", body: oneOutput({ preset: "hls_ladder_standard", video: [variant({ bitrate: 800 })], content_aware: perTitle }), code: "validation_error" },
  ]);

  it("names the field the rule is about", async () => {
    const res = await call("/v1/jobs", { key, body: oneOutput({ type: "hls", video: [variant(), variant({ bitrate: 1500 })], content_aware: perTitle }) });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/^outputs\.0\.video\.1\.bitrate: content_aware picks/);
  });
});

describe("tasks[]", () => {
  accepts([
    { name: "storage:get → ffmpeg:cmd → storage:put without an input", body: pipeline() },
    { name: "ffmpeg:cmd alone with an input", body: tasksJob([transcode], { input: IN }) },
    { name: "50 tasks", body: tasksJob([get(), ...times(48, () => transcode), put()]) },
    { name: "a gs:// location", body: tasksJob([get(["in.mp4"], "gs://{tool-keys}@bucket/in/"), transcode, put()]) },
    { name: "an r2:// location with a secret", body: tasksJob([get(["in.mp4"], "r2://{tool-keys}@bucket/in/"), transcode, put()]) },
    { name: "an https location", body: tasksJob([get(["in.mp4"], "https://media.example.com/in/"), transcode, put()]) },
    { name: "file names with dots, dashes and underscores", body: tasksJob([get(["in.part-1_a.mp4", "...x"]), transcode, put()]) },
    { name: "the VTK seed's ffmpeg:cmd", body: pipeline(ffmpeg(["-y", "-i", "in.mp4", "-c:v", "libx264", "-b:v", "1500k", "-c:a", "aac", "-b:a", "128k", "out.mp4"])) },
    {
      name: "ffmpeg filter arguments",
      body: pipeline(ffmpeg(["-i", "in.mp4", "-vf", "scale=iw/2:-2,fps=30000/1001", "-map", "0:a:0", "-metadata", "title=a..b", "out.mp4"])),
    },
    { name: "a known version", body: tasksJob([get(), { ...transcode, version: "1.0" }, put()]) },
  ]);
  rejects([
    { name: "an empty task list", body: tasksJob([], { input: IN }), code: "validation_error" },
    { name: "51 tasks", body: tasksJob([get(), ...times(49, () => transcode), put()]), code: "validation_error" },
    { name: "an unknown tool", body: tasksJob([get(), { tool: "magic:wand", parameters: {} }, put()]), code: "unknown_tool" },
    { name: "a tool name without a namespace", body: tasksJob([get(), { tool: "ffmpeg", parameters: {} }, put()]), code: "validation_error" },
    { name: "tasks without input or storage:get", body: tasksJob([transcode, put()]), code: "input_required" },
    { name: "storage:get without a location", body: tasksJob([{ tool: "storage:get", parameters: { files: ["in.mp4"] } }, transcode, put()]), code: "validation_error" },
    { name: "storage:get without parameters", body: tasksJob([{ tool: "storage:get" }, transcode, put()]), code: "validation_error" },
    { name: "storage:get with an ftp location", body: tasksJob([get(["in.mp4"], "ftp://host/in/"), transcode, put()]), code: "validation_error" },
    { name: "storage:put with no files", body: tasksJob([get(), transcode, put([])]), code: "validation_error" },
    { name: "storage:put with an unknown parameter", body: tasksJob([get(), transcode, { tool: "storage:put", parameters: { location: "s3://b/o/", files: ["o.mp4"], acl: "public" } }]), code: "validation_error" },
    { name: 'a file name with "/"', body: tasksJob([get(["dir/in.mp4"]), transcode, put()]), code: "validation_error" },
    { name: 'the file name ".."', body: tasksJob([get(), transcode, put([".."])]), code: "path_outside_workdir" },
    { name: 'the file name "."', body: tasksJob([get(["."]), transcode, put()]), code: "validation_error" },
    { name: 'a file name "../in.mp4"', body: tasksJob([get(["../in.mp4"]), transcode, put()]), code: "path_outside_workdir" },
    { name: "ffmpeg:cmd without arguments", body: pipeline(ffmpeg([])), code: "validation_error" },
    { name: "ffmpeg:cmd with an unknown parameter", body: pipeline({ tool: "ffmpeg:cmd", parameters: { arguments: ["-i", "in.mp4"], shell: true } }), code: "validation_error" },
    { name: "an absolute path argument", body: pipeline(ffmpeg(["-i", "/etc/passwd", "out.mp4"])), code: "invalid_input" },
    { name: 'a "../x" argument', body: pipeline(ffmpeg(["-i", "in.mp4", "../x"])), code: "invalid_input" },
    { name: "an http:// argument", body: pipeline(ffmpeg(["-i", "http://evil.example.com/x.mp4", "out.mp4"])), code: "invalid_input" },
    { name: "a file: argument with an absolute path", body: pipeline(ffmpeg(["-i", "file:/etc/passwd", "out.mp4"])), code: "invalid_input" },
    { name: "an absolute path inside a filter", body: pipeline(ffmpeg(["-i", "in.mp4", "-vf", "movie=/etc/passwd", "out.mp4"])), code: "invalid_input" },
    { name: "an absolute path inside concat:", body: pipeline(ffmpeg(["-i", "concat:in.mp4|/etc/passwd", "out.mp4"])), code: "invalid_input" },
    { name: "a quoted .. path inside a filter", body: pipeline(ffmpeg(["-i", "in.mp4", "-vf", "movie='../x.png'", "out.mp4"])), code: "invalid_input" },
    { name: "a .. path inside a filter", body: pipeline(ffmpeg(["-i", "in.mp4", "-vf", "movie=../secret.png", "out.mp4"])), code: "invalid_input" },
    // The encoder's allowlist (encoder/contract.ts toolArgumentsProblem), checked at creation too.
    { name: "an escaped absolute path inside movie=", body: pipeline(ffmpeg(["-i", "in.mp4", "-vf", "movie=\\/etc/passwd", "out.mp4"])), code: "tool_refused" },
    { name: "a movie= source at all", body: pipeline(ffmpeg(["-i", "in.mp4", "-vf", "movie=in.mp4", "out.mp4"])), code: "tool_refused" },
    { name: "drawtext reading /proc/self/environ through an escaped path", body: pipeline(ffmpeg(["-i", "in.mp4", "-vf", "drawtext=textfile=\\/proc/self/environ", "out.mp4"])), code: "tool_refused" },
    { name: "movie= with a space before an absolute path", body: pipeline(ffmpeg(["-i", "in.mp4", "-vf", "movie= /etc/passwd", "out.mp4"])), code: "tool_refused" },
    { name: "sendcmd reading commands from a file", body: pipeline(ffmpeg(["-i", "in.mp4", "-vf", "sendcmd=f=cmds.txt,null", "out.mp4"])), code: "tool_refused" },
    { name: "-attach of a URL", body: pipeline(ffmpeg(["-i", "in.mp4", "-attach", "http:evil", "out.mkv"])), code: "tool_refused" },
    { name: "-dump_attachment", body: pipeline(ffmpeg(["-dump_attachment:t", "x", "-i", "in.mp4", "out.mp4"])), code: "tool_refused" },
    { name: "a -protocol_whitelist of its own", body: pipeline(ffmpeg(["-protocol_whitelist", "file,tcp", "-i", "in.mp4", "out.mp4"])), code: "tool_refused" },
    { name: "an output named tcp:host:port", body: pipeline(ffmpeg(["-i", "in.mp4", "-f", "mpegts", "tcp:127.0.0.1:9"])), code: "tool_refused" },
    { name: "the tee muxer", body: pipeline(ffmpeg(["-i", "in.mp4", "-f", "tee", "[f=mp4]out.mp4"])), code: "tool_refused" },
    { name: "-filter_complex_script", body: pipeline(ffmpeg(["-i", "in.mp4", "-filter_complex_script", "graph.txt", "out.mp4"])), code: "tool_refused" },
    { name: "a concat list read unsafely", body: pipeline(ffmpeg(["-f", "concat", "-safe", "0", "-i", "list.txt", "out.mp4"])), code: "tool_refused" },
    { name: "-hls_key_info_file", body: pipeline(ffmpeg(["-i", "in.mp4", "-hls_key_info_file", "keyinfo", "out.m3u8"])), code: "tool_refused" },
  ]);
});

describe("exactly one of kind, outputs or tasks", () => {
  accepts([
    { name: "kind alone", body: videoJob() },
    { name: "outputs alone", body: oneOutput(mp4Output()) },
    { name: "tasks alone", body: pipeline() },
  ]);
  rejects([
    { name: "none of them", body: { input: IN }, code: "validation_error" },
    { name: "kind and outputs", body: videoJob({ outputs: [mp4Output()] }), code: "validation_error" },
    { name: "kind and tasks", body: videoJob({ tasks: [transcode] }), code: "validation_error" },
    { name: "outputs and tasks", body: outputsJob([mp4Output()], { tasks: [transcode] }), code: "validation_error" },
  ]);
});

describe("tags and metadata", () => {
  accepts([
    { name: "20 tags", body: videoJob({ tags: times(20, (i) => `tag-${i}`) }) },
    { name: "a 64-character tag", body: videoJob({ tags: [long(64)] }) },
    { name: "20 metadata entries", body: videoJob({ metadata: Object.fromEntries(times(20, (i) => [`k${i}`, i])) }) },
    { name: "a 64-character metadata key", body: videoJob({ metadata: { [long(64)]: "v" } }) },
    { name: "a 1024-character metadata value", body: videoJob({ metadata: { k: long(1024) } }) },
    { name: "string, number and boolean metadata values", body: videoJob({ metadata: { s: "x", n: 1.5, b: false } }) },
  ]);
  rejects([
    { name: "21 tags", body: videoJob({ tags: times(21, (i) => `tag-${i}`) }), code: "validation_error" },
    { name: "a 65-character tag", body: videoJob({ tags: [long(65)] }), code: "validation_error" },
    { name: "an empty tag", body: videoJob({ tags: [""] }), code: "validation_error" },
    { name: "a blank tag", body: videoJob({ tags: ["   "] }), code: "validation_error" },
    { name: "a non-string tag", body: videoJob({ tags: [7] }), code: "validation_error" },
    { name: "21 metadata entries", body: videoJob({ metadata: Object.fromEntries(times(21, (i) => [`k${i}`, i])) }), code: "validation_error" },
    { name: "a 65-character metadata key", body: videoJob({ metadata: { [long(65)]: "v" } }), code: "validation_error" },
    { name: "an empty metadata key", body: videoJob({ metadata: { "": "v" } }), code: "validation_error" },
    { name: "a 1025-character metadata value", body: videoJob({ metadata: { k: long(1025) } }), code: "validation_error" },
    { name: "a nested object metadata value", body: videoJob({ metadata: { k: { nested: true } } }), code: "validation_error" },
    { name: "an array metadata value", body: videoJob({ metadata: { k: [1, 2] } }), code: "validation_error" },
    { name: "a null metadata value", body: videoJob({ metadata: { k: null } }), code: "validation_error" },
  ]);

  it("stores the tags and metadata it accepted", async () => {
    const res = await expectCreated(videoJob({ tags: ["a", "b"], metadata: { k: "v", n: 2 } }));
    expect(res.json.tags).toEqual(["a", "b"]);
    expect(res.json.metadata).toEqual({ k: "v", n: 2 });
  });
});

describe("priority", () => {
  it.each([
    { priority: undefined, expected: "standard" },
    { priority: "economy", expected: "economy" },
    { priority: "standard", expected: "standard" },
    { priority: "premium", expected: "premium" },
    { priority: 1, expected: "premium" },
    { priority: 3, expected: "premium" },
    { priority: 4, expected: "standard" },
    { priority: 5, expected: "standard" },
    { priority: 7, expected: "standard" },
    { priority: 8, expected: "economy" },
    { priority: 10, expected: "economy" },
  ])("accepts priority $priority as $expected", async ({ priority, expected }) => {
    const res = await expectCreated(videoJob(priority === undefined ? {} : { priority }));
    expect(res.json.priority).toBe(expected);
  });
  rejects([
    { name: "rank 0", body: videoJob({ priority: 0 }), code: "validation_error" },
    { name: "rank 11", body: videoJob({ priority: 11 }), code: "validation_error" },
    { name: "rank 5.5", body: videoJob({ priority: 5.5 }), code: "validation_error" },
    { name: 'the string "5"', body: videoJob({ priority: "5" }), code: "validation_error" },
    { name: '"urgent"', body: videoJob({ priority: "urgent" }), code: "validation_error" },
  ]);
});

describe("webhook_url, delayed_start, bundle and region", () => {
  accepts([
    { name: "an https webhook", body: videoJob({ webhook_url: "https://hooks.example.com/kiln" }) },
    { name: "a 2048-character webhook", body: videoJob({ webhook_url: `https://hooks.example.com/${long(2048 - 26)}` }) },
    { name: "delayed_start true", body: videoJob({ delayed_start: true }) },
    { name: "delayed_start false", body: videoJob({ delayed_start: false }) },
    { name: "a bundle of letters, digits, _ . -", body: videoJob({ bundle: "release-2024.1_a" }) },
    { name: "a 128-character bundle", body: videoJob({ bundle: long(128) }) },
    { name: "region auto", body: videoJob({ region: "auto" }) },
    { name: "region aws:eu-west-1", body: videoJob({ region: "aws:eu-west-1" }) },
  ]);
  rejects([
    { name: "an ftp webhook", body: videoJob({ webhook_url: "ftp://hooks.example.com/kiln" }), code: "validation_error" },
    { name: "a webhook that is not a URL", body: videoJob({ webhook_url: "hooks.example.com" }), code: "validation_error" },
    { name: "a 2049-character webhook", body: videoJob({ webhook_url: `https://hooks.example.com/${long(2049 - 26)}` }), code: "validation_error" },
    { name: 'delayed_start "yes"', body: videoJob({ delayed_start: "yes" }), code: "validation_error" },
    { name: "delayed_start 1", body: videoJob({ delayed_start: 1 }), code: "validation_error" },
    { name: "a bundle with a space", body: videoJob({ bundle: "my bundle" }), code: "validation_error" },
    { name: "a bundle with a slash", body: videoJob({ bundle: "a/b" }), code: "validation_error" },
    { name: "an empty bundle", body: videoJob({ bundle: "" }), code: "validation_error" },
    { name: "a 129-character bundle", body: videoJob({ bundle: long(129) }), code: "validation_error" },
    { name: "a region with a space", body: videoJob({ region: "eu west" }), code: "validation_error" },
    { name: "a region with a slash", body: videoJob({ region: "aws/eu-west-1" }), code: "validation_error" },
    { name: "a 65-character region", body: videoJob({ region: long(65) }), code: "validation_error" },
  ]);
});

describe("idempotency_key", () => {
  const fresh = () => crypto.randomUUID();

  it("accepts a 128-character body key", async () => {
    await expectCreated(videoJob({ idempotency_key: `${fresh()}${long(128 - 36)}` }));
  });
  it("accepts a 128-character header key", async () => {
    await expectCreated(videoJob(), { "Idempotency-Key": `${fresh()}${long(128 - 36)}` });
  });
  it("accepts a header equal to the body key", async () => {
    const idem = fresh();
    await expectCreated(videoJob({ idempotency_key: idem }), { "Idempotency-Key": idem });
  });
  it("rejects a 129-character body key", async () => {
    await expectRejected(videoJob({ idempotency_key: long(129) }), "validation_error");
  });
  it("rejects an empty body key", async () => {
    await expectRejected(videoJob({ idempotency_key: "" }), "validation_error");
  });
  it("rejects a 129-character header key", async () => {
    await expectRejected(videoJob(), "validation_error", 400, { "Idempotency-Key": long(129) });
  });
  it("rejects a header that differs from the body key", async () => {
    await expectRejected(videoJob({ idempotency_key: fresh() }), "validation_error", 400, { "Idempotency-Key": fresh() });
  });
});

describe("output, output_origin_id and output_path_template", () => {
  accepts([
    { name: "a path template with every variable", body: videoJob({ output_path_template: "{job_id}/{output_id}/{date}/{resolution}-{quality}-{codec}.{format}" }) },
    { name: "a path template without variables", body: videoJob({ output_path_template: "videos/out" }) },
  ]);
  rejects([
    // Well-formed, but naming no origin or secret of the org: origin-jobs.test.ts resolves them.
    { name: "output s3://bucket/key without an origin", body: videoJob({ output: "s3://bucket/key" }), code: "origin_not_found", status: 422 },
    { name: "output gs://bucket without an origin", body: videoJob({ output: "gs://bucket" }), code: "origin_not_found", status: 422 },
    { name: "output r2:// with an unknown secret", body: videoJob({ output: "r2://{creds}@my-bucket/out/" }), code: "secret_not_found", status: 422 },
    { name: "an unknown output_origin_id", body: videoJob({ output_origin_id: "ori_abc123" }), code: "origin_not_found", status: 422 },
    { name: 'output "https://x"', body: videoJob({ output: "https://x" }), code: "validation_error" },
    { name: "output s3:// without a bucket", body: videoJob({ output: "s3://" }), code: "validation_error" },
    { name: "an output_origin_id of the wrong form", body: videoJob({ output_origin_id: "origin_1" }), code: "validation_error" },
    { name: "both output and output_origin_id", body: videoJob({ output: "s3://bucket/key", output_origin_id: "ori_abc123" }), code: "validation_error" },
    { name: "a path template with an unknown variable", body: videoJob({ output_path_template: "{job_id}/{filename}" }), code: "validation_error" },
    { name: "a path template with a leading /", body: videoJob({ output_path_template: "/videos/{job_id}" }), code: "validation_error" },
    { name: "a path template with a .. segment", body: videoJob({ output_path_template: "videos/../{job_id}" }), code: "validation_error" },
    { name: "an empty path template", body: videoJob({ output_path_template: "" }), code: "validation_error" },
    { name: "a path template with a control character", body: videoJob({ output_path_template: "a\nb" }), code: "validation_error" },
  ]);
});

describe("thumbnails", () => {
  accepts([
    { name: "5 thumbnail specs", body: videoJob({ thumbnails: times(5, () => ({ count: 1 })) }) },
    { name: "times", body: videoJob({ thumbnails: [{ times: [0, 1.5, 10], format: "png", width: 320 }] }) },
    { name: "an interval", body: videoJob({ thumbnails: [{ interval: 0.1, sprite: true }] }) },
    { name: "a count", body: videoJob({ thumbnails: [{ count: 100, format: "webp", height: 2160 }] }) },
    { name: "times as seconds and percentages", body: videoJob({ thumbnails: [{ times: [2, "0%", "12.5%", "100%"] }] }) },
    { name: "a sprite with columns and 640 px tiles", body: videoJob({ thumbnails: [{ interval: 5, sprite: true, columns: 20, width: 640, height: 640 }] }) },
    { name: "no mode (one frame from the middle)", body: videoJob({ thumbnails: [{ format: "png" }] }) },
  ]);
  rejects([
    { name: "6 thumbnail specs", body: videoJob({ thumbnails: times(6, () => ({ count: 1 })) }), code: "validation_error" },
    { name: "times and interval", body: videoJob({ thumbnails: [{ times: [1], interval: 5 }] }), code: "validation_error" },
    { name: "interval and count", body: videoJob({ thumbnails: [{ interval: 5, count: 3 }] }), code: "validation_error" },
    { name: "times and count", body: videoJob({ thumbnails: [{ times: [1], count: 3 }] }), code: "validation_error" },
    { name: "an empty times list", body: videoJob({ thumbnails: [{ times: [] }] }), code: "validation_error" },
    { name: "width 15", body: videoJob({ thumbnails: [{ count: 1, width: 15 }] }), code: "validation_error" },
    { name: "format gif", body: videoJob({ thumbnails: [{ count: 1, format: "gif" }] }), code: "validation_error" },
    { name: "a percentage over 100", body: videoJob({ thumbnails: [{ times: ["100.5%"] }] }), code: "validation_error" },
    { name: "a percentage without %", body: videoJob({ thumbnails: [{ times: ["50"] }] }), code: "validation_error" },
    { name: "a negative time", body: videoJob({ thumbnails: [{ times: [-1] }] }), code: "validation_error" },
    { name: "101 times", body: videoJob({ thumbnails: [{ times: times(101, (i) => i) }] }), code: "validation_error" },
    { name: "columns without sprite", body: videoJob({ thumbnails: [{ count: 4, columns: 2 }] }), code: "validation_error" },
    { name: "21 sprite columns", body: videoJob({ thumbnails: [{ count: 4, sprite: true, columns: 21 }] }), code: "validation_error" },
    { name: "a sprite tile 641 px wide", body: videoJob({ thumbnails: [{ count: 4, sprite: true, width: 641 }] }), code: "validation_error" },
    { name: "an interval under 0.1 s", body: videoJob({ thumbnails: [{ interval: 0.05 }] }), code: "validation_error" },
  ]);
});

describe("the request object", () => {
  rejects([
    { name: "an unknown top-level field", body: videoJob({ colour: "red" }), code: "validation_error" },
    { name: "a JSON array body", body: [videoJob()], code: "validation_error" },
    { name: "a JSON null body", body: null, code: "validation_error" },
    { name: "a JSON string body", body: "video", code: "validation_error" },
    { name: "a JSON number body", body: 42, code: "validation_error" },
  ]);
});

describe("transport", () => {
  it("accepts application/json with a charset", async () => {
    const res = await call("/v1/jobs", { key, rawBody: JSON.stringify(videoJob()), headers: { "content-type": "application/json; charset=utf-8" } });
    expect(res.status, res.text).toBe(201);
  });
  it("rejects malformed JSON with 400 invalid_json", async () => {
    expectError(await call("/v1/jobs", { key, rawBody: '{"input": "https://x.example/in.mp4",' }), 400, "invalid_json");
  });
  it("rejects a text/plain body with 415 unsupported_media_type", async () => {
    expectError(
      await call("/v1/jobs", { key, rawBody: JSON.stringify(videoJob()), headers: { "content-type": "text/plain" } }),
      415,
      "unsupported_media_type",
    );
  });
  it("refuses a body just under 1 MiB whose stored job would pass the Durable Object's row budget with 413 job_too_large", async () => {
    // A pipeline's arguments are stored twice (request and plan): ~2 MB, past the budget job-size.test.ts measures.
    const body = pipeline(ffmpeg(["-i", "in.mp4", ...times(240, () => ["-metadata", `comment=${long(3990)}`]).flat(), "out.mp4"]));
    expect(JSON.stringify(body).length).toBeGreaterThan(950_000);
    expect(JSON.stringify(body).length).toBeLessThan(1024 * 1024);
    expectError(await call("/v1/jobs", { key, body }), 413, "job_too_large");
  }, 30_000);
  it("rejects a 2 MiB body with 413 payload_too_large", async () => {
    const body = videoJob({ metadata: { k: long(2 * 1024 * 1024) } });
    expectError(await call("/v1/jobs", { key, body }), 413, "payload_too_large");
  });
});

describe("GET /v1/jobs query", () => {
  const list = (query: string) => call(`/v1/jobs?${query}`, { key });

  it.each(["status=pending", "status=pending,completed", "limit=1", "limit=100", "tag=a", "bundle=b&search=x"])("accepts %s", async (query) => {
    const res = await list(query);
    expect(res.status, res.text).toBe(200);
    expect(Array.isArray(res.json.data)).toBe(true);
  });

  it("accepts a cursor it returned", async () => {
    const org = await seedOrg();
    for (let i = 0; i < 2; i++) {
      expect((await call("/v1/jobs", { key: org.key, body: videoJob() })).status).toBe(201);
    }
    const first = await call("/v1/jobs?limit=1", { key: org.key });
    expect(first.status).toBe(200);
    expect(first.json.next_cursor).toEqual(expect.any(String));
    const second = await call(`/v1/jobs?limit=1&cursor=${encodeURIComponent(first.json.next_cursor)}`, { key: org.key });
    expect(second.status, second.text).toBe(200);
    expect(second.json.data).toHaveLength(1);
    expect(second.json.data[0].id).not.toBe(first.json.data[0].id);
  });

  it.each([
    "status=bogus",
    "status=pending,bogus",
    "limit=0",
    "limit=101",
    "limit=ten",
    "limit=1.5",
    "cursor=not-a-cursor",
    `cursor=${btoa(JSON.stringify({ x: 1 }))}`,
    "cursor=",
    `search=${long(129)}`,
    `tag=${times(21, (i) => `t${i}`).join(",")}`,
  ])("rejects %s with 400 validation_error", async (query) => {
    expectError(await list(query), 400, "validation_error");
  });
});

