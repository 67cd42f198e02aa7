/**
 * Transcodely's JSON writes an enum as its value name without the type's prefix, in
 * lower case (`RESOLUTION_1080P` → `"1080p"`), and accepts either form on input. These
 * are the prefixes of its enum types, longest first so `JOB_STATUS_` wins over `JOB_`.
 */
const ENUM_PREFIXES = [
  "WATCH_EVENT_TYPE_",
  "DELIVERY_FORMAT_",
  "OUTPUT_FORMAT_",
  "OUTPUT_STATUS_",
  "ORIGIN_PROVIDER_",
  "ORIGIN_STATUS_",
  "ORIGIN_PERMISSION_",
  "CONTENT_TYPE_",
  "BITRATE_MODE_",
  "JOB_PRIORITY_",
  "QUALITY_TIER_",
  "VIDEO_CODEC_",
  "AUDIO_CODEC_",
  "JOB_STATUS_",
  "RESOLUTION_",
  "CONTAINER_",
  "PRIORITY_",
].sort((a, b) => b.length - a.length);

/** One value: a full enum name made simple; anything else unchanged. */
export function simplifyEnum(value: string): string {
  if (!/^[A-Z][A-Z0-9_]*$/.test(value)) return value;
  const prefix = ENUM_PREFIXES.find((p) => value.startsWith(p) && value.length > p.length);
  return prefix ? value.slice(prefix.length).toLowerCase() : value;
}

/** A request body with every full enum name, at any depth, made simple, so one schema reads both forms. */
export function simplifyEnums(value: unknown): unknown {
  if (typeof value === "string") return simplifyEnum(value);
  if (Array.isArray(value)) return value.map(simplifyEnums);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, simplifyEnums(v)]));
  }
  return value;
}
