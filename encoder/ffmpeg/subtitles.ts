import type { SubtitleSpec } from "../contract";
import type { FfmpegCommand } from "./command";

const demuxers: Record<NonNullable<SubtitleSpec["format"]>, string> = { vtt: "webvtt", srt: "srt" };

/**
 * A sidecar subtitle file (WebVTT or SRT, named by `format` or sniffed by ffmpeg) as
 * WebVTT, the text format both HLS and DASH players read. Decoding it is also the check
 * that the file is a subtitle file at all.
 */
export function buildSubtitleCommand(source: string, format: SubtitleSpec["format"], target: string): FfmpegCommand {
  return {
    args: [...(format ? ["-f", demuxers[format]] : []), "-i", source, "-map", "0:s:0", "-c:s", "webvtt", "-f", "webvtt", target],
    outputs: [target],
    main: target,
    durationS: 1,
  };
}
