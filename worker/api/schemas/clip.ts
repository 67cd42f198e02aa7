import { z } from "@hono/zod-openapi";
import { type Clip, MIN_CLIP_SECONDS } from "../../../encoder/contract";

/** Transcodely's bound on either end of a clip. */
const MAX_CLIP_SECONDS = 10_000_000;

/** Clip ends are kept to 0.1 ms, Transcodely's precision; compared in whole tenths, free of float noise. */
const tenthsOfMs = (seconds: number) => Math.round(seconds * 10_000);
const tenthOfMs = (seconds: number) => tenthsOfMs(seconds) / 10_000;

const clipEnd = z.number().min(0).max(MAX_CLIP_SECONDS);

/**
 * The part of the input an outputs job covers (Transcodely's ClipConfig): every output,
 * variant, audio track and subtitle track is cut to it, and thumbnail times count from
 * its start. `{0, 0}` means no clip. An end past the input's is clamped to it; a start
 * at or past it fails the job at the probe with `input_clip_out_of_range`.
 */
export const clipSchema = z
  .strictObject({
    start_seconds: clipEnd.openapi({ example: 10 }),
    end_seconds: clipEnd.openapi({ example: 70.5 }),
  })
  .superRefine((clip, ctx) => {
    if (isNoClip(clip)) return;
    if (tenthsOfMs(clip.end_seconds) - tenthsOfMs(clip.start_seconds) < tenthsOfMs(MIN_CLIP_SECONDS)) {
      ctx.addIssue({ code: "custom", path: ["end_seconds"], message: `end_seconds must be at least ${MIN_CLIP_SECONDS} s after start_seconds ({0, 0} is no clip)` });
    }
  })
  .openapi("Clip", { description: "Seconds of the input, to 0.1 ms; {0, 0} is no clip" });
export type ClipRequest = z.infer<typeof clipSchema>;

const isNoClip = (clip: ClipRequest) => clip.start_seconds === 0 && clip.end_seconds === 0;

/** The clip a job keeps: null for none ({0, 0}), else its ends to 0.1 ms. */
export function jobClip(clip: ClipRequest | undefined): Clip | null {
  if (clip === undefined || isNoClip(clip)) return null;
  return { start_seconds: tenthOfMs(clip.start_seconds), end_seconds: tenthOfMs(clip.end_seconds) };
}
