import { z } from "@hono/zod-openapi";
import { type OutputType, outputTypes, streamingOutputTypes, videoCodecsByType } from "../../../encoder/contract";
import { pathTemplate } from "./path-template";

/**
 * Transcodely's OutputSpec: one output (a file or a stream package) with 1–20 video
 * variants and up to 8 audio tracks. Several variants in one output form a ladder.
 */

const audioCodecsByType: Record<OutputType, readonly string[]> = {
  mp4: ["aac", "mp3", "opus", "flac", "ac3", "eac3"],
  webm: ["opus"],
  mkv: ["aac", "mp3", "opus", "flac", "ac3", "eac3"],
  mov: ["aac", "mp3"],
  hls: ["aac", "mp3", "ac3", "eac3"],
  dash: ["aac", "opus", "ac3", "eac3"],
  adaptive: ["aac", "ac3", "eac3"],
};

const x26xPreset = z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]);
const codecOptions = {
  h264: z.strictObject({
    profile: z.enum(["baseline", "main", "high"]).optional(),
    preset: x26xPreset.optional(),
    crf: z.number().int().min(0).max(51).optional(),
    tune: z.enum(["film", "animation", "grain", "stillimage", "fastdecode", "zerolatency"]).optional(),
  }),
  h265: z.strictObject({
    profile: z.enum(["main", "main10"]).optional(),
    preset: x26xPreset.optional(),
    crf: z.number().int().min(0).max(51).optional(),
    tune: z.enum(["psnr", "ssim", "grain", "fastdecode", "zerolatency", "animation"]).optional(),
  }),
  vp9: z.strictObject({
    crf: z.number().int().min(0).max(63).optional(),
    speed: z.number().int().min(0).max(8).optional(),
  }),
  av1: z.strictObject({
    crf: z.number().int().min(0).max(63).optional(),
    preset: z.number().int().min(0).max(13).optional(),
  }),
};
const videoCodec = z.enum(["h264", "h265", "vp9", "av1"]);

export const videoVariantSchema = z
  .strictObject({
    codec: videoCodec,
    resolution: z.enum(["480p", "720p", "1080p", "1440p", "2160p", "4320p"]).optional(),
    quality: z.enum(["economy", "standard", "premium"]).optional(),
    framerate: z.number().int().min(0).max(240).optional(),
    width: z.number().int().min(128).max(7680).optional(),
    height: z.number().int().min(128).max(4320).optional(),
    bitrate: z.number().int().min(100).max(240_000).optional().openapi({ description: "kbps" }),
    h264: codecOptions.h264.optional(),
    h265: codecOptions.h265.optional(),
    vp9: codecOptions.vp9.optional(),
    av1: codecOptions.av1.optional(),
  })
  .superRefine((variant, ctx) => {
    if (variant.resolution !== undefined && (variant.width !== undefined || variant.height !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["resolution"], message: "give resolution or width/height, not both" });
    }
    for (const name of videoCodec.options) {
      if (name !== variant.codec && variant[name] !== undefined) {
        ctx.addIssue({ code: "custom", path: [name], message: `${name} options only apply to codec ${name}` });
      }
    }
  });

type AudioCodec = "aac" | "opus" | "mp3" | "flac" | "ac3" | "eac3";
/** What each audio encoder accepts (ffmpeg 5.1's aac, libopus, libmp3lame, flac, ac3, eac3); bitrates in kbps. */
const audioLimits: Record<AudioCodec, { bitrate: [number, number] | null; maxChannels: number; sampleRates: readonly number[] }> = {
  aac: { bitrate: [32, 512], maxChannels: 8, sampleRates: [22050, 32000, 44100, 48000, 96000] },
  opus: { bitrate: [8, 510], maxChannels: 8, sampleRates: [48000] },
  mp3: { bitrate: [32, 320], maxChannels: 2, sampleRates: [22050, 32000, 44100, 48000] },
  flac: { bitrate: null, maxChannels: 8, sampleRates: [22050, 32000, 44100, 48000, 96000] },
  ac3: { bitrate: [32, 640], maxChannels: 6, sampleRates: [32000, 44100, 48000] },
  eac3: { bitrate: [32, 1536], maxChannels: 6, sampleRates: [32000, 44100, 48000] },
};

export const audioTrackSchema = z
  .strictObject({
    codec: z.enum(["aac", "opus", "mp3", "flac", "ac3", "eac3"]).default("aac"),
    bitrate: z.number().int().min(8).max(1536).optional().openapi({ description: "kbps" }),
    channels: z.number().int().min(1).max(8).optional(),
    sample_rate: z.union([z.literal(22050), z.literal(32000), z.literal(44100), z.literal(48000), z.literal(96000)]).optional(),
    language: z.string().regex(/^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*$/, "a BCP 47 language tag").optional(),
    label: z.string().min(1).max(64).optional(),
    default: z.boolean().optional(),
  })
  .superRefine((track, ctx) => {
    const limits = audioLimits[track.codec];
    if (track.bitrate !== undefined) {
      if (!limits.bitrate) ctx.addIssue({ code: "custom", path: ["bitrate"], message: `${track.codec} is lossless and takes no bitrate` });
      else if (track.bitrate < limits.bitrate[0] || track.bitrate > limits.bitrate[1]) {
        ctx.addIssue({ code: "custom", path: ["bitrate"], message: `${track.codec} bitrate must be ${limits.bitrate[0]}–${limits.bitrate[1]} kbps` });
      }
    }
    if (track.channels !== undefined && track.channels > limits.maxChannels) {
      ctx.addIssue({ code: "custom", path: ["channels"], message: `${track.codec} carries at most ${limits.maxChannels} channels` });
    }
    if (track.sample_rate !== undefined && !limits.sampleRates.includes(track.sample_rate)) {
      ctx.addIssue({ code: "custom", path: ["sample_rate"], message: `${track.codec} takes sample rates ${limits.sampleRates.join(", ")}` });
    }
  });

const subtitleTrackSchema = z.strictObject({
  source: z
    .string()
    .url()
    .max(2048)
    .regex(/^(?:https?|s3|gs):\/\//i, "an http(s), s3:// or gs:// URL, like input"),
  format: z.enum(["vtt", "srt"]).optional(),
  language: z.string().regex(/^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*$/, "a BCP 47 language tag"),
  label: z.string().min(1).max(64).optional(),
  default: z.boolean().optional(),
});

/**
 * Transcodely's ContentAwareConfig. Kiln does per-title only: a complexity probe of the
 * input moves each rung's CRF and peak-rate cap (encoder/ffmpeg/complexity.ts). Auto
 * ABR (a generated ladder) and VMAF targets are not offered: Kiln measures no VMAF, so
 * it does not accept a promise about one.
 */
const contentAwareSchema = z
  .strictObject({
    mode: z.enum(["per_title", "auto_abr"]),
  })
  .superRefine((config, ctx) => {
    if (config.mode === "auto_abr") ctx.addIssue({ code: "custom", path: ["mode"], message: "auto_abr is not supported; use per_title, which adjusts the ladder you give" });
  })
  .openapi({ description: "Per-title encoding: a short complexity probe of the input picks each rung's CRF and peak-rate cap" });

const hex16Bytes = z
  .string()
  .regex(/^[0-9a-fA-F]{32}$/, "16 bytes as 32 hex digits");

/**
 * Encryption of a streaming output. `aes-128`: HLS with TS segments encrypted whole, the
 * key served by Kiln. `cenc`: DASH or adaptive (CMAF) with Common Encryption
 * (cenc-aes-ctr) and ClearKey; key id and key are generated unless given.
 */
const drmSchema = z.discriminatedUnion("scheme", [
  z.strictObject({ scheme: z.literal("aes-128") }),
  z.strictObject({
    scheme: z.literal("cenc"),
    key_id: hex16Bytes.optional().openapi({ description: "The KID; generated when absent" }),
    key: hex16Bytes.optional().openapi({ description: "The content key; generated when absent. Never shown again" }),
  }),
]);

export const outputSpecSchema = z
  .strictObject({
    type: z.enum(outputTypes).optional(),
    video: z.array(videoVariantSchema).min(1).max(20).optional(),
    audio: z.array(audioTrackSchema).max(8).optional(),
    hls: z
      .strictObject({
        segment_type: z.enum(["fmp4", "ts"]).optional(),
        playlist_type: z.enum(["vod", "event"]).optional(),
        version: z.number().int().min(3).max(10).optional(),
      })
      .optional(),
    dash: z.strictObject({ profile: z.enum(["on-demand", "live"]).optional() }).optional(),
    segments: z.strictObject({ duration: z.number().min(1).max(30) }).optional(),
    path_template: pathTemplate.refine((t) => t.length <= 512, "at most 512 characters").optional(),
    preset: z
      .string()
      .regex(/^(?:pst_[a-z0-9]{1,40}|[a-z0-9_]{1,64})$/, "a preset id (pst_…) or slug")
      .optional(),
    subtitle_tracks: z.array(subtitleTrackSchema).max(8).optional(),
    content_aware: contentAwareSchema.optional(),

    drm: drmSchema.optional(),
  })
  .superRefine((output, ctx) => {
    if (output.preset === undefined) {
      if (output.type === undefined) ctx.addIssue({ code: "custom", path: ["type"], message: "type is required unless a preset is given" });
      if (output.video === undefined) ctx.addIssue({ code: "custom", path: ["video"], message: "video is required unless a preset is given" });
    }
    // Per-title picks every rung's rate control; a rung's own bitrate or crf would quietly override it.
    if (output.content_aware) {
      output.video?.forEach((variant, i) => {
        if (variant.bitrate !== undefined) {
          ctx.addIssue({ code: "custom", path: ["video", i, "bitrate"], message: "content_aware picks each rung's rate; drop bitrate or content_aware" });
        }
        if (variant[variant.codec]?.crf !== undefined) {
          ctx.addIssue({ code: "custom", path: ["video", i, variant.codec, "crf"], message: "content_aware picks each rung's CRF; drop crf or content_aware" });
        }
      });
    }
    const type = output.type;
    if (!type) return;
    output.video?.forEach((variant, i) => {
      if (!videoCodecsByType[type].includes(variant.codec)) {
        ctx.addIssue({
          code: "custom",
          path: ["video", i, "codec"],
          params: { code: "invalid_codec" },
          message: `${variant.codec} cannot be packaged as ${type}; ${type} takes ${videoCodecsByType[type].join(", ")}`,
        });
      }
    });
    output.audio?.forEach((track, i) => {
      if (!audioCodecsByType[type].includes(track.codec)) {
        ctx.addIssue({
          code: "custom",
          path: ["audio", i, "codec"],
          params: { code: "invalid_codec" },
          message: `${track.codec} audio cannot be packaged as ${type}; ${type} takes ${audioCodecsByType[type].join(", ")}`,
        });
      }
    });
    const streaming = streamingOutputTypes.includes(type);
    if (!streaming) {
      for (const field of ["hls", "dash", "segments", "subtitle_tracks", "drm"] as const) {
        if (output[field] !== undefined) {
          ctx.addIssue({ code: "custom", path: [field], message: `${field} is only valid for streaming types (hls, dash, adaptive)` });
        }
      }
      if ((output.video?.length ?? 0) > 1) {
        ctx.addIssue({ code: "custom", path: ["video"], message: `a ${type} file holds one video variant; use hls, dash or adaptive for a ladder` });
      }
      if ((output.audio?.length ?? 0) > 1) {
        ctx.addIssue({ code: "custom", path: ["audio"], message: `several audio tracks need a streaming type (hls, dash, adaptive)` });
      }
    }
    if (output.hls && type === "dash") ctx.addIssue({ code: "custom", path: ["hls"], message: "hls options are not valid for a dash output" });
    checkDrm(output, type, ctx);
    // ffmpeg 5.1's hls muxer encrypts TS segments only, so AES-128 means TS.
    const ts = output.hls?.segment_type === "ts" || output.drm?.scheme === "aes-128";
    if (ts && type === "adaptive") {
      ctx.addIssue({ code: "custom", path: ["hls", "segment_type"], message: "adaptive packages share fMP4 (CMAF) segments between HLS and DASH; use type hls for TS segments" });
    }
    if (ts) {
      output.video?.forEach((variant, i) => {
        if (variant.codec === "av1") ctx.addIssue({ code: "custom", path: ["video", i, "codec"], params: { code: "invalid_codec" }, message: "av1 cannot be carried in TS segments; use fMP4" });
      });
    }
    // fMP4 playlists need version 7 (EXT-X-MAP in every variant); TS ones work from version 3.
    if (output.hls?.version !== undefined && !ts && output.hls.version < 7 && streaming) {
      ctx.addIssue({ code: "custom", path: ["hls", "version"], message: "fMP4 segments need HLS version 7 or later; use segment_type ts for older players" });
    }
    if (output.dash && type === "hls") ctx.addIssue({ code: "custom", path: ["dash"], message: "dash options are not valid for an hls output" });
  });
export type OutputSpec = z.infer<typeof outputSpecSchema>;

type Ctx = z.RefinementCtx;

/** Which outputs each scheme can protect (the encoder checks the same). */
function checkDrm(output: { drm?: z.infer<typeof drmSchema>; hls?: { segment_type?: string }; dash?: { profile?: string }; video?: { codec: string }[] }, type: OutputType, ctx: Ctx): void {
  const drm = output.drm;
  if (!drm || !streamingOutputTypes.includes(type)) return;
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, params: { code: "invalid_drm" }, message });
  if (drm.scheme === "aes-128") {
    if (type === "adaptive") issue(["drm", "scheme"], "adaptive packages share CMAF segments between HLS and DASH, which only CENC can protect; use scheme cenc, or type hls for aes-128");
    else if (type === "dash") issue(["drm", "scheme"], "aes-128 encrypts HLS segments; dash takes scheme cenc");
    else if (output.hls?.segment_type === "fmp4") issue(["hls", "segment_type"], "aes-128 encrypts TS segments (ffmpeg cannot encrypt fMP4 HLS segments); use segment_type ts or leave it out");
    return;
  }
  if (type === "hls") issue(["drm", "scheme"], "cenc protects DASH and CMAF (type dash or adaptive); hls takes scheme aes-128");
  if (output.dash?.profile === "on-demand") issue(["dash", "profile"], "cenc needs the live DASH profile (a file per segment)");
  output.video?.forEach((variant, i) => {
    if (variant.codec !== "h264" && variant.codec !== "h265") issue(["video", i, "codec"], `cenc protects h264 and h265 video, not ${variant.codec}`);
  });
}
