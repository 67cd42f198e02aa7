import { z } from "@hono/zod-openapi";
import { styleConfigSchema } from "../../../encoder/contract";

/** A template is an http(s) URL or an upload of the organization (`vid_…`). */
const templateRef = z
  .string()
  .max(4096)
  .regex(/^(?:https?:\/\/[^\s/$.?#][^\s]*|vid_[a-z0-9]{1,64})$/, "an http(s) URL or an upload id (vid_…)");

/**
 * A style job (Clipzy's): the input is measured as StyleJSON; with a template, the
 * template's style is measured too and the input rendered in it (config may override
 * or switch off parts); without one, the input is rendered only when config asks for a
 * change.
 */
export const styleRequestSchema = z
  .strictObject({
    template: templateRef.optional().openapi({ example: "vid_a1b2c3d4e5f6" }),
    config: styleConfigSchema.optional(),
  })
  .openapi("StyleRequest");
export type StyleRequest = z.infer<typeof styleRequestSchema>;
