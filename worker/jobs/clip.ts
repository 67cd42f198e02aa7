import type { Clip } from "../../encoder/contract";

/**
 * The input as a clipped job's outputs and thumbnails see it: its duration cut to the
 * clip, the clip's end clamped to the input's (as the encoder clamps it). Without a
 * clip, the input as probed.
 */
export function clippedInput<T extends { duration_ms: number }>(input: T, clip: Clip | null | undefined): T {
  if (!clip) return input;
  const end = Math.min(clip.end_seconds * 1000, input.duration_ms);
  return { ...input, duration_ms: Math.max(0, Math.round(end - clip.start_seconds * 1000)) };
}
