import type { SubtitleSpec } from "../contract";
import type { FfmpegCommand } from "./command";
import type { TimeWindow } from "./framing";

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

/** A WebVTT timestamp, `hh:mm:ss.ttt`. */
export function vttTime(s: number): string {
  const ms = Math.round(s * 1000);
  const part = (n: number, width: number) => String(n).padStart(width, "0");
  return `${part(Math.floor(ms / 3_600_000), 2)}:${part(Math.floor(ms / 60_000) % 60, 2)}:${part(Math.floor(ms / 1000) % 60, 2)}.${part(ms % 1000, 3)}`;
}

const CUE_TIMING = /^((?:\d+:)?\d{2}:\d{2}\.\d{3})[ \t]+-->[ \t]+((?:\d+:)?\d{2}:\d{2}\.\d{3})(.*)$/;

function cueSeconds(time: string): number {
  return time.split(":").reduce((sum, part) => sum * 60 + Number(part), 0);
}

/**
 * WebVTT on a clip's timeline, as the clipped media has it: cues outside the clip are
 * dropped, those across its edges shortened to it, and every time moved so the clip's
 * start is 0. Blocks without a timing (the header, NOTE, STYLE) are kept. A clip with
 * no cues in it leaves a valid, empty file.
 */
export function clipCues(vtt: string, clip: TimeWindow): string {
  const end = clip.start + clip.durationS;
  const blocks = vtt.replace(/\r\n?/g, "\n").trim().split(/\n{2,}/);
  const kept: string[] = [];
  for (const block of blocks) {
    const lines = block.split("\n");
    const at = lines.findIndex((line) => line.includes("-->"));
    if (at < 0) {
      kept.push(block);
      continue;
    }
    const timing = CUE_TIMING.exec(lines[at]!.trim());
    if (!timing) continue;
    const from = cueSeconds(timing[1]!);
    const to = cueSeconds(timing[2]!);
    if (to <= clip.start || from >= end) continue;
    lines[at] = `${vttTime(Math.max(from, clip.start) - clip.start)} --> ${vttTime(Math.min(to, end) - clip.start)}${timing[3]}`;
    kept.push(lines.join("\n"));
  }
  return `${kept.join("\n\n")}\n`;
}
