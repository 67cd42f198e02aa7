import { z } from "@hono/zod-openapi";

/** Stills taken alongside the main outputs: at given times, at an interval, or N spread evenly. */
export const thumbnailSpecSchema = z
  .strictObject({
    format: z.enum(["jpeg", "png", "webp"]).default("jpeg"),
    width: z.number().int().min(16).max(3840).optional(),
    height: z.number().int().min(16).max(2160).optional(),
    times: z.array(z.number().min(0).max(86_400)).min(1).max(100).optional(),
    interval: z.number().min(0.1).max(3600).optional(),
    count: z.number().int().min(1).max(100).optional(),
    sprite: z.boolean().optional(),
  })
  .superRefine((spec, ctx) => {
    const modes = [spec.times, spec.interval, spec.count].filter((m) => m !== undefined).length;
    if (modes > 1) ctx.addIssue({ code: "custom", message: "give one of times, interval or count" });
  });
export type ThumbnailSpec = z.infer<typeof thumbnailSpecSchema>;
