import { z } from "zod";

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

/**
 * One step of a tool pipeline (VTK's `tasks[]`) as the encoder runs it, in order, in
 * one working directory: `storage:get` downloads each file from a URL the Worker made
 * (presigned for buckets) under its plain name; `ffmpeg:cmd` runs ffmpeg with the
 * user's arguments inside the sandbox; `storage:put` uploads each named file as the
 * job output the Worker planned for it, through the export signing route.
 */
export const toolStepSchema = z.discriminatedUnion("tool", [
  z.object({ tool: z.literal("storage:get"), task_id: id, files: z.array(z.object({ name: toolFileNameSchema, url })).min(1).max(100) }),
  z.object({ tool: z.literal("ffmpeg:cmd"), task_id: id, arguments: z.array(z.string().max(4096)).min(1).max(500) }),
  z.object({ tool: z.literal("storage:put"), task_id: id, files: z.array(z.object({ name: toolFileNameSchema, output_id: id })).min(1).max(100) }),
]);
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
 * `tools` runs a tool pipeline's steps. A style engine comes next.
 */
export const engines = ["transcode", "tools"] as const;
export type EngineName = (typeof engines)[number];

export const transcodeOrderSchema = z.object({
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

/** The engine field decides; an order without one is a transcode order. */
export const workOrderSchema = z.union([toolsOrderSchema, transcodeOrderSchema]);
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
  z.object({ ...eventBase, type: z.literal("task_completed"), stage: stageSchema, task_id: id.nullable(), output: outputFactsSchema.nullable() }),
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
  /** One file a tool pipeline's `storage:put` stored and verified: its output is complete. */
  z.object({ ...eventBase, type: z.literal("output_completed"), task_id: id, output: outputFactsSchema }),
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
