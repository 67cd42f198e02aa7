import { streamingOutputTypes } from "../../../encoder/contract";
import { type CreateJobRequest, createJobRequestSchema } from "../../api/schemas/create-job";
import { type FieldViolation, invalidArgument } from "./connect";
import type { Message } from "./message";

/**
 * Transcodely's CreateJobRequest → the native create request. The native schema already
 * speaks Transcodely's OutputSpec, so most fields pass as they are; this renames the few
 * that differ, refuses by name what Kiln cannot do (rather than ignoring it), and
 * reports every problem at once: its own and the native schema's, each at the field
 * path the caller wrote (`outputs[0].video[0].codec`).
 */

type Path = (string | number)[];
type Refuse = (path: Path, description: string) => void;

/** `["outputs", 0, "video", 0, "codec"]` → `outputs[0].video[0].codec`; a map key as `metadata["key"]`. */
export function formatPath(path: Path, mapKeyAt = -1): string {
  return path.reduce<string>((out, part, i) => {
    if (typeof part === "number") return `${out}[${part}]`;
    if (i === mapKeyAt) return `${out}[${JSON.stringify(part)}]`;
    return out ? `${out}.${part}` : part;
  }, "");
}

const isObject = (value: unknown): value is Message => value !== null && typeof value === "object" && !Array.isArray(value);

const REQUEST_FIELDS = new Set([
  "input_url",
  "input_origin_id",
  "input_path",
  "input_video_id",
  "output_origin_id",
  "managed",
  "outputs",
  "priority",
  "thumbnails",
  "webhook_url",
  "idempotency_key",
  "metadata",
  "delayed_start",
  "output_path_template",
  "clip",
  "app_id",
]);

/** JobPriority's numbers, which protojson also accepts for an enum. */
const PRIORITY_NUMBERS: Record<number, string> = { 1: "economy", 2: "standard", 3: "premium" };

/** Transcodely names the output type `{type}` in path templates; Kiln calls it `{format}`. */
const template = (value: unknown) => (typeof value === "string" ? value.replaceAll("{type}", "{format}") : value);

/** The native create request for a CreateJobRequest, or invalid_argument listing every violation. */
export function createJobRequest(message: Message): CreateJobRequest {
  const violations: FieldViolation[] = [];
  const refuse: Refuse = (path, description) => violations.push({ field: formatPath(path), description });
  const native: Message = {};

  for (const key of Object.keys(message)) if (!REQUEST_FIELDS.has(key)) refuse([key], "unknown field");

  const sources = (["input_url", "input_origin_id", "input_video_id"] as const).filter((k) => message[k] !== undefined);
  if (sources.length === 0) refuse(["input_url"], "one of input_url, input_origin_id or input_video_id is required");
  if (sources.length > 1) refuse([sources[1]!], `give one of input_url, input_origin_id or input_video_id, not ${sources.join(" and ")}`);
  const inputUrl = message.input_url;
  if (inputUrl !== undefined) {
    if (typeof inputUrl !== "string" || !/^(gs|s3|https?):\/\/./.test(inputUrl) || inputUrl.length > 2048) {
      refuse(["input_url"], "a gs://, s3:// or https:// URL of at most 2048 characters");
    } else native.input = inputUrl;
  }
  // Kiln's uploads are `vid_…` ids, so a hosted video's id names an upload.
  const videoId = message.input_video_id;
  if (videoId !== undefined) {
    if (typeof videoId !== "string" || !/^vid_[a-zA-Z0-9_-]{1,28}$/.test(videoId)) refuse(["input_video_id"], "an upload id (vid_…)");
    else native.input = videoId;
  }
  for (const key of ["input_origin_id", "input_path", "output_origin_id", "webhook_url", "idempotency_key", "delayed_start"] as const) {
    if (message[key] !== undefined) native[key] = message[key];
  }
  if (message.output_path_template !== undefined) native.output_path_template = template(message.output_path_template);

  const managed = message.managed;
  if (managed !== undefined && typeof managed !== "boolean") refuse(["managed"], "a boolean");
  if (managed === true && message.output_origin_id !== undefined) refuse(["managed"], "give output_origin_id or managed: true, not both");
  if (managed !== true && message.output_origin_id === undefined && videoId === undefined) {
    refuse(["output_origin_id"], "output_origin_id is required unless managed is true");
  }

  const priority = message.priority;
  if (priority !== undefined) {
    const name = typeof priority === "number" ? PRIORITY_NUMBERS[priority] : priority;
    if (name === undefined || typeof name !== "string") refuse(["priority"], "economy, standard or premium");
    else native.priority = name;
  }

  checkMetadata(message.metadata, refuse);
  if (isObject(message.metadata)) native.metadata = message.metadata;

  const clip = message.clip;
  if (clip !== undefined) {
    if (!isObject(clip)) refuse(["clip"], "a ClipConfig {start_seconds, end_seconds}");
    // An end at 0 was dropped as unset, so {} is {0, 0}: no clip. The native schema checks the rest.
    else if (Object.keys(clip).length > 0) native.clip = { start_seconds: 0, end_seconds: 0, ...clip };
  }

  const outputs = message.outputs;
  if (outputs === undefined) refuse(["outputs"], "1–10 outputs are required");
  else if (!Array.isArray(outputs)) refuse(["outputs"], "a list of output specifications");
  else {
    native.outputs = outputs.map((output, i) => translateOutput(output, ["outputs", i], refuse));
  }

  const thumbnails = message.thumbnails;
  if (thumbnails !== undefined) {
    if (!Array.isArray(thumbnails)) refuse(["thumbnails"], "a list of thumbnail specifications");
    else native.thumbnails = thumbnails.map((spec, i) => translateThumbnail(spec, ["thumbnails", i], refuse));
  }

  const parsed = createJobRequestSchema.safeParse(native);
  if (!parsed.success) {
    const mine = new Set(violations.map((v) => v.field));
    for (const issue of parsed.error.issues) {
      const path = transcodelyPath(issue.path as Path, message);
      if (path === null) continue;
      const field = formatPath(path);
      if (mine.has(field)) continue;
      mine.add(field);
      violations.push({ field, description: issue.message });
    }
  }
  if (violations.length > 0 || !parsed.success) throw invalidArgument(violations);
  return parsed.data;
}

/** map<string, string> with at most 20 pairs, keys of 1–64 and values of at most 1024 characters. */
function checkMetadata(metadata: unknown, refuse: Refuse): void {
  if (metadata === undefined) return;
  if (!isObject(metadata)) return refuse(["metadata"], "a map of strings");
  const entries = Object.entries(metadata);
  if (entries.length > 20) refuse(["metadata"], "at most 20 entries");
  for (const [key, value] of entries) {
    const field = formatPath(["metadata", key], 1);
    if (key.length < 1 || key.length > 64) refuse([field], "keys are 1–64 characters");
    if (typeof value !== "string") refuse([field], "values are strings");
    else if (value.length > 1024) refuse([field], "values are at most 1024 characters");
  }
}

const OUTPUT_FIELDS = new Set([
  "type",
  "video",
  "audio",
  "hls",
  "dash",
  "segments",
  "path_template",
  "preset",
  "subtitle_tracks",
  "drm",
  "content_aware",
  "encoding_mode",
  "effective_path_template",
  "disable_audio",
  "watermark",
]);

function translateOutput(output: unknown, at: Path, refuse: Refuse): unknown {
  if (!isObject(output)) return output;
  const native: Message = {};
  for (const key of Object.keys(output)) if (!OUTPUT_FIELDS.has(key)) refuse([...at, key], "unknown field");
  for (const key of ["type", "preset", "content_aware"] as const) if (output[key] !== undefined) native[key] = output[key];
  if (output.path_template !== undefined) native.path_template = template(output.path_template);
  const type = output.type;
  const streaming = typeof type === "string" && (streamingOutputTypes as readonly string[]).includes(type);

  if (Array.isArray(output.video)) {
    native.video = output.video.map((variant, j) => {
      if (!isObject(variant) || variant.hdr === undefined) return variant;
      refuse([...at, "video", j, "hdr"], "HDR is not supported by Kiln");
      const { hdr: _hdr, ...rest } = variant;
      return rest;
    });
  } else if (output.video !== undefined) native.video = output.video;

  if (Array.isArray(output.audio)) {
    if (output.audio.length > 0 && type !== undefined && !streaming) refuse([...at, "audio"], "audio is only valid for hls, dash or adaptive outputs");
    native.audio = output.audio.map((track, j) => {
      if (!isObject(track)) return track;
      const { is_default, source_track, ...rest } = track;
      if (source_track !== undefined) refuse([...at, "audio", j, "source_track"], "choosing a source track is not supported by Kiln: tracks come from the input's first audio stream");
      if (rest.language === undefined) refuse([...at, "audio", j, "language"], "language is required (ISO 639-2, three letters)");
      else if (typeof rest.language !== "string" || !/^[a-z]{3}$/.test(rest.language)) refuse([...at, "audio", j, "language"], "an ISO 639-2 code of three lower-case letters");
      return { ...rest, ...(is_default !== undefined && { default: is_default }) };
    });
  } else if (output.audio !== undefined) native.audio = output.audio;

  if (isObject(output.hls)) {
    const { manifest, segment_format, playlist_type, variant_pattern, ...rest } = output.hls;
    if (manifest !== undefined && manifest !== "master") refuse([...at, "hls", "manifest"], "Kiln names the HLS manifest master.m3u8; leave manifest unset or master");
    if (variant_pattern !== undefined) refuse([...at, "hls", "variant_pattern"], "variant_pattern is not supported by Kiln");
    native.hls = { ...rest, ...(segment_format !== undefined && { segment_type: segment_format }), ...(playlist_type !== undefined && { playlist_type }) };
  } else if (output.hls !== undefined) native.hls = output.hls;

  if (isObject(output.dash)) {
    const { manifest, ...rest } = output.dash;
    if (manifest !== undefined && manifest !== "manifest") refuse([...at, "dash", "manifest"], "Kiln names the DASH manifest manifest.mpd; leave manifest unset or manifest");
    native.dash = rest;
  } else if (output.dash !== undefined) native.dash = output.dash;

  if (isObject(output.segments)) {
    const { gop_alignment, gop_size, ...rest } = output.segments;
    // Kiln forces a keyframe on every segment boundary of every rung: aligned GOPs.
    if (gop_alignment !== undefined && gop_alignment !== "aligned") refuse([...at, "segments", "gop_alignment"], "Kiln aligns GOPs to segments; only aligned is supported");
    if (gop_size !== undefined) refuse([...at, "segments", "gop_size"], "gop_size is not supported by Kiln (GOPs follow the segments)");
    native.segments = rest;
  } else if (output.segments !== undefined) native.segments = output.segments;

  if (Array.isArray(output.subtitle_tracks)) {
    native.subtitle_tracks = output.subtitle_tracks.map((track, j) => translateSubtitle(track, [...at, "subtitle_tracks", j], refuse));
  } else if (output.subtitle_tracks !== undefined) native.subtitle_tracks = output.subtitle_tracks;

  if (isObject(output.content_aware)) {
    const { vmaf_target, auto_abr, ...rest } = output.content_aware;
    if (vmaf_target !== undefined) refuse([...at, "content_aware", "vmaf_target"], "Kiln measures no VMAF, so it takes no VMAF target; per_title adjusts each rung from a complexity probe");
    if (auto_abr !== undefined) refuse([...at, "content_aware", "auto_abr"], "auto_abr is not supported; use per_title, which adjusts the ladder you give");
    native.content_aware = rest;
  }
  if (output.drm !== undefined) refuse([...at, "drm"], "DRM systems (widevine, fairplay, playready) are not supported by Kiln");
  if (output.encoding_mode !== undefined && output.encoding_mode !== "fixed") refuse([...at, "encoding_mode"], "only fixed is supported by Kiln; content_aware per_title adapts the encode to the input");
  if (output.disable_audio !== undefined) refuse([...at, "disable_audio"], "disable_audio is not supported by Kiln");
  if (output.watermark !== undefined) refuse([...at, "watermark"], "watermarks are not supported by Kiln");
  return native;
}

const SUBTITLE_FORMATS: Record<string, string> = { srt: "srt", webvtt: "vtt" };

/** A sidecar subtitle file (passthrough or convert of `source_url`) is what Kiln carries into a package. */
function translateSubtitle(track: unknown, at: Path, refuse: Refuse): unknown {
  if (!isObject(track)) return track;
  const { operation, source_url, input_format, output_format, language, label, is_default, ...rest } = track;
  if (operation !== undefined && operation !== "passthrough" && operation !== "convert") refuse([...at, "operation"], `${String(operation)} is not supported by Kiln; give a source_url to carry as WebVTT`);
  if (source_url === undefined) refuse([...at, "source_url"], "Kiln carries subtitle files: source_url is required");
  if (input_format !== undefined && !(String(input_format) in SUBTITLE_FORMATS)) refuse([...at, "input_format"], "srt or webvtt");
  if (output_format !== undefined && output_format !== "webvtt") refuse([...at, "output_format"], "Kiln packages subtitles as webvtt");
  for (const key of Object.keys(rest)) refuse([...at, key], key === "source_stream_index" ? "subtitles from the input's own streams are not supported by Kiln; give a source_url" : `${key} is not supported by Kiln`);
  return {
    ...(source_url !== undefined && { source: source_url }),
    ...(input_format !== undefined && { format: SUBTITLE_FORMATS[String(input_format)] ?? input_format }),
    ...(language !== undefined && { language }),
    ...(label !== undefined && { label }),
    ...(is_default !== undefined && { default: is_default }),
  };
}

/**
 * ThumbnailSpec → the native thumbnail spec: `single` at a time (or one frame from the
 * middle), `interval`, `sprite` (an interval tiled into a sheet with a WebVTT storyboard),
 * `timestamps`. Animated previews and per-thumbnail templates are refused.
 */
function translateThumbnail(spec: unknown, at: Path, refuse: Refuse): unknown {
  if (!isObject(spec)) return spec;
  const { mode, format, width, height, timestamp, interval_seconds, timestamps, sprite_columns, ...rest } = spec;
  for (const key of Object.keys(rest)) {
    const known = ["quality", "path_template", "duration_seconds", "fps", "start_offsets"].includes(key);
    refuse([...at, key], known ? `${key} is not supported by Kiln` : "unknown field");
  }
  if (format === "mp4") refuse([...at, "format"], "mp4 is for animated thumbnails, which Kiln does not make");
  const native: Message = {
    ...(format !== undefined && format !== "mp4" && { format }),
    ...(width !== undefined && { width }),
    ...(height !== undefined && { height }),
  };
  switch (mode ?? "single") {
    case "single":
      return { ...native, ...(timestamp !== undefined ? { times: [timestamp] } : { count: 1 }) };
    case "interval":
      return { ...native, interval: interval_seconds ?? 10 };
    case "sprite":
      return { ...native, sprite: true, interval: interval_seconds ?? 10, ...(sprite_columns !== undefined && { columns: sprite_columns }) };
    case "timestamps":
      if (timestamps === undefined) refuse([...at, "timestamps"], "timestamps are required in timestamps mode");
      return { ...native, times: timestamps ?? [] };
    case "animated":
      refuse([...at, "mode"], "animated thumbnails are not supported by Kiln");
      return native;
    default:
      refuse([...at, "mode"], "single, interval, sprite or timestamps");
      return native;
  }
}

/** Where a native issue's path points in the request as written; null for what this module checks itself. */
function transcodelyPath(path: Path, message: Message): Path | null {
  const [head, i, section, j, field] = path;
  if (path.length === 0 || head === "metadata") return null;
  if (head === "input") return [message.input_video_id !== undefined ? "input_video_id" : "input_url", ...path.slice(1)];
  if (head === "outputs" && typeof i === "number") {
    const renamed: Record<string, Record<string, string>> = {
      audio: { default: "is_default" },
      subtitle_tracks: { source: "source_url", format: "input_format", default: "is_default" },
    };
    if (section === "hls" && j === "segment_type") return [head, i, "hls", "segment_format", ...path.slice(4)];
    if ((section === "audio" || section === "subtitle_tracks") && typeof j === "number" && typeof field === "string") {
      return [head, i, section, j, renamed[section]![field] ?? field, ...path.slice(5)];
    }
  }
  if (head === "thumbnails" && typeof i === "number" && typeof section === "string") {
    const spec = (message.thumbnails as Message[] | undefined)?.[i];
    const renamed: Record<string, string> = { times: spec?.timestamp !== undefined ? "timestamp" : "timestamps", interval: "interval_seconds", columns: "sprite_columns", count: "mode" };
    return [head, i, renamed[section] ?? section, ...path.slice(3)];
  }
  return path;
}
