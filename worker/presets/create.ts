import type { z } from "@hono/zod-openapi";
import type { OutputSpec } from "../api/schemas/outputs";
import { ApiError } from "../errors";
import { newId } from "../ids";
import { type PresetRow, insertPreset, isBuiltInSlug } from "./store";

/** A preset as a front-end asks for it, its output already checked as a job's output would be. */
export interface NewPreset {
  slug: string;
  name?: string;
  description?: string;
  output: OutputSpec;
}

/** What a preset must also meet, beyond its output being a valid output: the rules of every front-end that creates one. */
export function checkPreset(preset: Pick<NewPreset, "slug" | "output">, ctx: z.RefinementCtx): void {
  if (isBuiltInSlug(preset.slug)) ctx.addIssue({ code: "custom", path: ["slug"], message: `${preset.slug} is a built-in preset's slug` });
  if (preset.output.preset !== undefined) ctx.addIssue({ code: "custom", path: ["output", "preset"], message: "a preset cannot name another preset" });
  // Presets are stored and shown in clear; content keys only ever live sealed in a job.
  if (preset.output.drm?.scheme === "cenc" && preset.output.drm.key !== undefined) {
    ctx.addIssue({ code: "custom", path: ["output", "drm", "key"], params: { code: "invalid_drm" }, message: "a preset cannot hold a content key; give drm.key on the job's output" });
  }
}

/** Stores the organization's preset; `409 preset_exists` when the organization already has its slug. */
export async function createPreset(db: D1Database, orgId: string, input: NewPreset): Promise<PresetRow> {
  const row = {
    id: newId("pst"),
    orgId,
    slug: input.slug,
    name: input.name ?? input.slug,
    description: input.description ?? null,
    output: input.output as Record<string, unknown>,
    createdAt: new Date().toISOString(),
  };
  if (!(await insertPreset(db, row))) throw new ApiError(409, "preset_exists", `The organization already has a preset ${input.slug}`);
  return row;
}
