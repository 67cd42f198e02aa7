import type { EncodeSpec } from "../contract";
import { PipelineError } from "../errors";
import { buildAnimationCommand } from "./animation";
import { buildAudioCommand } from "./audio";
import type { FfmpegCommand, SourceInfo } from "./command";
import type { TimeWindow } from "./framing";
import { buildHlsCommand } from "./hls";
import { buildImageCommand } from "./image";
import { buildThumbnailCommand } from "./thumbnails";
import { buildVideoCommand } from "./video";

/**
 * A plain file stem: it becomes ffmpeg arguments and paths, so nothing that reads as
 * an option (-…), a path (/) or an ffmpeg pattern (%d, %v) gets through.
 */
const SAFE_STEM = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The ffmpeg command for one encode task; outputs are named `<outputBase>.<ext>`
 * (thumbnails `<outputBase>.<name>.<ext>`) or, for HLS, live under `<outputBase>/`.
 * `clip` is the order's: thumbnails take their frames within it; kinds have their own
 * start and end, and the contract never pairs them with a clip. `progressive` applies
 * to HLS (see buildHlsCommand).
 */
export function buildEncodeCommand(spec: EncodeSpec, source: SourceInfo, outputBase: string, clip?: TimeWindow, options: { progressive?: boolean } = {}): FfmpegCommand {
  if (!SAFE_STEM.test(outputBase)) throw new PipelineError("encode_failed", `"${outputBase}" is not a usable output name`);
  switch (spec.kind) {
    case "video":
      return buildVideoCommand(spec, source, outputBase);
    case "audio":
      return buildAudioCommand(spec, source, outputBase);
    case "image":
      return buildImageCommand(spec, source, outputBase);
    case "animation":
      return buildAnimationCommand(spec, source, outputBase);
    case "adaptive_video":
      return buildHlsCommand(spec, source, outputBase, options);
    case "thumbnail":
      return buildThumbnailCommand(spec, source, outputBase, clip);
  }
}
