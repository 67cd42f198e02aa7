import { z } from "@hono/zod-openapi";
import { fps, quality, refineCommon, seconds, visualOptions } from "./media-options";

/**
 * Ittybit's five kinds with every option in its table. A kind job is the simplest
 * native form: one input, one output, planned as probe → import → <kind> → export.
 */
export const videoContainerCodecs = {
  mp4: ["h264", "h265", "av1"],
  webm: ["vp9", "av1"],
  mov: ["h264", "h265"],
} as const;
export const defaultVideoCodec = { mp4: "h264", webm: "vp9", mov: "h264" } as const;

const videoOptions = z
  .strictObject({
    format: z.enum(["mp4", "webm", "mov"]).optional(),
    codec: z.enum(["h264", "h265", "vp9", "av1"]).optional(),
    ...visualOptions,
    fps: fps.optional(),
    bitrate: z.number().int().min(300_000).max(60_000_000).optional(),
    start: seconds.optional(),
    end: seconds.optional(),
  })
  .superRefine((value, ctx) => {
    refineCommon(value, ctx);
    const format = value.format ?? "mp4";
    if (value.codec && !(videoContainerCodecs[format] as readonly string[]).includes(value.codec)) {
      ctx.addIssue({
        code: "custom",
        path: ["codec"],
        params: { code: "invalid_codec" },
        message: `${value.codec} cannot be stored in ${format}; ${format} takes ${videoContainerCodecs[format].join(", ")}`,
      });
    }
  });

const audioOptions = z
  .strictObject({
    format: z.enum(["mp3", "aac", "ogg", "opus", "wav", "flac"]).optional(),
    quality: quality.optional(),
    bitrate: z.number().int().min(32_000).max(320_000).optional(),
    start: seconds.optional(),
    end: seconds.optional(),
  })
  .superRefine(refineCommon);

const imageOptions = z
  .strictObject({
    format: z.enum(["jpeg", "png", "webp", "avif"]).optional(),
    ...visualOptions,
    start: seconds.optional(),
  })
  .superRefine(refineCommon);

const animationOptions = z
  .strictObject({
    format: z.enum(["gif", "webp"]).optional(),
    ...visualOptions,
    start: seconds.optional(),
    end: seconds,
    fps: fps.optional(),
  })
  .superRefine(refineCommon);

const adaptiveVideoOptions = z
  .strictObject({
    format: z.enum(["hls"]).optional(),
    ...visualOptions,
    start: seconds.optional(),
    end: seconds.optional(),
  })
  .superRefine(refineCommon);

export const kindOptionSchemas = {
  video: videoOptions,
  audio: audioOptions,
  image: imageOptions,
  animation: animationOptions,
  adaptive_video: adaptiveVideoOptions,
} as const;

export const kinds = Object.keys(kindOptionSchemas) as (keyof typeof kindOptionSchemas)[];
export type Kind = keyof typeof kindOptionSchemas;
export const kindSchema = z.enum(["video", "audio", "image", "animation", "adaptive_video"]);
export type KindOptions = z.infer<(typeof kindOptionSchemas)[Kind]>;

export const defaultKindFormat: Record<Kind, string> = {
  video: "mp4",
  audio: "mp3",
  image: "jpeg",
  animation: "gif",
  adaptive_video: "hls",
};
