import type { EncodeSpec } from "../contract";
import type { FfmpegCommand, SourceInfo } from "./command";
import { timeWindow, windowedInput } from "./framing";
import { DEFAULT_QUALITY, type LossyAudioCodec, type Quality, audioBitrate } from "./quality";

type AudioSpec = Extract<EncodeSpec, { kind: "audio" }>;

const lossyEncoders: Record<LossyAudioCodec, string> = { aac: "aac", mp3: "libmp3lame", vorbis: "libvorbis", opus: "libopus" };

/** Per format: the muxer, the file extension and the codec; only lossy codecs take a bitrate. */
type AudioFormat = { muxer: string; ext: string } & ({ lossy: LossyAudioCodec } | { lossless: string });

const formats: Record<AudioSpec["format"], AudioFormat> = {
  mp3: { muxer: "mp3", ext: "mp3", lossy: "mp3" },
  // ipod is the mp4 muxer with .m4a's brand, which Apple players insist on.
  aac: { muxer: "ipod", ext: "m4a", lossy: "aac" },
  ogg: { muxer: "ogg", ext: "ogg", lossy: "vorbis" },
  opus: { muxer: "opus", ext: "opus", lossy: "opus" },
  wav: { muxer: "wav", ext: "wav", lossless: "pcm_s16le" },
  flac: { muxer: "flac", ext: "flac", lossless: "flac" },
};

/** Encoder arguments for a lossy audio track: an explicit bitrate wins over the tier. */
export function lossyAudioArgs(codec: LossyAudioCodec, quality: Quality, bitrate?: number): string[] {
  return ["-c:a", lossyEncoders[codec], "-b:a", String(bitrate ?? audioBitrate[codec][quality])];
}

/**
 * The first audio stream, alone: mapping it explicitly leaves out video, cover art
 * and subtitles, so extracting from a video input needs nothing more. The pipeline
 * fails a task for an input without audio before building it.
 */
export function buildAudioCommand(spec: AudioSpec, source: SourceInfo, outputBase: string): FfmpegCommand {
  const format = formats[spec.format];
  const window = timeWindow(spec, source.durationS);
  const output = `${outputBase}.${format.ext}`;
  const codec = "lossy" in format ? lossyAudioArgs(format.lossy, spec.quality ?? DEFAULT_QUALITY, spec.bitrate) : ["-c:a", format.lossless];
  return {
    args: [
      ...windowedInput(source.file, window),
      "-map", "0:a:0",
      ...codec,
      ...(format.muxer === "ipod" ? ["-movflags", "+faststart"] : []),
      "-f", format.muxer,
      output,
    ],
    outputs: [output],
    main: output,
    durationS: window.durationS,
  };
}
