import { z } from "@hono/zod-openapi";
import { ApiError, validationFailure } from "../errors";
import { builtInPresets } from "../jobs/presets";
import { type OutputSpec, outputSpecSchema } from "../api/schemas/outputs";
import { findOrgPreset, isBuiltInSlug } from "./store";

/** What a preset stands for: an output spec with at least a type and video. */
export type PresetOutput = Omit<OutputSpec, "preset">;
/** The presets a request names, by the reference it uses (`pst_…` or a slug). */
export type PresetLookup = ReadonlyMap<string, PresetOutput>;

/**
 * Merge rule: the preset's fields, then the output's own on top, field by field at
 * the top level. A field the output gives replaces the preset's whole value (its
 * `video` list replaces the preset's list; it is not merged variant by variant). The
 * output keeps its `preset` reference, so the job shows where its fields came from.
 */
export function applyPreset(output: OutputSpec, presets: PresetLookup): OutputSpec & { type: NonNullable<OutputSpec["type"]> } {
  const preset = output.preset === undefined ? undefined : presets.get(output.preset);
  const merged = { ...preset, ...output };
  return { ...merged, type: merged.type! };
}

/**
 * Finds every preset the outputs name: the organization's own (by `pst_…` id or slug)
 * first, then the built-ins by slug. An unknown one is `422 preset_not_found`; an
 * override the preset does not allow (h264 from the preset in a webm output) fails
 * the output rules like any output, with the same codes.
 */
export async function resolvePresets(db: D1Database, orgId: string, outputs: readonly OutputSpec[] | undefined): Promise<PresetLookup> {
  const presets = new Map<string, PresetOutput>();
  for (const [i, output] of (outputs ?? []).entries()) {
    const ref = output.preset;
    if (ref === undefined || presets.has(ref)) continue;
    const own = await findOrgPreset(db, orgId, ref);
    const found = own ? (own.output as PresetOutput) : isBuiltInSlug(ref) ? builtInPresets[ref]! : undefined;
    if (!found) {
      throw new ApiError(422, "preset_not_found", `outputs.${i}.preset: no preset ${ref}; built-in: ${Object.keys(builtInPresets).join(", ")}`, {
        issues: [{ path: `outputs.${i}.preset`, message: `no preset ${ref}` }],
      });
    }
    presets.set(ref, found);
  }
  const issues: z.core.$ZodIssue[] = [];
  for (const [i, output] of (outputs ?? []).entries()) {
    if (output.preset === undefined) continue;
    const checked = outputSpecSchema.safeParse(applyPreset(output, presets));
    if (!checked.success) issues.push(...checked.error.issues.map((issue) => ({ ...issue, path: ["outputs", i, ...issue.path] })));
  }
  if (issues.length > 0) throw validationFailure(new z.ZodError(issues), "json");
  return presets;
}
