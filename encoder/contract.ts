import { z } from "zod";
import { styleComparisonSchema, styleJsonSchema } from "./style/style-json";

/**
 * The wire contract between the Worker and the encoder, and the only code the two
 * share: the work order the Worker sends, the events the encoder posts back, and the
 * directive the Worker answers each event with. Bump CONTRACT_VERSION on any change
 * a peer of the previous version could misread.
 */
export const CONTRACT_VERSION = 1;

const id = z.string().min(1).max(64);
const url = z.string().url().max(8192);
const quality = z.enum(["very_low", "low", "medium", "high", "very_high"]);
const dimension = z.union([z.number().int().positive(), z.string().regex(/^\d{1,3}%$/)]);
const framing = {
  width: dimension.optional(),
  height: dimension.optional(),
  fit: z.enum(["contain", "cover", "fill"]).optional(),
  position: z.enum(["center", "top", "bottom", "left", "right", "top_left", "top_right", "bottom_left", "bottom_right"]).optional(),
  background: z.string().optional(),
};
const window = { start: z.number().min(0).optional(), end: z.number().positive().optional() };

/**
 * Stills taken from the input: frames at given seconds or percentages of the duration,
 * every N seconds, or N spread evenly; each a file of its own, or all tiled into one
 * sprite sheet with a WebVTT storyboard. At most 100 frames (an interval that would
 * give more is widened).
 */
export const thumbnailEncodeSpecSchema = z.object({
  kind: z.literal("thumbnail"),
  format: z.enum(["jpeg", "png", "webp"]),
  width: z.number().int().positive().max(3840).optional(),
  height: z.number().int().positive().max(2160).optional(),
  frames: z.discriminatedUnion("mode", [
    z.object({
      mode: z.literal("times"),
      times: z.array(z.union([z.object({ seconds: z.number().min(0) }), z.object({ percent: z.number().min(0).max(100) })])).min(1).max(100),
    }),
    z.object({ mode: z.literal("interval"), seconds: z.number().positive() }),
    z.object({ mode: z.literal("count"), count: z.number().int().min(1).max(100) }),
  ]),
  sprite: z.object({ columns: z.number().int().min(1).max(20).optional() }).optional(),
});
export type ThumbnailEncodeSpec = z.infer<typeof thumbnailEncodeSpecSchema>;

/** What one encode task makes, in Ittybit's vocabulary (the Worker fills defaults). */
export const encodeSpecSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("video"),
    format: z.enum(["mp4", "webm", "mov"]),
    codec: z.enum(["h264", "h265", "vp9", "av1"]),
    quality: quality.optional(),
    fps: z.number().min(1).max(60).optional(),
    bitrate: z.number().int().positive().optional(),
    ...framing,
    ...window,
  }),
  z.object({
    kind: z.literal("audio"),
    format: z.enum(["mp3", "aac", "ogg", "opus", "wav", "flac"]),
    quality: quality.optional(),
    bitrate: z.number().int().positive().optional(),
    ...window,
  }),
  z.object({
    kind: z.literal("image"),
    format: z.enum(["jpeg", "png", "webp", "avif"]),
    quality: quality.optional(),
    start: z.number().min(0).optional(),
    ...framing,
  }),
  z.object({
    kind: z.literal("animation"),
    format: z.enum(["gif", "webp"]),
    quality: quality.optional(),
    fps: z.number().min(1).max(60).optional(),
    ...framing,
    start: z.number().min(0).optional(),
    end: z.number().positive(),
  }),
  z.object({
    kind: z.literal("adaptive_video"),
    format: z.literal("hls"),
    quality: quality.optional(),
    ...framing,
    ...window,
  }),
  thumbnailEncodeSpecSchema,
]);
export type EncodeSpec = z.infer<typeof encodeSpecSchema>;

const bcp47 = z.string().regex(/^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*$/);
const x26xPreset = z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]);

/** One rendition of a Transcodely output: the Worker passes the request's variant as given. */
export const videoVariantSpecSchema = z.object({
  codec: z.enum(["h264", "h265", "vp9", "av1"]),
  resolution: z.enum(["480p", "720p", "1080p", "1440p", "2160p", "4320p"]).optional(),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  quality: z.enum(["economy", "standard", "premium"]).optional(),
  /** 0 or absent keeps the source's rate. */
  framerate: z.number().int().min(0).optional(),
  /** kbps; replaces the tier's constant quality with a target rate. */
  bitrate: z.number().int().positive().optional(),
  h264: z
    .object({
      profile: z.enum(["baseline", "main", "high"]).optional(),
      preset: x26xPreset.optional(),
      crf: z.number().int().min(0).max(51).optional(),
      tune: z.enum(["film", "animation", "grain", "stillimage", "fastdecode", "zerolatency"]).optional(),
    })
    .optional(),
  h265: z
    .object({
      profile: z.enum(["main", "main10"]).optional(),
      preset: x26xPreset.optional(),
      crf: z.number().int().min(0).max(51).optional(),
      tune: z.enum(["psnr", "ssim", "grain", "fastdecode", "zerolatency", "animation"]).optional(),
    })
    .optional(),
  vp9: z.object({ crf: z.number().int().min(0).max(63).optional(), speed: z.number().int().min(0).max(8).optional() }).optional(),
  av1: z.object({ crf: z.number().int().min(0).max(63).optional(), preset: z.number().int().min(0).max(13).optional() }).optional(),
});
export type VideoVariantSpec = z.infer<typeof videoVariantSpecSchema>;

export const audioTrackSpecSchema = z.object({
  codec: z.enum(["aac", "opus", "mp3", "flac", "ac3", "eac3"]),
  /** kbps */
  bitrate: z.number().int().positive().optional(),
  channels: z.number().int().min(1).max(8).optional(),
  sample_rate: z.number().int().positive().optional(),
  language: bcp47.optional(),
  label: z.string().min(1).max(64).optional(),
  default: z.boolean().optional(),
});
export type AudioTrackSpec = z.infer<typeof audioTrackSpecSchema>;

/** A sidecar subtitle file for a streaming output, fetched by the encoder like the input. */
export const subtitleSpecSchema = z.object({
  url,
  format: z.enum(["vtt", "srt"]).optional(),
  language: bcp47,
  label: z.string().min(1).max(64).optional(),
  default: z.boolean().optional(),
});
export type SubtitleSpec = z.infer<typeof subtitleSpecSchema>;

const hex16Bytes = z.string().regex(/^[0-9a-f]{32}$/, "16 bytes as 32 lowercase hex digits");

/**
 * A streaming output's encryption. The key is a secret: the encoder writes it only to a
 * file in the job's working directory outside the package (HLS) or uses it in-process
 * (CENC), never to argv, logs or events.
 * - `aes-128`: HLS with TS segments encrypted whole (AES-128-CBC); `key_uri` is what the
 *   playlists' EXT-X-KEY names (Kiln's key route).
 * - `cenc`: DASH or adaptive (CMAF) fMP4 with Common Encryption, cenc-aes-ctr, ClearKey;
 *   `license_url` (Kiln's ClearKey route) goes into the MPD's ContentProtection.
 */
export const drmSpecSchema = z.discriminatedUnion("scheme", [
  z.object({ scheme: z.literal("aes-128"), key: hex16Bytes, key_uri: url }),
  z.object({ scheme: z.literal("cenc"), key: hex16Bytes, key_id: hex16Bytes, license_url: url }),
]);
export type DrmSpec = z.infer<typeof drmSpecSchema>;

/** Transcodely's output types: files, and the streaming packages. */
export const outputTypes = ["mp4", "webm", "mkv", "mov", "hls", "dash", "adaptive"] as const;
export type OutputType = (typeof outputTypes)[number];
export const streamingOutputTypes: readonly OutputType[] = ["hls", "dash", "adaptive"];

/**
 * Whether a package is published as ffmpeg writes it: each segment stored once ffmpeg
 * closes it, playlists that grow (EVENT) until the run ends, so it plays long before
 * the job completes. HLS packages are (the adaptive_video kind's, whose output type is
 * hls, and hls and adaptive outputs), except CENC-encrypted ones, whose segments are
 * encrypted only after the run. Both sides decide by it: the encoder what it
 * publishes, the Worker which outputs a job's `playable` waits for.
 */
export function publishedProgressively(type: string, drmScheme: string | null | undefined): boolean {
  return (type === "hls" || type === "adaptive") && drmScheme !== "cenc";
}

/** Which video codecs each output type can carry in ffmpeg 5.1: the Worker validates by it, the encoder relies on it. */
export const videoCodecsByType: Record<OutputType, readonly ("h264" | "h265" | "vp9" | "av1")[]> = {
  mp4: ["h264", "h265", "av1"],
  webm: ["vp9", "av1"],
  mkv: ["h264", "h265", "vp9", "av1"],
  mov: ["h264", "h265"],
  hls: ["h264", "h265", "av1"],
  dash: ["h264", "h265", "vp9", "av1"],
  adaptive: ["h264", "h265", "av1"],
};

/**
 * One output of a Transcodely job (`outputs[]`): a file or a stream package with its
 * variants. All output tasks of a work order are encoded together, from one decode.
 */
export const outputSpecSchema = z.object({
  kind: z.literal("output"),
  type: z.enum(outputTypes),
  video: z.array(videoVariantSpecSchema).min(1).max(20),
  audio: z.array(audioTrackSpecSchema).max(8).optional(),
  segments: z.object({ duration: z.number().min(1).max(30) }).optional(),
  hls: z
    .object({
      segment_type: z.enum(["fmp4", "ts"]).optional(),
      playlist_type: z.enum(["vod", "event"]).optional(),
      version: z.number().int().min(3).max(10).optional(),
    })
    .optional(),
  dash: z.object({ profile: z.enum(["on-demand", "live"]).optional() }).optional(),
  subtitles: z.array(subtitleSpecSchema).max(8).optional(),
  /**
   * Per-title encoding: a complexity probe of the input moves each constant-quality
   * rung's CRF and peak-rate cap (variants with their own bitrate or crf keep them).
   */
  content_aware: z.object({ mode: z.literal("per_title") }).optional(),
  drm: drmSpecSchema.optional(),
});
export type OutputSpec = z.infer<typeof outputSpecSchema>;

/**
 * What one task of a work order makes: an Ittybit kind, or a Transcodely output. The
 * output kind and the optional `manifest` of output facts were added without a
 * CONTRACT_VERSION bump: a v1 encoder without them refuses such an order (400, which
 * the Worker treats as rejected) and a v1 Worker drops the unknown field, so no peer
 * misreads the other; kind orders and their events are unchanged.
 */
export const taskSpecSchema = z.discriminatedUnion("kind", [...encodeSpecSchema.options, outputSpecSchema]);
export type TaskSpec = z.infer<typeof taskSpecSchema>;

/** A plain file name inside the job's working directory (a tool pipeline's `files`). */
export const toolFileNameSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._-]+$/, "a plain file name inside the job's working directory")
  .refine((name) => name !== "." && name !== "..", "a plain file name inside the job's working directory");

/** A directory inside the working directory, relative to it ("" for the directory itself). */
export const toolDirSchema = z
  .string()
  .max(512)
  .refine((dir) => dir === "" || dir.split("/").every((s) => toolFileNameSchema.safeParse(s).success && s !== "."), "a relative directory of plain names");

/** A file named by a relative path inside the working directory. */
export const toolPathSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((file) => file.split("/").every((s) => toolFileNameSchema.safeParse(s).success), "a relative path of plain names");

/** A name with `*` (any run of characters) and `?` (one character), matched against a directory's files when the step runs. */
export const toolPatternSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._*?-]+$/, "a file name pattern");

/** Whether `name` matches a storage:put pattern: `*` any run of characters, `?` one; the whole name. */
export function matchesToolPattern(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
  return new RegExp(`^${source}$`, "s").test(name);
}

/**
 * Fields every step may carry. `parallel` (VTK's `|p`): consecutive parallel steps run
 * at the same time, and the step after them waits for all.
 */
const stepBase = { task_id: id, parallel: z.boolean().optional() };

/**
 * One step of a tool pipeline (VTK's `tasks[]`) as the encoder runs it, in order, in
 * one working directory: `storage:get` downloads each file from a URL the Worker made
 * (presigned for buckets) under its plain name (in `base_dir`); `ffmpeg:cmd` runs ffmpeg
 * with the user's arguments inside the sandbox (`${NAME}` from the job's environment
 * substituted first); `storage:put` uploads each named file as the job output the Worker
 * planned for it, and each file a pattern matches as an output it announces
 * (`outputs_discovered`), through the export signing route; `storage:check` asks whether
 * objects exist through URLs the Worker made; `utils:env` sets variables; `utils:rename`
 * and `utils:tar` work on the directory's files; `ffmpeg:loudnorm_analyze` measures (and
 * with `output_args` normalises) loudness; `shaka:package_dash` packages streams as DASH
 * (stream copy, optional CENC ClearKey). Fields added after the first three tools are
 * optional, so older orders stay valid and mean what they meant.
 */
export const toolStepSchema = z.discriminatedUnion("tool", [
  z.object({ tool: z.literal("storage:get"), ...stepBase, files: z.array(z.object({ name: toolFileNameSchema, url })).min(1).max(100), base_dir: toolDirSchema.optional() }),
  z.object({
    tool: z.literal("ffmpeg:cmd"),
    ...stepBase,
    arguments: z.array(z.string().max(4096)).min(1).max(500),
    /** Made before the run. */
    outputdir: toolDirSchema.optional(),
    /** false: -xerror, the first decoding error stops the run. Absent in older orders, which ran without it. */
    ignore_decoding_errors: z.boolean().optional(),
  }),
  z.object({
    tool: z.literal("storage:put"),
    ...stepBase,
    files: z.array(z.object({ name: toolFileNameSchema, output_id: id })).max(100),
    patterns: z.array(toolPatternSchema).max(100).optional(),
    base_dir: toolDirSchema.optional(),
  }),
  z.object({
    tool: z.literal("storage:check"),
    ...stepBase,
    mode: z.enum(["FAIL_ON_PRESENCE", "COMPLETE_ON_PRESENCE", "FAIL_ON_ABSENCE"]),
    /** Each object's URL: a GET answered 2xx means it is there, 404 (or 403 from a bucket that hides absence) that it is not. */
    files: z.array(z.object({ name: toolFileNameSchema, url })).min(1).max(100),
  }),
  z.object({ tool: z.literal("utils:env"), ...stepBase, variables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.string().max(1024)) }),
  z.object({ tool: z.literal("utils:rename"), ...stepBase, pattern: z.string().min(1).max(256), template: z.string().min(1).max(255), base_dir: toolDirSchema.default("") }),
  z.object({
    tool: z.literal("utils:tar"),
    ...stepBase,
    mode: z.enum(["pack", "unpack"]),
    archive: toolPathSchema,
    files: z.array(toolPatternSchema).min(1).max(100).optional(),
    base_dir: toolDirSchema.default(""),
  }),
  z.object({
    tool: z.literal("ffmpeg:loudnorm_analyze"),
    ...stepBase,
    input_file: toolPathSchema,
    audio_selector: z.string().regex(/^\d+:a(:\d+)?$/),
    env_prefix: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$|^$/),
    integrated_loudness_target: z.number().min(-70).max(-5),
    maximum_true_peak: z.number().min(-9).max(0),
    loudness_range_target: z.number().min(1).max(50),
    /** The second pass's output arguments, the output file last; absent: analysis only. */
    output_args: z.array(z.string().max(4096)).min(1).max(200).optional(),
  }),
  z.object({
    tool: z.literal("shaka:package_dash"),
    ...stepBase,
    /** Each stream of the package: the first video or audio stream of a file, or its stream by index. */
    inputs: z
      .array(
        z.object({
          input_file: toolPathSchema,
          stream_selector: z.union([z.enum(["video", "audio"]), z.number().int().min(0).max(1023)]),
          /** The base of its segments' names: `{base}_init.mp4`, `{base}_{n}.m4s` (dashSegmentBase). */
          output: toolFileNameSchema,
          /** Bits per second for the MPD; absent: what the stream declares, else measured. */
          bandwidth: z.number().int().positive().optional(),
        }),
      )
      .min(1)
      .max(20),
    output_dir: toolDirSchema,
    mpd_output: toolFileNameSchema,
    /** Target segment length in seconds; segments still start at key frames (stream copy). */
    segment_duration: z.number().positive().max(60).optional(),
    /** CENC with a ClearKey key; without key_id and key the encoder generates both. */
    protection: z.object({ scheme: z.literal("cenc"), key_id: hex16Bytes.optional(), key: hex16Bytes.optional() }).optional(),
  }),
]);

/** A DASH stream's `output` as the base of its segments' names: a media extension written on it is dropped. */
export function dashSegmentBase(output: string): string {
  return output.replace(/\.(mp4|m4s|m4v|m4a|cmfv|cmfa)$/i, "") || output;
}
export type ToolStep = z.infer<typeof toolStepSchema>;

/** What one sandboxed tool run may use before it is killed (`resource_limit`). */
export const toolLimitsSchema = z
  .object({
    /** CPU seconds (RLIMIT_CPU). */
    cpu_seconds: z.number().int().positive().default(3600),
    /** Wall-clock seconds for one run. */
    wall_seconds: z.number().int().positive().default(3600),
    /** Largest file a run may write (RLIMIT_FSIZE). */
    max_file_bytes: z.number().int().positive().default(20 * 1024 ** 3),
    /** The whole working directory, checked while a run goes. */
    max_disk_bytes: z.number().int().positive().default(40 * 1024 ** 3),
    /** stdout + stderr a run may print; past it the run is killed. */
    max_output_bytes: z.number().int().positive().default(8 * 1024 ** 2),
    /** RLIMIT_NOFILE */
    max_open_files: z.number().int().positive().default(256),
    /** RLIMIT_NPROC (threads count too: ffmpeg's are many). */
    max_processes: z.number().int().positive().default(512),
  })
  .prefault({});
export type ToolLimits = z.infer<typeof toolLimitsSchema>;

const orderLimits = z
  .object({
    max_input_bytes: z.number().int().positive().default(10 * 1024 ** 3),
    max_duration_s: z.number().positive().default(6 * 3600),
    connect_timeout_ms: z.number().int().positive().default(10_000),
    read_timeout_ms: z.number().int().positive().default(30_000),
  })
  .prefault({});

const orderBase = {
  v: z.literal(CONTRACT_VERSION),
  job_id: id,
  attempt: z.number().int().min(1),
  lease_token: z.string().min(16).max(256),
  /** Where the encoder asks for upload URLs, in one batch, at export. */
  export: z.object({ sign_url: url, token: z.string().min(16).max(512) }),
  /** Where the encoder posts events; each is answered with a directive. */
  callback: z.object({ url, token: z.string().min(16).max(512) }),
};

/**
 * The engines an order can name. `transcode` (the default, so orders from before
 * engines existed read as one) runs import → probe → encode → export of one input;
 * `tools` runs a tool pipeline's steps; `style` measures a template's style and renders
 * the input in it.
 */
export const engines = ["transcode", "tools", "style"] as const;
export type EngineName = (typeof engines)[number];

/** The shortest clip: Transcodely's ClipConfig asks for at least 1 ms. */
export const MIN_CLIP_SECONDS = 0.001;

/**
 * The part of the input a whole job covers, in seconds of the input. An end past the
 * input's is clamped to it; a start that leaves less than MIN_CLIP_SECONDS of the input
 * is out of range (clipOutOfRange), which fails the job at the probe.
 */
export const clipSchema = z
  .object({ start_seconds: z.number().min(0), end_seconds: z.number().positive() })
  .refine((c) => c.end_seconds > c.start_seconds, { message: "end_seconds must be after start_seconds", path: ["end_seconds"] });
export type Clip = z.infer<typeof clipSchema>;

/** Whether a clip starts too late for an input of `durationMs` (the probe's duration_ms): the Worker and the encoder decide alike. */
export function clipOutOfRange(clip: Pick<Clip, "start_seconds">, durationMs: number): boolean {
  return durationMs - clip.start_seconds * 1000 < MIN_CLIP_SECONDS * 1000;
}

export const transcodeOrderSchema = z
  .object({
    ...orderBase,
    engine: z.literal("transcode").default("transcode"),
    input: z.object({ url }),
    /** Encode tasks, in order; probe, import and export are the pipeline's own stages. */
    tasks: z.array(z.object({ task_id: id, output_id: id, spec: taskSpecSchema })).min(1).max(50),
    limits: orderLimits,
    /**
     * Import and probe only (a delayed-start job before its confirmation): the encoder
     * reports the input's metadata and checks it can feed every task, then stops; the
     * probe's task_completed is its last event. The confirmed job gets a full order.
     */
    probe_only: z.boolean().default(false),
    /**
     * Every output covers only this window of the input, read once (seeked before the
     * decode); thumbnail times count from its start. Optional, so orders from before it
     * stay valid. Kind tasks have their own start/end and are never clipped.
     */
    clip: clipSchema.optional(),
  })
  .refine((order) => !order.clip || order.tasks.every((t) => t.spec.kind === "output" || t.spec.kind === "thumbnail"), {
    message: "clip goes with output and thumbnail tasks; kind tasks have their own start and end",
    path: ["clip"],
  });
export type TranscodeOrder = z.infer<typeof transcodeOrderSchema>;
export type TranscodeOrderInput = z.input<typeof transcodeOrderSchema>;

/**
 * A tool pipeline. Events name each step's task: `storage:get` reports as stage
 * `import`, `ffmpeg:cmd` as `encode`, `storage:put` as `export`; each file a put
 * stores is announced with `output_completed` before its step's `task_completed`.
 */
export const toolsOrderSchema = z.object({
  ...orderBase,
  engine: z.literal("tools"),
  steps: z.array(toolStepSchema).min(1).max(50),
  limits: orderLimits,
  tool_limits: toolLimitsSchema,
});
export type ToolsOrder = z.infer<typeof toolsOrderSchema>;
export type ToolsOrderInput = z.input<typeof toolsOrderSchema>;

/** A style job's stages, in the order they run; each is one planned task (Clipzy's `current_stage`). */
export const styleStages = ["video_analysis", "audio_analysis", "motion_analysis", "style_extraction", "style_application", "rendering"] as const;
export type StyleStage = (typeof styleStages)[number];

/**
 * What a style job may override or switch off (Clipzy leaves `config` open; this is
 * Kiln's reading of it). `aspect_ratio` and `frame_rate` replace the template's;
 * `position` places the frame when reframing cuts (pads keep it centred); each `apply`
 * part is on by default when there is a template; `quality` sets the H.264 CRF.
 */
export const styleConfigSchema = z.strictObject({
  aspect_ratio: z.enum(["16:9", "9:16", "1:1", "4:5", "4:3"]).optional(),
  frame_rate: z.union([z.literal(24), z.literal(25), z.literal(30), z.literal(50), z.literal(60)]).optional(),
  position: z.enum(["center", "top", "bottom", "left", "right"]).optional(),
  apply: z
    .strictObject({ color: z.boolean().optional(), audio: z.boolean().optional(), pacing: z.boolean().optional(), reframe: z.boolean().optional(), zoom: z.boolean().optional() })
    .optional(),
  quality: z.enum(["low", "medium", "high"]).optional(),
  output_format: z.literal("mp4").optional(),
});
export type StyleConfig = z.infer<typeof styleConfigSchema>;

/**
 * Whether a style job renders an output: always with a template; without one only when
 * config asks the source for a change (a frame, a rate or a quality); otherwise it only
 * extracts the source's style.
 */
export function styleRenders(hasTemplate: boolean, config: StyleConfig): boolean {
  return hasTemplate || config.aspect_ratio !== undefined || config.frame_rate !== undefined || config.quality !== undefined;
}

/**
 * A style job: the input (the source) and optionally a template are measured; the
 * template's style (or, without one, the source's own) is reported with style_measured
 * at style_extraction. With `render`, the source is rendered in the target style
 * (the template's, with config's overrides) into its output, which is measured again and
 * compared (style_measured at rendering). Each planned stage's task is reported under
 * its own id, with stage `encode`.
 */
export const styleOrderSchema = z.object({
  ...orderBase,
  engine: z.literal("style"),
  input: z.object({ url }),
  template: z.object({ url }).nullable(),
  tasks: z.array(z.object({ task_id: id, stage: z.enum(styleStages) })).min(1).max(styleStages.length),
  render: z.object({ output_id: id, config: styleConfigSchema }).nullable(),
  limits: orderLimits,
});
export type StyleOrder = z.infer<typeof styleOrderSchema>;
export type StyleOrderInput = z.input<typeof styleOrderSchema>;

/** The engine field decides; an order without one is a transcode order. */
export const workOrderSchema = z.union([toolsOrderSchema, styleOrderSchema, transcodeOrderSchema]);
export type WorkOrder = z.infer<typeof workOrderSchema>;
export type WorkOrderInput = z.input<typeof workOrderSchema>;

export const failureCodes = [
  "input_unreachable",
  "input_forbidden",
  "input_too_large",
  "input_unreadable",
  "input_no_video",
  "encode_failed",
  "export_failed",
  "canceled",
  /** A tool run could not be sandboxed: it is refused, never run without one. */
  "sandbox_unavailable",
  /** A tool's arguments name an option, filter or path the sandboxed runner does not allow. */
  "tool_refused",
  /** A tool run went past its CPU, wall-clock, file size, disk or output limit and was killed. */
  "resource_limit",
  /** A file a tool step needs (a put's file, an ffmpeg input) is not in the working directory. */
  "file_missing",
  /** The order's clip starts at or past the end of the input (Transcodely's code). */
  "input_clip_out_of_range",
  /** storage:put without overwrite found the object already there. */
  "object_exists",
  /** storage:check found an object present (FAIL_ON_PRESENCE) or missing (FAIL_ON_ABSENCE), or could not tell. */
  "check_failed",
  /** A `${NAME}` names no variable of the job's environment. */
  "variable_undefined",
  /** The normalised output's integrated loudness is more than 1 LU from the target. */
  "loudness_out_of_range",
  /** utils:tar: a member is a link, a device, an absolute path or leaves the directory; or the archive is unreadable. */
  "archive_refused",
  /** utils:rename: two files would get one name, or a new name is not a plain file name. */
  "rename_conflict",
  /** shaka:package_dash: an input has no stream its stream_selector names, or not one it can package (video, audio). */
  "stream_missing",
] as const;
export type FailureCode = (typeof failureCodes)[number];

export const inputMetadataSchema = z.object({
  duration_ms: z.number().int().nonnegative(),
  width: z.number().int().nonnegative().nullable(),
  height: z.number().int().nonnegative().nullable(),
  codec: z.string().nullable(),
  bitrate_kbps: z.number().int().nonnegative().nullable(),
  framerate: z.number().nonnegative().nullable(),
  file_size_bytes: z.number().int().nonnegative(),
  has_audio: z.boolean(),
  audio_codec: z.string().nullable(),
  rotation: z.number().int(),
});
export type InputMetadata = z.infer<typeof inputMetadataSchema>;

export const exportedFileSchema = z.object({
  path: z.string().min(1).max(1024),
  content_type: z.string(),
  size_bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ExportedFile = z.infer<typeof exportedFileSchema>;

/** What the complexity probe measured and what the encoder chose for each rung of a content-aware output. */
export const contentAwareDecisionSchema = z.object({
  mode: z.literal("per_title"),
  /** 0 (flat) to 100 (noise). */
  complexity: z.number().int().min(0).max(100),
  /** Bits per pixel per frame of the probe's fixed-CRF encode, the measure behind the score. */
  bits_per_pixel: z.number().nonnegative(),
  /** Wall time of the probe. */
  probe_ms: z.number().int().nonnegative(),
  variants: z.array(
    z.object({
      name: z.string(),
      codec: z.string(),
      width: z.number().int(),
      height: z.number().int(),
      /** The CRF encoded with; null for a variant with a target bitrate. */
      crf: z.number().int().nullable(),
      /** The peak-rate cap; null where none applies (a target bitrate, AV1). */
      maxrate_kbps: z.number().int().nullable(),
      /** False when the variant's own bitrate or crf was kept. */
      adjusted: z.boolean(),
    }),
  ),
});
export type ContentAwareDecision = z.infer<typeof contentAwareDecisionSchema>;

/** What the encoder verified about an output it made (ffprobe of the file, not the request). */
export const outputFactsSchema = z.object({
  output_id: id,
  /** The main file: the media file, or the master playlist of a package. */
  main: z.string(),
  /** An adaptive package's DASH manifest, beside its master playlist (`main`). */
  manifest: z.string().optional(),
  files: z.array(exportedFileSchema).min(1),
  size_bytes: z.number().int().nonnegative(),
  duration_ms: z.number().int().nonnegative().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  codec: z.string().nullable(),
  sha256: z.string(),
  /** A content-aware output's per-title decision; optional, like `manifest`, so older peers interoperate. */
  content_aware: contentAwareDecisionSchema.optional(),
});
export type OutputFacts = z.infer<typeof outputFactsSchema>;

const eventBase = {
  v: z.literal(CONTRACT_VERSION),
  job_id: id,
  attempt: z.number().int().min(1),
  /** Per-attempt sequence number, so the Worker can drop reordered duplicates. */
  seq: z.number().int().min(0),
  at: z.string().datetime(),
};
export const stageSchema = z.enum(["probe", "import", "encode", "export"]);

export const encoderEventSchema = z.discriminatedUnion("type", [
  z.object({ ...eventBase, type: z.literal("task_started"), stage: stageSchema, task_id: id.nullable() }),
  z.object({
    ...eventBase,
    type: z.literal("progress"),
    stage: stageSchema,
    task_id: id.nullable(),
    task_progress: z.number().min(0).max(100),
    job_progress: z.number().min(0).max(100),
  }),
  z.object({ ...eventBase, type: z.literal("metadata"), input_metadata: inputMetadataSchema }),
  z.object({
    ...eventBase,
    type: z.literal("task_completed"),
    stage: stageSchema,
    task_id: id.nullable(),
    output: outputFactsSchema.nullable(),
    /** The bytes a `storage:get` wrote to the working directory, for the job's usage; optional, so older encoders interoperate. */
    bytes_in: z.number().int().nonnegative().optional(),
  }),
  z.object({
    ...eventBase,
    type: z.literal("task_failed"),
    stage: stageSchema,
    task_id: id.nullable(),
    error: z.object({ code: z.enum(failureCodes), message: z.string().max(8192) }),
  }),
  z.object({ ...eventBase, type: z.literal("heartbeat"), job_progress: z.number().min(0).max(100) }),
  /**
   * Lines a task's process wrote (ffmpeg's stderr for `ffmpeg:cmd`), each stamped when
   * the encoder read it, in batches; the Worker keeps the last lines of each task.
   */
  z.object({
    ...eventBase,
    type: z.literal("task_log"),
    task_id: id,
    lines: z.array(z.object({ at: z.string().datetime(), text: z.string().max(2048) })).min(1).max(500),
  }),
  /**
   * The files a `storage:put` pattern matched, each with the output id the encoder gave it
   * (derived from the task and the name, so a later attempt names the same output); sent,
   * and delivered, before those files are signed for export.
   */
  z.object({
    ...eventBase,
    type: z.literal("outputs_discovered"),
    task_id: id,
    outputs: z.array(z.object({ output_id: id, file: toolFileNameSchema })).min(1).max(1000),
  }),
  /**
   * What a style job measured: at style_extraction the style it reports (the template's,
   * or the source's own without one) and, with a template, the source's; at rendering the
   * output's style and how far each dimension moved.
   */
  z.object({
    ...eventBase,
    type: z.literal("style_measured"),
    task_id: id,
    style_json: styleJsonSchema.optional(),
    source_style_json: styleJsonSchema.optional(),
    output_style_json: styleJsonSchema.optional(),
    comparison: z.array(styleComparisonSchema).optional(),
    /** Set when the source was shorter than the template's cut rhythm needs: rendering did not repeat shots, so the output is shorter. */
    shortened: z.object({ wanted_seconds: z.number().nonnegative(), rendered_seconds: z.number().nonnegative() }).optional(),
  }),
  /** A step that will not run: a storage:check (COMPLETE_ON_PRESENCE) ended the job before it. */
  z.object({ ...eventBase, type: z.literal("task_skipped"), task_id: id }),
  /** One file a tool pipeline's `storage:put` stored and verified: its output is complete. */
  z.object({ ...eventBase, type: z.literal("output_completed"), task_id: id, output: outputFactsSchema }),
  /**
   * A package published as ffmpeg writes it (publishedProgressively) has every variant's
   * first segment stored and its master playlist (`main`, as in the output's facts)
   * naming only stored files: it plays while the job runs. Sent once per output and
   * attempt. Added without a CONTRACT_VERSION bump: an older Worker refuses it (400),
   * which the encoder shrugs off, and the output is playable at completion as before.
   */
  z.object({ ...eventBase, type: z.literal("output_playable"), task_id: id, output_id: id, main: z.string().min(1).max(1024) }),
  z.object({ ...eventBase, type: z.literal("job_completed") }),
]);
export type EncoderEvent = z.infer<typeof encoderEventSchema>;

export const directiveSchema = z.object({ directive: z.enum(["continue", "cancel"]) });
export type Directive = z.infer<typeof directiveSchema>;

/**
 * Export: the encoder lists the files it made; the Worker answers with one upload plan
 * each. An encoder that sets `multipart` can upload a large file in parts; one that does
 * not (an older encoder) is only ever answered with single PUTs, so this stays version 1.
 */
export const signRequestSchema = z.object({
  job_id: id,
  attempt: z.number().int().min(1),
  multipart: z.boolean().default(false),
  files: z.array(z.object({ output_id: id, path: z.string().min(1).max(1024), content_type: z.string(), size_bytes: z.number().int().nonnegative() })).min(1).max(10_000),
});
export type SignRequest = z.infer<typeof signRequestSchema>;
export type SignRequestInput = z.input<typeof signRequestSchema>;

/** The most parts one multipart upload may have (S3's and R2's limit). */
export const MAX_UPLOAD_PARTS = 10_000;
const headers = z.record(z.string(), z.string()).default({});
const partNumber = z.number().int().min(1).max(MAX_UPLOAD_PARTS);

/** One PUT of the whole file. Entries from before multipart carry no `kind`. */
export const singleUploadSchema = z.object({ kind: z.literal("put").default("put"), path: z.string(), url, method: z.literal("PUT"), headers });

/**
 * The file in parts: PUT bytes [offset, offset + size_bytes) of the file to each part's
 * URL, keep each answer's ETag header, then POST {parts: [{part_number, etag}]} to
 * `complete_url` (or, giving up, POST to `abort_url`), both with the export token.
 */
export const multipartUploadSchema = z.object({
  kind: z.literal("multipart"),
  path: z.string(),
  /** The file's output, echoed in completion and abort so the Worker finds the file's place. */
  output_id: id,
  upload_id: z.string().min(1).max(1024),
  parts: z
    .array(z.object({ part_number: partNumber, url, offset: z.number().int().nonnegative(), size_bytes: z.number().int().positive() }))
    .min(1)
    .max(MAX_UPLOAD_PARTS),
  headers,
  complete_url: url,
  abort_url: url,
});
export type MultipartUpload = z.infer<typeof multipartUploadSchema>;

export const signResponseSchema = z.object({
  uploads: z.array(z.discriminatedUnion("kind", [singleUploadSchema, multipartUploadSchema])),
});
export type SignResponse = z.infer<typeof signResponseSchema>;
export type SignResponseInput = z.input<typeof signResponseSchema>;

const multipartTarget = {
  job_id: id,
  attempt: z.number().int().min(1),
  output_id: id,
  path: z.string().min(1).max(1024),
  upload_id: z.string().min(1).max(1024),
};

/** The encoder's word that every part is stored: the Worker assembles the object. */
export const multipartCompletionSchema = z.object({
  ...multipartTarget,
  parts: z.array(z.object({ part_number: partNumber, etag: z.string().min(1).max(256) })).min(1).max(MAX_UPLOAD_PARTS),
});
export type MultipartCompletion = z.infer<typeof multipartCompletionSchema>;
/** The assembled object, as the Worker stored it. */
export const multipartCompletedSchema = z.object({ path: z.string(), size_bytes: z.number().int().nonnegative() });

/** The encoder gave up on a multipart upload: the Worker drops its parts. */
export const multipartAbortSchema = z.object(multipartTarget);
export type MultipartAbort = z.infer<typeof multipartAbortSchema>;

// ---- probing an upload ----

/** The Worker asks the encoder to probe one file (an upload) without a job: `POST /probe`. */
export const probeRequestSchema = z.object({
  v: z.literal(CONTRACT_VERSION),
  url,
  limits: z
    .object({
      max_input_bytes: z.number().int().positive().default(10 * 1024 ** 3),
      connect_timeout_ms: z.number().int().positive().default(10_000),
      read_timeout_ms: z.number().int().positive().default(30_000),
    })
    .prefault({}),
});
export type ProbeRequest = z.infer<typeof probeRequestSchema>;
export type ProbeRequestInput = z.input<typeof probeRequestSchema>;

/** The input failures a probe can conclude with; anything else is the encoder's problem (5xx). */
export const uploadProbeFailureCodes = ["input_unreachable", "input_forbidden", "input_too_large", "input_unreadable"] as const satisfies readonly FailureCode[];
export type UploadProbeFailureCode = (typeof uploadProbeFailureCodes)[number];

export const probeResponseSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), metadata: inputMetadataSchema }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.enum(uploadProbeFailureCodes), message: z.string().max(8192) }) }),
]);
export type ProbeResponse = z.infer<typeof probeResponseSchema>;

// ---- the ffmpeg arguments of a tool run ----
//
// An allowlist, checked by the Worker when a job is created and again by the encoder
// before a run. It is defence in depth: the sandbox (no network, only the job's
// directory visible) is what contains a run; the allowlist refuses up front what no
// ordinary job needs: options and filters that open or write files or the network by
// name, and any path that is not a relative one inside the working directory. Anything
// not listed is refused.

/** Why a value is refused, or null. */
type ValueCheck = (value: string) => string | null;

const WORD = /^[A-Za-z0-9_.,:+*#|=/-]+$/;
const word: ValueCheck = (v) => (WORD.test(v) ? null : "is not a plain value");
const number: ValueCheck = (v) => (/^-?\d+(\.\d+)?$/.test(v) ? null : "is not a number");
const rate: ValueCheck = (v) => (/^\d+(\.\d+)?[kKMG]?$/.test(v) ? null : "is not a bit rate");
const time: ValueCheck = (v) => (/^-?(\d+:){0,2}\d+(\.\d+)?(s|ms|us)?$/.test(v) ? null : "is not a time");
const anyText: ValueCheck = () => null;
const between =
  (min: number, max: number): ValueCheck =>
  (v) =>
    /^-?\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? null : `is not a whole number from ${min} to ${max}`;
const oneOf =
  (...values: string[]): ValueCheck =>
  (v) =>
    values.includes(v) ? null : `is not one of ${values.join(", ")}`;
const matching =
  (pattern: RegExp, what: string): ValueCheck =>
  (v) =>
    pattern.test(v) ? null : `is not ${what}`;

/**
 * A file inside the working directory: relative, no `..`, no protocol (`file:` aside),
 * only characters file names and ffmpeg's patterns use (`%03d`, `$Number$`).
 */
const relativePath: ValueCheck = (v) => {
  const path = v.startsWith("file:") ? v.slice(5) : v;
  if (path.startsWith("/")) return "is an absolute path; only files in the working directory can be named";
  if (!/^[A-Za-z0-9._%$-]+(\/[A-Za-z0-9._%$-]+)*$/.test(path)) return "is not a plain relative path (a protocol, URL or unusual characters)";
  if (path.split("/").includes("..")) return "leaves the working directory (`..`)";
  if (path.startsWith("-")) return "looks like an option";
  return null;
};

/** `key=value:key=value` for x264/x265, with only keys that set encoding, never files. */
const encoderParams =
  (keys: readonly string[]): ValueCheck =>
  (v) => {
    for (const pair of v.split(":")) {
      const key = pair.split("=")[0]!;
      if (!keys.includes(key)) return `sets ${JSON.stringify(key)}, which tool runs may not set`;
    }
    return null;
  };
const X26X_PARAMS = [
  "keyint", "min-keyint", "keyint-min", "scenecut", "bframes", "b-adapt", "b-pyramid", "ref", "rc-lookahead", "aq-mode",
  "aq-strength", "open-gop", "no-open-gop", "crf", "qp", "bitrate", "vbv-maxrate", "vbv-bufsize", "level", "profile",
  "deblock", "psy-rd", "me", "subme", "merange", "trellis", "weightp", "colorprim", "transfer", "colormatrix", "range",
  "nal-hrd", "force-cfr", "slices", "log-level", "repeat-headers", "hdr-opt", "hdr10-opt", "master-display", "max-cll",
  "chromaloc", "aud", "sar", "no-scenecut", "strong-intra-smoothing", "sao", "no-sao", "rect", "amp", "tu-intra-depth",
  "tu-inter-depth", "limit-refs", "rd", "ctu", "min-cu-size", "pools", "frame-threads",
] as const;

/** Options that take no value. */
const FLAGS = new Set([
  "y", "n", "re", "shortest", "an", "vn", "sn", "dn", "hide_banner", "nostdin", "stats", "nostats", "copyts",
  "start_at_zero", "xerror", "ignore_unknown", "copy_unknown", "autorotate", "noautorotate", "accurate_seek",
  "noaccurate_seek", "benchmark",
]);

/** Options that take a value, and how it is checked; `-i`, `-f` and filter graphs are handled apart. */
const VALUE_OPTIONS: Record<string, ValueCheck> = {
  // codecs and rate control
  c: word, codec: word, vcodec: word, acodec: word, scodec: word,
  b: rate, ab: rate, maxrate: rate, minrate: rate, bufsize: rate,
  crf: number, qp: number, q: number, qscale: number, global_quality: number, qmin: number, qmax: number,
  g: number, keyint_min: number, bf: number, refs: number, sc_threshold: number, "rc-lookahead": number,
  preset: word, tune: word, profile: word, level: word, "x264-params": encoderParams(X26X_PARAMS),
  "x265-params": encoderParams(X26X_PARAMS), "aq-mode": number,
  deadline: word, quality: word, "cpu-used": number, "row-mt": number, "tile-columns": number, "tile-rows": number,
  "lag-in-frames": number, "auto-alt-ref": number, speed: number, lossless: number, compression_level: number,
  cutoff: number, application: word, vbr: word, frame_duration: number,
  force_key_frames: anyText, flags: word, strict: word, bsf: word, tag: word,
  // pictures and sound
  pix_fmt: word, r: word, framerate: word, s: word, video_size: word, aspect: word, vsync: word, fps_mode: word,
  ar: number, ac: number, sample_fmt: word, channel_layout: word,
  color_primaries: word, color_trc: word, colorspace: word, color_range: word,
  // what goes where
  map: matching(/^-?[A-Za-z0-9_:?#.[\]-]+$/, "a stream map"), map_metadata: matching(/^-?[0-9a-z:]+$/, "a metadata map"),
  map_chapters: number, metadata: anyText, disposition: word,
  // time and length
  ss: time, t: time, to: time, sseof: time, itsoffset: time,
  frames: number, vframes: number, aframes: number, dframes: number, fs: number,
  stream_loop: between(-1, 100), loop: number, final_delay: number,
  // containers
  movflags: word, brand: word, fflags: word, avoid_negative_ts: word, max_muxing_queue_size: number,
  frag_duration: number, write_tmcd: word, use_editlist: word,
  hls_time: number, hls_init_time: number, hls_list_size: number, hls_playlist_type: word, hls_segment_type: word,
  hls_flags: word, hls_segment_filename: relativePath, hls_fmp4_init_filename: relativePath, hls_base_url: word,
  master_pl_name: relativePath, var_stream_map: matching(/^[A-Za-z0-9_:, ]+$/, "a stream map of names and indexes"),
  start_number: number, strftime: number, strftime_mkdir: number,
  seg_duration: number, use_template: number, use_timeline: number, single_file: number, streaming: number,
  init_seg_name: relativePath, media_seg_name: relativePath, adaptation_sets: matching(/^[A-Za-z0-9_=, ]+$/, "a list of adaptation sets"),
  window_size: number, segment_time: word, segment_format: word, segment_list: relativePath, segment_list_type: word,
  reset_timestamps: number, update: number, pattern_type: oneOf("sequence", "none"),
  // the run itself
  threads: between(0, 64), filter_threads: between(0, 64), filter_complex_threads: between(0, 64),
  pass: between(1, 3), passlogfile: relativePath, loglevel: word, v: word,
  progress: matching(/^pipe:[12]$/, "pipe:1 or pipe:2"),
};

/** Options refused with a reason: each opens, writes or reaches something by a name the allowlist cannot contain. */
const REFUSED_OPTIONS: Record<string, string> = {
  attach: "attaches a file or URL it names",
  dump_attachment: "writes attachments to paths it names",
  filter_complex_script: "reads a filter graph from a file the allowlist cannot check",
  filter_script: "reads a filter graph from a file the allowlist cannot check",
  protocol_whitelist: "the runner sets which protocols an input may use",
  protocol_blacklist: "the runner sets which protocols an input may use",
  safe: "would let the concat demuxer open any path",
  hls_key_info_file: "names key files by path",
  hls_enc_key_url: "names keys by URL",
  sdp_file: "writes a file it names",
  vstats: "writes a file outside the job's control",
  vstats_file: "writes a file it names",
  report: "writes a log file outside the job's control",
  x264opts: "can name statistics files; use -x264-params",
  init_hw_device: "opens devices",
  hwaccel_device: "opens devices",
  filter_hw_device: "opens devices",
  stats_period: "floods the progress output",
};

/** Demuxers an input may name with `-f`; `lavfi` takes a filter graph as its input. */
const INPUT_FORMATS = new Set([
  "lavfi", "concat", "mov", "mp4", "matroska", "webm", "mpegts", "hls", "wav", "mp3", "aac", "flac", "ogg", "avi", "flv",
  "image2", "rawvideo", "s16le", "f32le", "u8", "h264", "hevc", "srt", "webvtt", "ass", "gif",
]);

/** Muxers an output may name with `-f`. */
const OUTPUT_FORMATS = new Set([
  "mp4", "mov", "matroska", "webm", "mpegts", "hls", "dash", "segment", "ssegment", "stream_segment", "image2", "gif",
  "webp", "apng", "mjpeg", "mp3", "adts", "flac", "wav", "ogg", "opus", "ipod", "3gp", "ismv", "avi", "flv", "null",
  "rawvideo", "h264", "hevc", "srt", "webvtt", "ass", "framemd5", "md5", "s16le", "f32le", "u8", "ffmetadata",
]);

/** How a filter that reads files takes them: by these option names, and positionally in this order. */
interface FileOptions {
  named: readonly string[];
  /** Its options in declaration order (ffmpeg fills positional values in that order); null where harmless. */
  positional: readonly (string | null)[];
}

const SUBTITLE_FILES: FileOptions = { named: ["filename", "f", "fontsdir"], positional: ["filename", null, "fontsdir"] };

/** The filters a graph may use: `true`, or the options through which it reads a file (relative paths only). */
const FILTERS: Record<string, true | FileOptions> = {
  drawtext: { named: ["fontfile", "textfile"], positional: ["fontfile", null, "textfile"] },
  subtitles: SUBTITLE_FILES,
  ass: SUBTITLE_FILES,
};
for (const name of [
  // geometry, format, timing
  "scale", "format", "aformat", "fps", "framerate", "setsar", "setdar", "setpts", "asetpts", "settb", "asettb", "crop", "pad",
  "transpose", "hflip", "vflip", "rotate", "trim", "atrim", "tpad", "apad", "split", "asplit", "concat", "overlay", "hstack",
  "vstack", "xstack", "null", "anull", "copy", "fifo", "afifo", "select", "aselect", "setparams", "setfield", "fieldorder",
  "yadif", "bwdif", "idet", "separatefields", "interlace", "telecine", "pullup", "decimate", "mpdecimate", "tile",
  "thumbnail", "zoompan", "loop", "aloop", "reverse", "areverse", "minterpolate", "framestep", "tblend", "blend",
  "xfade", "fade", "afade", "acrossfade", "scale2ref", "zscale", "colorspace", "tonemap", "premultiply", "unpremultiply",
  // colour and clean-up
  "eq", "hue", "curves", "colorbalance", "colorchannelmixer", "colorlevels", "lut", "lutrgb", "lutyuv", "negate",
  "unsharp", "hqdn3d", "nlmeans", "gblur", "boxblur", "smartblur", "deband", "deblock", "noise", "vignette", "fillborders",
  "drawbox", "drawgrid", "chromakey", "colorkey", "lumakey", "alphamerge", "alphaextract", "palettegen", "paletteuse",
  "histogram", "showinfo", "ashowinfo", "blackdetect", "blackframe", "cropdetect", "freezedetect", "scdet", "silencedetect",
  // sound
  "volume", "aresample", "amix", "amerge", "pan", "join", "channelsplit", "channelmap", "loudnorm", "dynaudnorm",
  "atempo", "asetnsamples", "asetrate", "silenceremove", "highpass", "lowpass", "bandpass", "equalizer", "bass", "treble",
  "acompressor", "alimiter", "aecho", "afftdn", "stereotools", "extrastereo", "ebur128", "astats", "volumedetect",
  "showwaves", "showwavespic", "showspectrum", "showspectrumpic", "showvolume",
  // sources (for -f lavfi inputs and graphs)
  "testsrc", "testsrc2", "smptebars", "smptehdbars", "color", "nullsrc", "anullsrc", "sine", "aevalsrc", "rgbtestsrc",
  "yuvtestsrc", "mandelbrot", "allrgb", "allyuv", "pal75bars", "pal100bars", "anoisesrc",
]) {
  FILTERS[name] = true;
}

const WHITESPACE = " \n\t\r";

/**
 * ffmpeg's av_get_token: skips leading whitespace, reads up to a terminator, drops
 * quotes and the backslash of an escape, trims trailing unescaped whitespace. Filter
 * graphs and filter options are unescaped with it, once each, so parsing with it sees
 * the names and values ffmpeg will see (`movie=\/abs`, `movie= /abs`, `'mo'vie`).
 */
function getToken(text: string, from: number, terms: string): { token: string; next: number } {
  let p = from;
  while (p < text.length && WHITESPACE.includes(text[p]!)) p++;
  let out = "";
  let kept = 0;
  while (p < text.length && !terms.includes(text[p]!)) {
    const c = text[p++]!;
    if (c === "\\" && p < text.length) {
      out += text[p++];
      kept = out.length;
    } else if (c === "'") {
      while (p < text.length && text[p] !== "'") out += text[p++];
      if (p < text.length) {
        p++;
        kept = out.length;
      }
    } else {
      out += c;
    }
  }
  let end = out.length;
  while (end > kept && WHITESPACE.includes(out[end - 1]!)) end--;
  return { token: out.slice(0, end), next: p };
}

/** The filters of a graph as ffmpeg's graph parser reads it: name (without `@instance`) and raw options. */
function parseGraph(graph: string): { name: string; options: string | null }[] | string {
  const filters: { name: string; options: string | null }[] = [];
  let p = 0;
  const skipSpace = () => {
    while (p < graph.length && WHITESPACE.includes(graph[p]!)) p++;
  };
  const labels = (): string | null => {
    while (graph[p] === "[") {
      const { token, next } = getToken(graph, p + 1, "]");
      if (!token || graph[next] !== "]") return "has a bad or unbalanced [label]";
      p = next + 1;
      skipSpace();
    }
    return null;
  };
  skipSpace();
  if (graph.startsWith("sws_flags=", p)) {
    const end = graph.indexOf(";", p);
    if (end < 0) return "has sws_flags without a ';'";
    p = end + 1;
  }
  for (;;) {
    skipSpace();
    const before = labels();
    if (before) return before;
    const name = getToken(graph, p, "=,;[");
    p = name.next;
    let options: string | null = null;
    if (graph[p] === "=") {
      const opts = getToken(graph, p + 1, "[],;");
      options = opts.token;
      p = opts.next;
    }
    filters.push({ name: name.token.split("@")[0]!, options });
    const after = labels();
    if (after) return after;
    skipSpace();
    const separator = graph[p++];
    if (separator === undefined) return filters;
    if (separator !== "," && separator !== ";") return "cannot be read as a filter graph";
  }
}

/**
 * A filter's options as ffmpeg's process_options assigns them: a `key=value` pair sets
 * that key; a bare value sets the filter's options in declaration order, an order that
 * starts again from the first option after every `key=value` pair.
 */
function filterOptionNames(options: string, positional: readonly (string | null)[]): { option: string | null | undefined; value: string }[] {
  const assigned: { option: string | null | undefined; value: string }[] = [];
  let slot = 0;
  let p = 0;
  while (p < options.length) {
    const key = /^[ \n\t\r]*([A-Za-z0-9_./-]*)[ \n\t\r]*=/.exec(options.slice(p));
    if (key) p += key[0].length;
    const { token, next } = getToken(options, p, ":");
    assigned.push({ option: key ? key[1] : positional[slot], value: token });
    slot = key ? 0 : slot + 1;
    p = next + 1;
  }
  return assigned;
}

function filterGraphProblem(graph: string): string | null {
  const parsed = parseGraph(graph);
  if (typeof parsed === "string") return `the filter graph ${parsed}`;
  for (const { name, options } of parsed) {
    const rule = FILTERS[name];
    if (!rule) return `the filter ${JSON.stringify(name)} is not one tool runs may use`;
    if (rule === true || options === null) continue;
    for (const { option, value } of filterOptionNames(options, rule.positional)) {
      if (option === undefined) return `${name} takes its options by name here (${name}=key=value:…)`;
      if (option === null || !rule.named.includes(option)) continue;
      const problem = relativePath(value);
      if (problem) return `${name}'s ${option} ${JSON.stringify(value)} ${problem}`;
    }
  }
  return null;
}

const GRAPH_OPTIONS = new Set(["vf", "af", "filter", "filter_complex", "lavfi"]);

/**
 * Why these `ffmpeg:cmd` arguments are refused, or null when every option, format,
 * filter and path in them is allowed. Options may carry stream specifiers
 * (`-c:v`, `-b:a:0`); inputs and outputs must be relative paths inside the working
 * directory; `-f lavfi` inputs and filter graphs may use only listed filters.
 */
export function toolArgumentsProblem(args: readonly string[]): string | null {
  // A -f applies to the next input or output.
  let format: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("-") || arg === "-") {
      if (format !== null && !OUTPUT_FORMATS.has(format)) return `-f ${format} is not an output format tool runs may use`;
      const named = format === "null" && (arg === "-" || arg === "/dev/null") ? null : relativePath(arg);
      if (named) return `the output ${JSON.stringify(arg)} ${named}`;
      format = null;
      continue;
    }
    const [name = "", ...specifier] = arg.slice(1).split(":");
    if (specifier.some((s) => !/^[A-Za-z0-9#._-]*$/.test(s))) return `${arg} has an unusual stream specifier`;
    const refused = REFUSED_OPTIONS[name];
    if (refused !== undefined) return `-${name} is not allowed: it ${refused}`;
    if (FLAGS.has(name)) continue;
    const check = name === "i" || name === "f" || GRAPH_OPTIONS.has(name) ? null : VALUE_OPTIONS[name];
    if (check === undefined) return `${arg} is not an option tool runs may use`;
    const value = args[++i];
    if (value === undefined) return `${arg} needs a value`;
    if (name === "f") {
      format = value;
    } else if (name === "i") {
      if (format !== null && !INPUT_FORMATS.has(format)) return `-f ${format} is not an input format tool runs may use`;
      const problem = format === "lavfi" ? filterGraphProblem(value) : relativePath(value);
      if (problem) return `the input ${JSON.stringify(value)}${format === "lavfi" ? ":" : ""} ${problem}`;
      format = null;
    } else if (check) {
      const problem = check(value);
      if (problem) return `${arg} ${JSON.stringify(value)} ${problem}`;
    } else {
      const problem = filterGraphProblem(value);
      if (problem) return `${arg} ${JSON.stringify(value)}: ${problem}`;
    }
  }
  return null;
}
