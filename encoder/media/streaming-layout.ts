import { indexComesFirst } from "./mp4-layout";

/**
 * How a file still arriving can be read front to back, decided from its first bytes:
 * - `mp4`: a faststart MP4/MOV (its index first). Its index says where its media ends,
 *   so ffmpeg can follow the growing file and never waits past the last byte.
 * - `mpegts` and `matroska`: made to be streamed, but read until their end: ffmpeg must
 *   be handed the bytes through a pipe that closes when the file is whole (a followed
 *   file never says it has ended, so the reader would wait at the end and fail). An
 *   MPEG-TS declares no duration: its timing is read from its last bytes as well.
 * Anything else (an MP4 with its index at the end, unknown bytes) is read once whole.
 */
export type StreamingLayout = "mp4" | "mpegts" | "matroska";

const TS_SYNC = 0x47;
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

export function streamingLayout(head: Uint8Array): StreamingLayout | null {
  if (indexComesFirst(head)) return "mp4";
  if (EBML_MAGIC.every((b, i) => head[i] === b)) return "matroska";
  // Three sync bytes a packet apart: 188-byte packets, or 192 with a timecode (M2TS).
  for (const [first, size] of [[0, 188], [4, 192]] as const) {
    if ([0, 1, 2].every((k) => head[first + k * size] === TS_SYNC)) return "mpegts";
  }
  return null;
}
