import { z } from "zod";
import { type OutputSpec, outputSpecSchema } from "../../api/schemas/outputs";
import { validationFailure } from "../../errors";
import { type NewPreset, checkPreset } from "../../presets/create";
import { enumField, int, requiredText, text } from "./proto-fields";

/*
 * Transcodely's CreatePresetRequest read as a Kiln preset: container and delivery format
 * become the output's type, VideoSettings and the variants become its video rungs (each
 * rung the shared settings with its own on top), AudioSettings its one audio track. The
 * output is then checked exactly as a /v1 preset's is, and each problem is reported at
 * the request field it came from. What Kiln's encoder has no setting for is refused by
 * name rather than dropped.
 */

const videoCodecs = ["h264", "h265", "vp9", "av1"] as const;
const resolutions = ["480p", "720p", "1080p", "1440p", "2160p", "4320p"] as const;
const qualities = ["economy", "standard", "premium"] as const;

/** Fields of VideoSettings and PresetVariant Kiln's encoder has no setting for. */
const UNOFFERED_VIDEO = ["max_bitrate_kbps", "buffer_size_kbps", "level", "keyint", "min_keyint", "bframes", "refs", "rc_lookahead", "aq_mode", "aq_strength", "psy_rd", "deblock"] as const;

const videoSettings = z.object({
  codec: enumField(videoCodecs),
  resolution: enumField(resolutions),
  width: int(),
  height: int(),
  framerate: int(),
  bitrate_mode: enumField(["crf", "cbr", "vbr"]),
  crf: int(),
  bitrate_kbps: int(),
  max_bitrate_kbps: int(),
  buffer_size_kbps: int(),
  profile: text(),
  level: text(),
  encoder_preset: text(),
  tune: text(),
  keyint: int(),
  min_keyint: int(),
  bframes: int(),
  refs: int(),
  rc_lookahead: int(),
  aq_mode: int(),
  aq_strength: z.number().optional(),
  psy_rd: text(),
  deblock: text(),
});

const presetVariant = z.object({
  resolution: enumField(resolutions),
  width: int(),
  height: int(),
  bitrate_kbps: int(),
  max_bitrate_kbps: int(),
  buffer_size_kbps: int(),
  crf: int(),
  quality: enumField(qualities),
  framerate: int(),
});

const audioSettings = z.object({
  codec: enumField(["aac", "opus", "mp3"]),
  bitrate_kbps: int(),
  sample_rate: int(),
  channels: int(),
  normalize: z.boolean().optional(),
});

const streamingConfig = z.looseObject({
  segment_duration_seconds: int(),
  hls_segment_format: enumField(["fmp4", "ts"]),
  hls_playlist_type: enumField(["vod", "event"]),
});

export const createPresetRequest = z.object({
  slug: requiredText("slug").pipe(z.string().regex(/^[a-z0-9_]{3,64}$/, "3–64 lowercase letters, digits and underscores")),
  name: requiredText("name").pipe(z.string().trim().min(1).max(100, "at most 100 characters")),
  description: text().pipe(z.string().trim().max(500, "at most 500 characters").optional()),
  content_type: enumField(["film", "animation", "grain", "gaming", "sports", "stillimage"]),
  container: enumField(["mp4", "webm", "mkv", "ts", "mov"]),
  faststart: z.boolean().optional(),
  delivery_format: enumField(["progressive", "hls", "dash", "cmaf"]),
  streaming: streamingConfig.optional(),
  segment_duration: int(),
  video: videoSettings.optional(),
  audio: audioSettings.optional(),
  quality_tier: enumField(qualities),
  variants: z.array(presetVariant).max(20).optional(),
  disable_audio: z.boolean().optional(),
  app_id: text(),
});
type CreatePresetRequest = z.infer<typeof createPresetRequest>;
type Path = (string | number)[];

/** The Kiln preset a request describes, or a validation failure listing every problem at its request field. */
export function nativePreset(request: CreatePresetRequest): NewPreset {
  const issues: { path: Path; message: string }[] = [];
  const refuse = (path: Path, message: string) => issues.push({ path, message });
  const output = outputOf(request, refuse);
  const preset = { slug: request.slug, name: request.name, description: request.description, output };
  const checked = z
    .object({ slug: z.string(), output: outputSpecSchema })
    .superRefine(checkPreset)
    .safeParse(preset);
  if (!checked.success) {
    // The output's rungs are the variants only for a streaming output; otherwise the one rung is `video`.
    const ladder = (request.variants?.length ?? 0) > 0 && ["hls", "dash", "adaptive"].includes(output.type ?? "");
    for (const issue of checked.error.issues) refuse(requestPath(issue.path as Path, request, ladder), issue.message);
  }
  if (issues.length > 0) throw validationFailure(new z.ZodError(issues.map((issue) => ({ code: "custom" as const, input: undefined, ...issue }))), "json");
  return { ...preset, output: checked.data!.output };
}

function outputOf(request: CreatePresetRequest, refuse: (path: Path, message: string) => void): OutputSpec {
  const video = request.video;
  if (request.content_type !== undefined) refuse(["content_type"], "Kiln has no content types; set video.tune for h264 or h265");
  if (request.disable_audio) refuse(["disable_audio"], "Kiln outputs always carry the source's audio when it has any");
  if (request.faststart === false && (request.container === "mp4" || request.container === "mov")) {
    refuse(["faststart"], "Kiln always writes MP4 and MOV files with the index first");
  }
  if (request.audio?.normalize) refuse(["audio", "normalize"], "Kiln does not normalize loudness");
  if (!video) refuse(["video"], "video is required");
  else {
    if (!video.codec) refuse(["video", "codec"], "video.codec is required: h264, h265, vp9 or av1");
    if (video.bitrate_mode === "cbr") refuse(["video", "bitrate_mode"], "Kiln encodes to a target bitrate with a peak cap (vbr), or by quality (crf); cbr is not offered");
    if (video.bitrate_mode === "vbr" && video.bitrate_kbps === undefined && !request.variants?.length) {
      refuse(["video", "bitrate_kbps"], "vbr needs bitrate_kbps");
    }
    for (const field of UNOFFERED_VIDEO) if (video[field] !== undefined) refuse(["video", field], `Kiln's encoder has no ${field} setting`);
  }
  request.variants?.forEach((variant, i) => {
    for (const field of ["max_bitrate_kbps", "buffer_size_kbps"] as const) {
      if (variant[field] !== undefined) refuse(["variants", i, field], `Kiln's encoder has no ${field} setting`);
    }
  });
  for (const [key, value] of Object.entries(request.streaming ?? {})) {
    if (!["segment_duration_seconds", "hls_segment_format", "hls_playlist_type"].includes(key) && value !== undefined && value !== "" && value !== 0 && value !== false) {
      refuse(["streaming", key], `Kiln does not offer streaming.${key}`);
    }
  }

  const type = typeOf(request, refuse);
  const streaming = type === "hls" || type === "dash" || type === "adaptive";
  if (!streaming && request.variants?.length) refuse(["variants"], "variants are only valid when delivery_format is hls, dash or cmaf");
  const codec = video?.codec ?? "h264";
  const shared: OutputSpec["video"] = [rung(codec, video ?? {}, request.quality_tier)];
  const rungs = streaming && request.variants?.length ? request.variants.map((variant) => rung(codec, { ...video, ...dimensions(video, variant), ...variant }, request.quality_tier)) : shared;
  const segmentType = request.streaming?.hls_segment_format ?? (type === "hls" && request.container === "ts" ? "ts" : undefined);
  const playlistType = request.streaming?.hls_playlist_type;
  const duration = request.streaming?.segment_duration_seconds ?? request.segment_duration;
  const audio = request.audio;
  return {
    type,
    video: rungs,
    ...(audio && (audio.codec || audio.bitrate_kbps || audio.sample_rate || audio.channels)
      ? {
          audio: [
            {
              codec: audio.codec ?? "aac",
              ...(audio.bitrate_kbps ? { bitrate: audio.bitrate_kbps } : {}),
              ...(audio.sample_rate ? { sample_rate: audio.sample_rate as 48000 } : {}),
              ...(audio.channels ? { channels: audio.channels } : {}),
            },
          ],
        }
      : {}),
    ...(segmentType || playlistType ? { hls: { ...(segmentType ? { segment_type: segmentType } : {}), ...(playlistType ? { playlist_type: playlistType } : {}) } } : {}),
    ...(duration !== undefined ? { segments: { duration } } : {}),
  } as OutputSpec;
}

/** A variant that gives its own size replaces the shared one whole (a resolution, or a width and height). */
function dimensions(video: CreatePresetRequest["video"], variant: NonNullable<CreatePresetRequest["variants"]>[number]) {
  const own = variant.resolution !== undefined || variant.width !== undefined || variant.height !== undefined;
  return own ? { resolution: undefined, width: undefined, height: undefined } : { resolution: video?.resolution, width: video?.width, height: video?.height };
}

type RungFields = Partial<NonNullable<CreatePresetRequest["video"]>> & { quality?: (typeof qualities)[number] };

function rung(codec: (typeof videoCodecs)[number], fields: RungFields, tier: CreatePresetRequest["quality_tier"]) {
  const options: Record<string, unknown> = {};
  if (fields.crf !== undefined) options.crf = fields.crf;
  if (fields.profile !== undefined) options.profile = fields.profile;
  if (fields.tune !== undefined) options.tune = fields.tune;
  if (fields.encoder_preset !== undefined) options.preset = codec === "av1" && /^\d+$/.test(fields.encoder_preset) ? Number(fields.encoder_preset) : fields.encoder_preset;
  const quality = fields.quality ?? tier;
  return {
    codec,
    ...(fields.resolution !== undefined ? { resolution: fields.resolution } : {}),
    ...(fields.width !== undefined ? { width: fields.width } : {}),
    ...(fields.height !== undefined ? { height: fields.height } : {}),
    ...(fields.framerate !== undefined ? { framerate: fields.framerate } : {}),
    ...(fields.bitrate_kbps !== undefined ? { bitrate: fields.bitrate_kbps } : {}),
    ...(quality !== undefined ? { quality } : {}),
    ...(Object.keys(options).length > 0 ? { [codec]: options } : {}),
  };
}

function typeOf(request: CreatePresetRequest, refuse: (path: Path, message: string) => void): OutputSpec["type"] {
  const container = request.container;
  if (!container) {
    refuse(["container"], "container is required: mp4, webm, mkv, ts or mov");
    return "mp4";
  }
  switch (request.delivery_format) {
    case "hls":
      if (container !== "mp4" && container !== "ts") refuse(["container"], "hls segments are mp4 (fMP4) or ts");
      return "hls";
    case "dash":
    case "cmaf":
      if (container !== "mp4") refuse(["container"], `${request.delivery_format} segments are mp4 (fMP4)`);
      return request.delivery_format === "dash" ? "dash" : "adaptive";
    default:
      if (container === "ts") {
        refuse(["container"], "Kiln writes TS only as HLS segments: set delivery_format hls");
        return "mp4";
      }
      return container;
  }
}

/** The request field a problem found in the built output came from. */
function requestPath(path: Path, request: CreatePresetRequest, ladder: boolean): Path {
  if (path[0] !== "output") return path;
  const [, part, rungIndex] = path;
  const last = path[path.length - 1];
  const name = typeof last === "string" && path.length > 3 ? last : undefined;
  const rename: Record<string, string> = { bitrate: "bitrate_kbps", preset: "encoder_preset" };
  switch (part) {
    case "type":
      return ["container"];
    case "video": {
      if (typeof rungIndex !== "number" || name === undefined) return [ladder ? "variants" : "video"];
      if (name === "codec") return ["video", "codec"];
      if (name === "quality") return ladder ? ["variants", rungIndex, "quality"] : ["quality_tier"];
      const perRung = ["resolution", "width", "height", "framerate", "bitrate", "crf"].includes(name);
      return ladder && perRung ? ["variants", rungIndex, rename[name] ?? name] : ["video", rename[name] ?? name];
    }
    case "audio":
      return name === undefined ? ["audio"] : ["audio", rename[name] ?? name];
    case "segments":
      return request.streaming?.segment_duration_seconds !== undefined ? ["streaming", "segment_duration_seconds"] : ["segment_duration"];
    case "hls":
      return request.streaming?.hls_segment_format !== undefined ? ["streaming", "hls_segment_format"] : ["container"];
    default:
      return path.slice(1);
  }
}
