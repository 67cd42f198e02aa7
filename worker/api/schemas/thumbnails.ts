import { z } from "@hono/zod-openapi";
import type { ThumbnailEncodeSpec } from "../../../encoder/contract";

/** A point on the timeline: seconds, or a percentage of the input's duration ("50%"). */
const timePoint = z.union([
  z.number().min(0).max(86_400),
  z.string().regex(/^(?:100(?:\.0{1,3})?|\d{1,2}(?:\.\d{1,3})?)%$/, "a percentage from 0% to 100%"),
]);

/** A storyboard's tiles are small, and WebP sheets at most 16 383 px a side. */
const MAX_SPRITE_TILE = 640;

/**
 * Stills taken alongside the main outputs: at given times (seconds or percentages), at
 * an interval, or N spread evenly (default: one, from the middle). `sprite` tiles them
 * into one sheet with a WebVTT storyboard instead of a file each. At most 100 frames.
 */
export const thumbnailSpecSchema = z
  .strictObject({
    format: z.enum(["jpeg", "png", "webp"]).default("jpeg"),
    width: z.number().int().min(16).max(3840).optional(),
    height: z.number().int().min(16).max(2160).optional(),
    times: z.array(timePoint).min(1).max(100).optional().openapi({ example: [1.5, "50%"] }),
    interval: z.number().min(0.1).max(3600).optional().openapi({ description: "Seconds between frames, from 0; widened if it would give more than 100" }),
    count: z.number().int().min(1).max(100).optional(),
    sprite: z.boolean().optional().openapi({ description: "Tile the frames into one sheet with a WebVTT storyboard (`#xywh=` cues)" }),
    columns: z.number().int().min(1).max(20).optional().openapi({ description: "Sprite columns; default 10 (or fewer frames)" }),
  })
  .superRefine((spec, ctx) => {
    const modes = [spec.times, spec.interval, spec.count].filter((m) => m !== undefined).length;
    if (modes > 1) ctx.addIssue({ code: "custom", message: "give one of times, interval or count" });
    if (spec.columns !== undefined && !spec.sprite) ctx.addIssue({ code: "custom", path: ["columns"], message: "columns go with sprite: true" });
    if (spec.sprite) {
      for (const side of ["width", "height"] as const) {
        if ((spec[side] ?? 0) > MAX_SPRITE_TILE) ctx.addIssue({ code: "custom", path: [side], message: `a sprite tile is at most ${MAX_SPRITE_TILE} px a side` });
      }
    }
  });
export type ThumbnailSpec = z.infer<typeof thumbnailSpecSchema>;

/** How many frames a thumbnail spec takes from an input of `durationS` seconds. */
export function thumbnailFrameCount(spec: ThumbnailSpec, durationS: number): number {
  if (spec.times) return spec.times.length;
  if (spec.interval !== undefined) return Math.max(1, Math.min(100, Math.ceil(durationS / spec.interval - 1e-9)));
  return spec.count ?? 1;
}

/** The encoder's task for a thumbnail spec (the wire contract's form). */
export function thumbnailTaskSpec(spec: ThumbnailSpec): ThumbnailEncodeSpec {
  const frames: ThumbnailEncodeSpec["frames"] = spec.times
    ? { mode: "times", times: spec.times.map((t) => (typeof t === "number" ? { seconds: t } : { percent: Number(t.slice(0, -1)) })) }
    : spec.interval !== undefined
      ? { mode: "interval", seconds: spec.interval }
      : { mode: "count", count: spec.count ?? 1 };
  return {
    kind: "thumbnail",
    format: spec.format,
    ...(spec.width !== undefined && { width: spec.width }),
    ...(spec.height !== undefined && { height: spec.height }),
    frames,
    ...(spec.sprite && { sprite: spec.columns === undefined ? {} : { columns: spec.columns } }),
  };
}
