import type { EncodeSpec } from "../contract";
import { PipelineError } from "../errors";
import { lossyAudioArgs } from "./audio";
import type { FfmpegCommand, SourceInfo } from "./command";
import { displaySize, frameFilters, planFrame, timeWindow, windowedInput } from "./framing";
import { DEFAULT_QUALITY, type Quality, type VideoCodec, videoQuality } from "./quality";

type VideoSpec = Extract<EncodeSpec, { kind: "video" }>;
type Container = VideoSpec["format"];

/** The Worker's table (ffmpeg 5.1's mov muxer refuses VP9 and AV1; WebM is VP8/VP9/AV1 only). */
const containerCodecs: Record<Container, readonly VideoCodec[]> = {
  mp4: ["h264", "h265", "av1"],
  webm: ["vp9", "av1"],
  mov: ["h264", "h265"],
};

/** SVT-AV1 1.4 (Debian's, behind ffmpeg 5.1) refuses pictures under 64 pixels a side. */
const AV1_MIN_SIDE = 64;

/**
 * Video encoder arguments: constant quality from the tier, or an explicit bitrate
 * (bps) capped by a VBV buffer of two seconds so the rate holds within short spans.
 *
 * AV1 uses SVT-AV1 rather than libaom: at preset 8 it is several times faster than
 * libaom's fastest good-quality setting on 2 cores, for similar quality.
 */
function videoCodecArgs(codec: VideoCodec, quality: Quality, bitrate?: number): string[] {
  const { crf, speed } = videoQuality[codec][quality];
  const capped = bitrate === undefined ? [] : ["-b:v", String(bitrate), "-maxrate", String(bitrate), "-bufsize", String(2 * bitrate)];
  switch (codec) {
    case "h264":
      return ["-c:v", "libx264", "-preset", speed, ...(bitrate === undefined ? ["-crf", String(crf)] : capped)];
    case "h265":
      // x265 prints its own banner on stderr regardless of -loglevel.
      return ["-c:v", "libx265", "-preset", speed, ...(bitrate === undefined ? ["-crf", String(crf)] : capped), "-x265-params", "log-level=error"];
    case "vp9":
      // -b:v 0 is what makes libvpx treat -crf as constant quality rather than a floor.
      return ["-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", speed, "-row-mt", "1", ...(bitrate === undefined ? ["-crf", String(crf), "-b:v", "0"] : capped)];
    case "av1":
      // SVT-AV1 1.4 rejects a max rate equal to the target and otherwise ignores it in VBR, so only the target is set.
      return ["-c:v", "libsvtav1", "-preset", speed, ...(bitrate === undefined ? ["-crf", String(crf)] : ["-b:v", String(bitrate)])];
  }
}

export function buildVideoCommand(spec: VideoSpec, source: SourceInfo, outputBase: string): FfmpegCommand {
  if (!containerCodecs[spec.format].includes(spec.codec)) {
    throw new PipelineError("encode_failed", `${spec.codec} cannot be stored in ${spec.format}`);
  }
  const quality = spec.quality ?? DEFAULT_QUALITY;
  const window = timeWindow(spec, source.durationS);
  const plan = planFrame(spec, displaySize(source));
  if (spec.codec === "av1" && Math.min(plan.width, plan.height) < AV1_MIN_SIDE) {
    throw new PipelineError("encode_failed", `AV1 output must be at least ${AV1_MIN_SIDE} pixels a side; ${plan.width}x${plan.height} was asked`);
  }
  const filters = [...frameFilters(plan), ...(spec.fps ? [`fps=${spec.fps}`] : []), "format=yuv420p"];
  const mp4Family = spec.format !== "webm";
  const audio = source.hasAudio ? ["-map", "0:a:0", ...lossyAudioArgs(mp4Family ? "aac" : "opus", quality)] : [];
  const output = `${outputBase}.${spec.format}`;
  return {
    args: [
      ...windowedInput(source.file, window),
      "-map", "0:v:0",
      "-vf", filters.join(","),
      ...videoCodecArgs(spec.codec, quality, spec.bitrate),
      // Apple players only accept HEVC in MP4/MOV under the hvc1 tag (ffmpeg writes hev1).
      ...(spec.codec === "h265" ? ["-tag:v", "hvc1"] : []),
      ...audio,
      // The index up front lets playback start before the whole file has downloaded.
      ...(mp4Family ? ["-movflags", "+faststart"] : []),
      "-f", spec.format,
      output,
    ],
    outputs: [output],
    main: output,
    durationS: window.durationS,
  };
}
