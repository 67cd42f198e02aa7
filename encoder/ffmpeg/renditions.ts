import { type AudioTrackSpec, type DrmSpec, type OutputSpec, type OutputType, type VideoVariantSpec, streamingOutputTypes, videoCodecsByType } from "../contract";
import { PipelineError } from "../errors";
import type { FfmpegCommand, SourceInfo } from "./command";
import type { ContentAwareAdjustment } from "./complexity";
import { type SecretFile, hlsKeyArgs, hlsKeyFiles } from "./drm";
import { type FramePlan, type Size, type TimeWindow, displaySize, frameFilters, planFrame, seconds, wholeSource, windowedInput } from "./framing";
import { segmentSeconds } from "./hls";
import { type Quality, audioBitrate, crfStepScale, hlsLadder, ladderScale, maxCrf, videoQuality } from "./quality";

/**
 * Transcodely outputs (`outputs[]`): every output of a job, each with its variants, from
 * ONE ffmpeg run and one decode of the input. The decoded picture is split once per
 * variant and each branch scaled (and re-timed) for its variant; each output is its own
 * muxer in the same run: a file (mp4, mov, mkv, webm), an HLS package (the hls muxer),
 * a DASH package (the dash muxer) or an adaptive package (the dash muxer writing HLS
 * playlists over the same fMP4/CMAF segments, so both manifests share every segment).
 */

export interface OutputTask {
  outputId: string;
  spec: OutputSpec;
  /** A content-aware output's per-title adjustment, from the complexity probe (complexity.ts). */
  contentAware?: ContentAwareAdjustment;
  /** Published while ffmpeg writes it: an hls output's playlists are written as EVENT ones (see buildHlsCommand). */
  progressive?: boolean;
}

/** What each tier means, in the encoders' five-step quality scale (quality.ts). */
const tierQuality: Record<NonNullable<VideoVariantSpec["quality"]>, Quality> = { economy: "low", standard: "medium", premium: "high" };
const resolutionShortSide: Record<NonNullable<VideoVariantSpec["resolution"]>, number> = {
  "480p": 480,
  "720p": 720,
  "1080p": 1080,
  "1440p": 1440,
  "2160p": 2160,
  "4320p": 4320,
};

const MP4_FAMILY: readonly OutputType[] = ["mp4", "mov", "dash", "adaptive"];

/** SVT-AV1 1.4 (Debian's, behind ffmpeg 5.1) refuses pictures under 64 pixels a side. */
const AV1_MIN_SIDE = 64;
/** A plain file stem or directory name: it becomes argv and paths, and a %v name for the hls muxer. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export interface PlannedVariant {
  /** Its name in playlists and paths: codec and short side, e.g. "h264_720p". */
  name: string;
  codec: VideoVariantSpec["codec"];
  spec: VideoVariantSpec;
  plan: FramePlan;
  /** Sample aspect ratio, [1, 1] for square pixels. */
  sar: [number, number];
  /** The output frame rate when it changes; null keeps the source's. */
  fps: number | null;
  quality: Quality;
  /** The constant-quality factor, in the encoder's scale; null with a target rate. */
  crf: number | null;
  /** Whether the per-title adjustment set this rung's CRF and cap (not an explicit crf or bitrate). */
  contentAware: boolean;
  /** Target rate in bps when the variant asks for one. */
  bitrate: number | null;
  /**
   * Peak rate in bps in constant quality: for a streaming variant, so players can pick
   * a rung; for any content-aware variant, the per-title cap.
   */
  maxrate: number | null;
}

export interface PlannedAudio {
  spec: AudioTrackSpec;
  name: string;
}

/** Where one output lands in the working directory and what it was planned to hold. */
export interface OutputLayout {
  outputId: string;
  type: OutputType;
  /** The output's file, or the directory holding its package. */
  root: string;
  /** The media file, or the master playlist (hls, adaptive) or manifest (dash). */
  main: string;
  /** An adaptive package's DASH manifest. */
  manifest?: string;
  variants: PlannedVariant[];
  audio: PlannedAudio[];
  /** Segment length of a streaming output, in seconds. */
  segmentS: number | null;
  /** How the package is encrypted, if it is. */
  drm: DrmSpec["scheme"] | null;
  /** Published while ffmpeg writes it; its playlists get their final type after the run. */
  progressive: boolean;
}

export interface RenditionsCommand extends FfmpegCommand {
  layouts: OutputLayout[];
  /** Key files of encrypted outputs: written just before the run, outside every package, and removed after. */
  secretFiles: SecretFile[];
}

/**
 * The variant's picture. Explicit width/height are obeyed (both: fitted inside that box
 * and padded, so the picture is never distorted); a resolution names the short side and
 * is capped at the source's, so nothing is upscaled; neither keeps the source size.
 */
export function planVariantFrame(spec: VideoVariantSpec, source: Size): FramePlan {
  if (spec.width !== undefined || spec.height !== undefined) {
    const both = spec.width !== undefined && spec.height !== undefined;
    return planFrame({ width: spec.width, height: spec.height, fit: both ? "contain" : undefined }, source);
  }
  const short = Math.min(source.width, source.height);
  const target = spec.resolution === undefined ? short : Math.min(resolutionShortSide[spec.resolution], short);
  return planFrame(source.width <= source.height ? { width: target } : { height: target }, source);
}

/**
 * The peak rate for a streaming variant of this picture: the HLS ladder's caps
 * (quality.ts) interpolated on the short side, scaled by pixel count beyond the table,
 * and by the tier.
 */
export function streamingPeak(plan: Size, quality: Quality): number {
  const short = Math.min(plan.width, plan.height);
  const table = [...hlsLadder].reverse(); // ascending
  const first = table[0]!;
  const last = table[table.length - 1]!;
  let peak: number;
  if (short <= first.size) peak = first.maxrate * (short / first.size) ** 2;
  else if (short >= last.size) peak = last.maxrate * (short / last.size) ** 2;
  else {
    const upper = table.findIndex((r) => r.size >= short);
    const lo = table[upper - 1]!;
    const hi = table[upper]!;
    peak = lo.maxrate + ((short - lo.size) / (hi.size - lo.size)) * (hi.maxrate - lo.maxrate);
  }
  return Math.round(peak * ladderScale[quality]);
}

/**
 * The variants an output will really have. A frame rate above the source's is not
 * invented (the source's is kept). Variants that come out identical once capped to the
 * source (a 1080p and a 720p rung of a 360p clip) are encoded once.
 */
export function planVariants(spec: OutputSpec, source: SourceInfo, contentAware?: ContentAwareAdjustment): PlannedVariant[] {
  const size = displaySize(source);
  const streaming = streamingOutputTypes.includes(spec.type);
  const planned: PlannedVariant[] = [];
  const seen = new Set<string>();
  for (const variant of spec.video) {
    if (!videoCodecsByType[spec.type].includes(variant.codec)) {
      throw new PipelineError("encode_failed", `${variant.codec} cannot be packaged as ${spec.type}`);
    }
    const plan = planVariantFrame(variant, size);
    if (variant.codec === "av1" && Math.min(plan.width, plan.height) < AV1_MIN_SIDE) {
      throw new PipelineError("encode_failed", `AV1 output must be at least ${AV1_MIN_SIDE} pixels a side; ${plan.width}x${plan.height} was asked`);
    }
    const wanted = variant.framerate ? variant.framerate : null;
    const fps = wanted !== null && (source.fps === null || wanted < source.fps - 0.01) ? wanted : null;
    const quality = tierQuality[variant.quality ?? "standard"];
    const bitrate = variant.bitrate === undefined ? null : variant.bitrate * 1000;
    const explicitCrf = variant[variant.codec]?.crf;
    // An explicit rate or CRF is the caller's own choice: the per-title adjustment leaves it alone.
    const adjust = bitrate === null && explicitCrf === undefined ? contentAware : undefined;
    const crf = bitrate !== null ? null : (explicitCrf ?? adjustedCrf(variant.codec, videoQuality[variant.codec][quality].crf, adjust));
    const maxrate = bitrate === null && (streaming || adjust) ? Math.round(streamingPeak(plan, quality) * (adjust?.capScale ?? 1)) : null;
    const key = JSON.stringify([variant.codec, plan, fps, quality, bitrate, variant.h264, variant.h265, variant.vp9, variant.av1]);
    if (seen.has(key)) continue;
    seen.add(key);
    const base = `${variant.codec}_${Math.min(plan.width, plan.height)}p`;
    let name = base;
    for (let n = 2; planned.some((p) => p.name === name); n++) name = `${base}_${n}`;
    planned.push({ name, codec: variant.codec, spec: variant, plan, sar: sampleAspect(spec.type, plan, size), fps, quality, crf, contentAware: adjust !== undefined, bitrate, maxrate });
  }
  return planned;
}

/** The tier's CRF moved by the per-title offset, scaled to the codec's CRF steps and kept in its range. */
export function adjustedCrf(codec: VideoVariantSpec["codec"], tierCrf: number, adjust: ContentAwareAdjustment | undefined): number {
  if (!adjust) return tierCrf;
  return Math.min(maxCrf[codec], Math.max(0, tierCrf + Math.round(adjust.crfOffset * crfStepScale[codec])));
}

/** The audio tracks an output gets: as asked, or one in the container's usual codec; none without source audio. */
export function planAudio(spec: OutputSpec, source: SourceInfo): PlannedAudio[] {
  if (!source.hasAudio) return [];
  const tracks = spec.audio && spec.audio.length > 0 ? spec.audio : [{ codec: spec.type === "webm" ? ("opus" as const) : ("aac" as const) }];
  return tracks.map((track, i) => ({ spec: track, name: `audio_${i}` }));
}

/**
 * Every output of a job in one ffmpeg command: one decode, one split, one muxer per
 * output. With a clip, the one input is seeked to it (windowedInput), so every output,
 * its segments and its duration cover the clip alone.
 */
export function buildRenditionsCommand(tasks: OutputTask[], source: SourceInfo, clip: TimeWindow = wholeSource(source)): RenditionsCommand {
  if (tasks.length === 0) throw new PipelineError("encode_failed", "no outputs to encode");
  const layouts: OutputLayout[] = [];
  const branches: string[] = [];
  const outputArgs: string[] = [];
  const secretFiles: SecretFile[] = [];
  for (const { outputId, spec, contentAware, progressive } of tasks) {
    if (!SAFE_NAME.test(outputId)) throw new PipelineError("encode_failed", `"${outputId}" is not a usable output name`);
    checkDrm(spec);
    if (spec.drm?.scheme === "aes-128") secretFiles.push(...hlsKeyFiles(outputId, spec.drm));
    const variants = planVariants(spec, source, contentAware);
    const audio = planAudio(spec, source);
    const layout = layoutOf(outputId, spec, variants, audio, clip.durationS, progressive ?? false);
    const labels = variants.map((v) => {
      branches.push(`${[...variantFrameFilters(v), ...(v.fps ? [`fps=${v.fps}`] : []), `format=${pixelFormat(v)}`].join(",")}`);
      return `[v${branches.length - 1}]`;
    });
    outputArgs.push(...muxerArgs(spec, layout, labels, source));
    layouts.push(layout);
  }
  const split = `[0:v:0]split=${branches.length}${branches.map((_, i) => `[s${i}]`).join("")}`;
  const graph = [split, ...branches.map((filters, i) => `[s${i}]${filters}[v${i}]`)].join(";");
  return {
    args: [...windowedInput(source.file, clip), "-filter_complex", graph, ...outputArgs],
    outputs: layouts.map((l) => l.root),
    main: layouts[0]!.main,
    durationS: clip.durationS,
    layouts,
    secretFiles,
  };
}

/**
 * What each scheme can protect (the Worker validates the same): ffmpeg 5.1's hls muxer
 * encrypts TS segments only ("Encrypted fmp4 not yet supported"), and the CENC packager
 * (media/cenc.ts) knows H.264/H.265 subsamples and one file per segment.
 */
function checkDrm(spec: OutputSpec): void {
  const drm = spec.drm;
  if (!drm) return;
  if (drm.scheme === "aes-128" && (spec.type !== "hls" || spec.hls?.segment_type !== "ts")) {
    throw new PipelineError("encode_failed", "aes-128 encryption needs an hls output with TS segments");
  }
  if (drm.scheme === "cenc") {
    if (spec.type !== "dash" && spec.type !== "adaptive") throw new PipelineError("encode_failed", "cenc encryption needs a dash or adaptive output");
    if (spec.dash?.profile === "on-demand") throw new PipelineError("encode_failed", "cenc encryption needs the live (segment per file) DASH profile");
    if (spec.video.some((v) => v.codec !== "h264" && v.codec !== "h265")) throw new PipelineError("encode_failed", "cenc encryption takes h264 and h265 video");
  }
}

function layoutOf(outputId: string, spec: OutputSpec, variants: PlannedVariant[], audio: PlannedAudio[], durationS: number, progressive: boolean): OutputLayout {
  const segmentS = streamingOutputTypes.includes(spec.type) ? (spec.segments?.duration ?? segmentSeconds(durationS)) : null;
  const base = { outputId, type: spec.type, variants, audio, segmentS, drm: spec.drm?.scheme ?? null, progressive };
  switch (spec.type) {
    case "mp4":
    case "mov":
    case "mkv":
    case "webm":
      return { ...base, root: `${outputId}.${spec.type}`, main: `${outputId}.${spec.type}` };
    case "hls":
      return { ...base, root: outputId, main: `${outputId}/master.m3u8` };
    case "dash":
      return { ...base, root: outputId, main: `${outputId}/manifest.mpd` };
    case "adaptive":
      return { ...base, root: outputId, main: `${outputId}/master.m3u8`, manifest: `${outputId}/manifest.mpd` };
  }
}

/** The frame filters, with the variant's sample aspect ratio in place of square pixels. */
function variantFrameFilters(v: PlannedVariant): string[] {
  const filters = frameFilters(v.plan);
  // setsar rounds to terms ≤ max (default 100), which would lose 640:639.
  return v.sar[0] === v.sar[1] ? filters : [...filters.slice(0, -1), `setsar=r=${v.sar[0]}/${v.sar[1]}:max=${Math.max(...v.sar)}`];
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Even sizes rarely keep the source's shape exactly (16:9 at 240 lines is 426.67 wide).
 * The dash muxer refuses representations of different display aspect in one adaptation
 * set, so a DASH rung scaled from the source keeps its exact display aspect through a
 * sample aspect ratio (426x240 at 640:639); elsewhere pixels are square.
 */
function sampleAspect(type: OutputType, plan: FramePlan, source: Size): [number, number] {
  if ((type !== "dash" && type !== "adaptive") || plan.fit !== "scale") return [1, 1];
  const num = source.width * plan.height;
  const den = source.height * plan.width;
  const g = gcd(num, den);
  return [num / g, den / g];
}

/** Width:height as displayed, reduced: representations switchable in one adaptation set share it. */
function displayAspect(v: PlannedVariant): string {
  const w = v.plan.width * v.sar[0];
  const h = v.plan.height * v.sar[1];
  const g = gcd(w, h);
  return `${w / g}:${h / g}`;
}

function pixelFormat(v: PlannedVariant): string {
  return v.codec === "h265" && v.spec.h265?.profile === "main10" ? "yuv420p10le" : "yuv420p";
}

/** The arguments for one output: its streams, their encoders, and its muxer. */
function muxerArgs(spec: OutputSpec, layout: OutputLayout, labels: string[], source: SourceInfo): string[] {
  const streaming = layout.segmentS !== null;
  const video = layout.variants.flatMap((v, i) => [
    "-map", labels[i]!,
    ...videoEncoderArgs(v, i),
    ...(v.codec === "h265" && (MP4_FAMILY.includes(spec.type) || (spec.type === "hls" && spec.hls?.segment_type !== "ts")) ? [`-tag:v:${i}`, "hvc1"] : []),
    ...(streaming ? keyframeArgs(v, i, layout.segmentS!) : []),
  ]);
  const audio = layout.audio.flatMap((a, j) => ["-map", "0:a:0", ...audioEncoderArgs(a.spec, j, layout.variants[0]!.quality)]);
  switch (spec.type) {
    case "mp4":
    case "mov":
      // The index up front lets playback start before the whole file has downloaded.
      return [...video, ...audio, "-movflags", "+faststart", "-f", spec.type, layout.main];
    case "mkv":
      return [...video, ...audio, "-f", "matroska", layout.main];
    case "webm":
      return [...video, ...audio, "-f", "webm", layout.main];
    case "hls":
      return [...video, ...audio, ...hlsMuxerArgs(spec, layout)];
    case "dash":
    case "adaptive":
      return [...video, ...audio, ...dashMuxerArgs(spec, layout)];
  }
}

/**
 * Keyframes forced on segment boundaries in every variant: the muxers cut at the first
 * keyframe at or after each boundary, so every rung cuts at the same instants and
 * players can switch cleanly, whatever other keyframes an encoder adds.
 */
function keyframeArgs(v: PlannedVariant, i: number, segmentS: number): string[] {
  return [
    `-force_key_frames:v:${i}`, `expr:gte(t,n_forced*${seconds(segmentS)})`,
    ...(v.codec === "h264" ? [`-sc_threshold:v:${i}`, "0"] : []),
    // x265 makes forced keyframes open-GOP I-frames unless told to make them IDR.
    ...(v.codec === "h265" ? [`-forced-idr:v:${i}`, "1"] : []),
  ];
}

/**
 * Encoder arguments for the i-th video stream of an output: the tier's CRF and speed
 * (quality.ts), then the variant's own codec options, then a target rate or, for
 * streaming, a peak (VBV) cap so each rung has a bandwidth to announce.
 */
export function videoEncoderArgs(v: PlannedVariant, i: number): string[] {
  const s = `:v:${i}`;
  const tier = videoQuality[v.codec][v.quality];
  const crf = String(v.crf);
  const target = (capped: boolean) => (v.bitrate === null ? [] : [`-b${s}`, String(v.bitrate), ...(capped ? [`-maxrate${s}`, String(v.bitrate), `-bufsize${s}`, String(2 * v.bitrate)] : [])]);
  const peak = v.maxrate === null ? [] : [`-maxrate${s}`, String(v.maxrate), `-bufsize${s}`, String(2 * v.maxrate)];
  switch (v.codec) {
    case "h264": {
      const o = v.spec.h264 ?? {};
      return [
        `-c${s}`, "libx264", `-preset${s}`, o.preset ?? tier.speed,
        ...(v.bitrate === null ? [`-crf${s}`, crf, ...peak] : target(true)),
        ...(o.profile ? [`-profile${s}`, o.profile] : []),
        ...(o.tune ? [`-tune${s}`, o.tune] : []),
      ];
    }
    case "h265": {
      const o = v.spec.h265 ?? {};
      return [
        `-c${s}`, "libx265", `-preset${s}`, o.preset ?? tier.speed,
        ...(v.bitrate === null ? [`-crf${s}`, crf, ...peak] : target(true)),
        ...(o.profile ? [`-profile${s}`, o.profile] : []),
        ...(o.tune ? [`-tune${s}`, o.tune] : []),
        // x265 prints its own banner on stderr regardless of -loglevel.
        `-x265-params${s}`, "log-level=error",
      ];
    }
    case "vp9": {
      const o = v.spec.vp9 ?? {};
      // Constant quality needs -b:v 0; with a peak, -b:v bounds it instead (constrained quality).
      const rate = v.bitrate !== null ? target(true) : [`-crf${s}`, crf, `-b${s}`, v.maxrate === null ? "0" : String(v.maxrate)];
      return [`-c${s}`, "libvpx-vp9", `-deadline${s}`, "good", `-cpu-used${s}`, String(o.speed ?? tier.speed), `-row-mt${s}`, "1", ...rate];
    }
    case "av1": {
      const o = v.spec.av1 ?? {};
      // SVT-AV1 1.4 ignores a peak in CRF mode and rejects a max rate equal to the target, so only a target is passed.
      return [`-c${s}`, "libsvtav1", `-preset${s}`, String(o.preset ?? tier.speed), ...(v.bitrate === null ? [`-crf${s}`, crf] : target(false))];
    }
  }
}

const audioEncoders: Record<AudioTrackSpec["codec"], string> = { aac: "aac", opus: "libopus", mp3: "libmp3lame", flac: "flac", ac3: "ac3", eac3: "eac3" };
/** Bitrates in bps for codecs without a tier table: Dolby's usual stereo rates. */
const dolbyBitrate: Record<"ac3" | "eac3", number> = { ac3: 192_000, eac3: 192_000 };

/** Encoder arguments for the j-th audio stream of an output; an explicit bitrate wins over the tier. */
export function audioEncoderArgs(track: AudioTrackSpec, j: number, quality: Quality): string[] {
  const s = `:a:${j}`;
  const bitrate =
    track.codec === "flac"
      ? null
      : track.bitrate !== undefined
        ? track.bitrate * 1000
        : track.codec === "ac3" || track.codec === "eac3"
          ? dolbyBitrate[track.codec]
          : audioBitrate[track.codec][quality];
  return [
    `-c${s}`, audioEncoders[track.codec],
    ...(bitrate === null ? [] : [`-b${s}`, String(bitrate)]),
    ...(track.channels ? [`-ac${s}`, String(track.channels)] : []),
    ...(track.sample_rate ? [`-ar${s}`, String(track.sample_rate)] : []),
    ...(track.language ? [`-metadata:s${s}`, `language=${track.language}`] : []),
    ...(track.default ? [`-disposition${s}`, "default"] : []),
  ];
}

/**
 * The hls muxer: a directory per variant (`%v` in a path makes ffmpeg create it) with
 * its playlist, init segment (fMP4) and segments; audio tracks form one group every
 * video variant refers to. Layout: `<id>/master.m3u8`, `<id>/<variant>/index.m3u8`,
 * `<id>/<variant>/init_<variant>.mp4`, `<id>/<variant>/seg_NNN.m4s|.ts`.
 */
function hlsMuxerArgs(spec: OutputSpec, layout: OutputLayout): string[] {
  const ts = spec.hls?.segment_type === "ts";
  const group = layout.audio.length > 0 ? ",agroup:audio" : "";
  const streamMap = [
    ...layout.variants.map((v, i) => `v:${i}${group},name:${v.name}`),
    ...layout.audio.map((a, j) => `a:${j},agroup:audio,name:${a.name}${a.spec.language ? `,language:${a.spec.language}` : ""}${defaultAudio(layout, j) ? ",default:yes" : ""}`),
  ].join(" ");
  for (const name of [...layout.variants.map((v) => v.name), ...layout.audio.map((a) => a.name)]) {
    if (!SAFE_NAME.test(name)) throw new PipelineError("encode_failed", `"${name}" is not a usable variant name`);
  }
  return [
    "-f", "hls",
    "-hls_time", seconds(layout.segmentS!),
    // A VOD playlist is written only at the end; an EVENT one after every segment.
    "-hls_playlist_type", layout.progressive ? "event" : (spec.hls?.playlist_type ?? "vod"),
    "-hls_segment_type", ts ? "mpegts" : "fmp4",
    // The flag raises TS playlists to version 6; players asking for an older version get them without it.
    ...(ts && (spec.hls?.version ?? 6) < 6 ? [] : ["-hls_flags", "independent_segments"]),
    ...(ts ? [] : ["-hls_fmp4_init_filename", "init_%v.mp4"]),
    ...(spec.drm?.scheme === "aes-128" ? hlsKeyArgs(layout.outputId) : []),
    "-hls_segment_filename", `${layout.outputId}/%v/seg_%03d.${ts ? "ts" : "m4s"}`,
    "-master_pl_name", "master.m3u8",
    "-var_stream_map", streamMap,
    `${layout.outputId}/%v/index.m3u8`,
  ];
}

/** The track players start with: the one marked default, else the first. */
function defaultAudio(layout: OutputLayout, j: number): boolean {
  const marked = layout.audio.findIndex((a) => a.spec.default);
  return j === (marked < 0 ? 0 : marked);
}

/**
 * The dash muxer, fMP4 segments always (CMAF for adaptive): one adaptation set per video
 * codec and display aspect (representations in a set must be switchable) and per audio
 * language and codec.
 * `live` (default) writes a SegmentTemplate and a file per segment; `on-demand` one file
 * per representation addressed by byte ranges. For adaptive it also writes master.m3u8
 * and media_N.m3u8 over the same segments.
 */
function dashMuxerArgs(spec: OutputSpec, layout: OutputLayout): string[] {
  const sets: number[][] = [];
  const byKey = new Map<string, number[]>();
  const add = (key: string, index: number) => {
    let set = byKey.get(key);
    if (!set) byKey.set(key, (set = [])) && sets.push(set);
    set.push(index);
  };
  layout.variants.forEach((v, i) => add(`v:${v.codec}:${displayAspect(v)}`, i));
  layout.audio.forEach((a, j) => add(`a:${a.spec.language ?? ""}:${a.spec.codec}`, layout.variants.length + j));
  const singleFile = spec.dash?.profile === "on-demand";
  return [
    "-f", "dash",
    "-dash_segment_type", "mp4",
    "-seg_duration", seconds(layout.segmentS!),
    "-use_template", "1",
    "-use_timeline", "1",
    "-adaptation_sets", sets.map((streams, id) => `id=${id},streams=${streams.join(",")}`).join(" "),
    ...(singleFile
      ? ["-single_file", "1", "-single_file_name", "stream_$RepresentationID$.mp4"]
      : ["-init_seg_name", "init_$RepresentationID$.mp4", "-media_seg_name", "seg_$RepresentationID$_$Number%05d$.m4s"]),
    ...(spec.type === "adaptive" ? ["-hls_playlist", "1", "-hls_master_name", "master.m3u8"] : []),
    `${layout.outputId}/manifest.mpd`,
  ];
}
