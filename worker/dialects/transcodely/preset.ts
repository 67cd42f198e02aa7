import type { OutputSpec } from "../../api/schemas/outputs";
import type { PresetView } from "../../presets/store";
import { timestamp } from "./proto-fields";

/*
 * A Kiln preset is an output spec (Transcodely's OutputSpec form, see
 * api/schemas/outputs.ts); Transcodely's Preset describes the same thing by container,
 * delivery format, shared video and audio settings and per-rung variants. This file
 * reads a Kiln preset as a Preset; preset-request.ts goes the other way.
 */

type Variant = NonNullable<OutputSpec["video"]>[number];
type CodecOptions = { profile?: string; preset?: string | number; crf?: number; tune?: string };

const containerOf = (output: OutputSpec): string => {
  switch (output.type) {
    case "hls":
      return output.hls?.segment_type === "ts" || output.drm?.scheme === "aes-128" ? "ts" : "mp4";
    case "dash":
    case "adaptive":
      return "mp4";
    default:
      return output.type ?? "unspecified";
  }
};

const deliveryOf = (output: OutputSpec): string =>
  output.type === "hls" || output.type === "dash" ? output.type : output.type === "adaptive" ? "cmaf" : output.type ? "progressive" : "unspecified";

const optionsOf = (variant: Variant | undefined): CodecOptions => (variant ? ((variant[variant.codec] as CodecOptions | undefined) ?? {}) : {});

/** VideoSettings: the codec and encoder options every rung shares; for a single file also its size, rate and bitrate. */
function videoSettings(variant: Variant | undefined, single: boolean) {
  const options = optionsOf(variant);
  const own = single ? variant : undefined;
  return {
    codec: variant?.codec ?? "unspecified",
    resolution: own?.resolution ?? "unspecified",
    width: own?.width ?? null,
    height: own?.height ?? null,
    framerate: own?.framerate ?? null,
    bitrate_mode: own?.bitrate !== undefined ? "vbr" : "crf",
    crf: single ? (options.crf ?? null) : null,
    bitrate_kbps: own?.bitrate ?? null,
    max_bitrate_kbps: null,
    buffer_size_kbps: null,
    profile: options.profile ?? null,
    level: null,
    encoder_preset: options.preset === undefined ? null : String(options.preset),
    tune: options.tune ?? null,
    keyint: null,
    min_keyint: null,
    bframes: null,
    refs: null,
    rc_lookahead: null,
    aq_mode: null,
    aq_strength: null,
    psy_rd: null,
    deblock: null,
  };
}

/** PresetVariant: one rung of a streaming ladder. */
function presetVariant(variant: Variant) {
  return {
    resolution: variant.resolution ?? "unspecified",
    width: variant.width ?? null,
    height: variant.height ?? null,
    bitrate_kbps: variant.bitrate ?? null,
    max_bitrate_kbps: null,
    buffer_size_kbps: null,
    crf: optionsOf(variant).crf ?? null,
    quality: variant.quality ?? null,
    framerate: variant.framerate ?? null,
  };
}

function audioSettings(output: OutputSpec) {
  const track = output.audio?.[0];
  if (!track) return null;
  return { codec: track.codec, bitrate_kbps: track.bitrate ?? 0, sample_rate: track.sample_rate ?? null, channels: track.channels ?? null, normalize: null };
}

/**
 * A Kiln preset (an organization's, or a built-in one as a system preset, which has no
 * id) as Transcodely's Preset, every field present. A file output's one variant is
 * `video`; a streaming output's rungs are `variants`, with `video` holding what they
 * share. Kiln keeps no content type, update time or price per minute.
 */
export function transcodelyPreset(preset: PresetView) {
  const output = preset.output as OutputSpec;
  const variants = output.video ?? [];
  const single = output.type !== "hls" && output.type !== "dash" && output.type !== "adaptive";
  const created = timestamp(preset.created_at);
  return {
    id: preset.id ?? "",
    app_id: "",
    slug: preset.slug,
    name: preset.name,
    description: preset.description,
    content_type: "unspecified",
    container: containerOf(output),
    faststart: output.type === "mp4" || output.type === "mov",
    delivery_format: deliveryOf(output),
    segment_duration: output.segments?.duration ?? null,
    video: videoSettings(variants[0], single),
    audio: audioSettings(output),
    quality_tier: variants[0]?.quality ?? "unspecified",
    estimated_cost_per_minute: null,
    system_preset: preset.builtin,
    created_at: created,
    updated_at: created,
    variants: single ? [] : variants.map(presetVariant),
    disable_audio: false,
  };
}
