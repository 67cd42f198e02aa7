import { z } from "@hono/zod-openapi";

/** Ittybit's option vocabulary, shared by the kinds that use it. */
export const quality = z.enum(["very_low", "low", "medium", "high", "very_high"]);
export const fit = z.enum(["contain", "cover", "fill"]);
export const position = z.enum([
  "center",
  "top",
  "bottom",
  "left",
  "right",
  "top_left",
  "top_right",
  "bottom_left",
  "bottom_right",
]);
export const background = z.string().regex(/^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i, "a hex colour such as #000000");

/** Pixels (even sizes are enforced by the encoder) or a percentage of the source, "1%"–"100%". */
export const dimension = z.union([
  z.number().int().min(2).max(7680),
  z.string().regex(/^(?:100|[1-9][0-9]?)%$/, 'a percentage from "1%" to "100%"'),
]);
export const seconds = z.number().min(0).max(86_400);
export const fps = z.number().min(1).max(60);

export const visualOptions = {
  quality: quality.optional(),
  width: dimension.optional(),
  height: dimension.optional(),
  fit: fit.optional(),
  position: position.optional(),
  background: background.optional(),
};

type Refinable = { fit?: string; background?: string; start?: number; end?: number };

/** The cross-field rules every Ittybit kind shares. */
export function refineCommon(value: Refinable, ctx: z.RefinementCtx): void {
  if (value.background !== undefined && value.fit !== undefined && value.fit !== "contain") {
    ctx.addIssue({ code: "custom", path: ["background"], message: "background is only valid with fit: contain" });
  }
  if (value.start !== undefined && value.end !== undefined && value.end <= value.start) {
    ctx.addIssue({ code: "custom", path: ["end"], message: "end must be after start" });
  }
}
