/**
 * Transcodely's JSON writes an enum as its value name without the type's prefix, in
 * lower case (`RESOLUTION_1080P` → `"1080p"`), and accepts either form on input. The
 * prefix is the enum type's name in SCREAMING_SNAKE_CASE (`HLSSegmentFormat` →
 * `HLS_SEGMENT_FORMAT_`); these are the types of transcodely-js `proto/transcodely/v1/*.proto`
 * (c87e6a1) that the jobs, origins and presets services carry, longest first so a
 * prefix never shadows a longer one that starts with it.
 */
const ENUM_PREFIXES = [
  "JOB_STATUS_",
  "OUTPUT_STATUS_",
  "JOB_PRIORITY_",
  "WATCH_EVENT_TYPE_",
  "JOB_COST_LINE_TYPE_",
  "VIDEO_CODEC_",
  "AUDIO_CODEC_",
  "CONTAINER_",
  "RESOLUTION_",
  "QUALITY_TIER_",
  "OUTPUT_FORMAT_",
  "CONTENT_TYPE_",
  "DELIVERY_FORMAT_",
  "BITRATE_MODE_",
  "CONTENT_AWARE_MODE_",
  "DRM_SYSTEM_",
  "ENCRYPTION_SCHEME_",
  "HDR_FORMAT_",
  "HDR_MODE_",
  "TONE_MAPPING_",
  "ORIGIN_PROVIDER_",
  "ORIGIN_PERMISSION_",
  "ORIGIN_STATUS_",
  "R2_JURISDICTION_",
  "HLS_SEGMENT_FORMAT_",
  "HLS_PLAYLIST_TYPE_",
  "GOP_ALIGNMENT_MODE_",
  "SUBTITLE_OPERATION_",
  "SUBTITLE_FORMAT_",
  "THUMBNAIL_MODE_",
  "THUMBNAIL_FORMAT_",
  "WATERMARK_ANCHOR_",
].sort((a, b) => b.length - a.length);

/** One value: a full enum name made simple; anything else unchanged. */
export function simplifyEnum(value: string): string {
  if (!/^[A-Z][A-Z0-9_]*$/.test(value)) return value;
  const prefix = ENUM_PREFIXES.find((p) => value.startsWith(p) && value.length > p.length);
  return prefix ? value.slice(prefix.length).toLowerCase() : value;
}

/** Fields whose values are the caller's own strings (`map<string, string>`), never enums. */
const USER_MAPS = new Set(["metadata"]);

/**
 * A request body with every full enum name, at any depth, made simple, so one schema
 * reads both forms. The values of user maps (`metadata`) are left as written.
 */
export function simplifyEnums(value: unknown): unknown {
  if (typeof value === "string") return simplifyEnum(value);
  if (Array.isArray(value)) return value.map(simplifyEnums);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, USER_MAPS.has(k) ? v : simplifyEnums(v)]));
  }
  return value;
}
