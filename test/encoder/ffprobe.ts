import { execFileSync } from "node:child_process";

export interface ProbedStream {
  codec_type: "video" | "audio" | "subtitle" | "data";
  codec_name: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  sample_rate?: string;
  channels?: number;
  pix_fmt?: string;
  side_data_list?: { rotation?: number }[];
  tags?: Record<string, string>;
}
export interface Probed {
  format: { format_name: string; duration?: string; size: string; bit_rate?: string };
  streams: ProbedStream[];
}

/** ffprobe's view of a file: what tests assert on, never the request that made it. */
export function ffprobe(file: string): Probed {
  return JSON.parse(execFileSync("ffprobe", ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", file], { encoding: "utf8" }));
}

export function videoStream(probed: Probed): ProbedStream | undefined {
  return probed.streams.find((s) => s.codec_type === "video");
}

export function audioStream(probed: Probed): ProbedStream | undefined {
  return probed.streams.find((s) => s.codec_type === "audio");
}

export function frameRate(stream: ProbedStream): number {
  const [num, den] = (stream.avg_frame_rate ?? stream.r_frame_rate ?? "0/1").split("/").map(Number);
  return den ? num! / den : 0;
}
