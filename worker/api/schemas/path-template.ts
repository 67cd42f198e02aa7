import { z } from "@hono/zod-openapi";

export const pathTemplateVariables = ["job_id", "output_id", "date", "format", "codec", "resolution", "quality"] as const;
export type PathTemplateVariable = (typeof pathTemplateVariables)[number];
export type PathTemplateValues = Record<PathTemplateVariable, string>;

/**
 * What a variable becomes when the output does not say: `{resolution}` of an output
 * kept at the source's size is `source`; `{codec}` and `{quality}` left to the
 * encoder's defaults are `default`.
 */
export const SOURCE_RESOLUTION = "source";
export const DEFAULT_VALUE = "default";

const VARIABLE = /\{([^}]*)\}/g;

/** Why `template` is not a usable object-key template, or null. */
export function pathTemplateProblem(template: string): string | null {
  for (const [, name] of template.matchAll(VARIABLE)) {
    if (!(pathTemplateVariables as readonly string[]).includes(name!)) {
      return `unknown variable {${name}}; use ${pathTemplateVariables.map((v) => `{${v}}`).join(", ")}`;
    }
  }
  if (template.startsWith("/") || template.startsWith("\\")) return "must be relative (no leading /)";
  if (template.split(/[/\\]/).some((segment) => segment === "..")) return "must not contain a .. segment";
  if (/[\u0000-\u001f]/.test(template)) return "must not contain control characters";
  return null;
}

/** Object-key templates: known `{variables}` only, relative, and no `..` segment. */
export const pathTemplate = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((template, ctx) => {
    const problem = pathTemplateProblem(template);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** Substitutes every variable; the template has passed pathTemplateProblem. */
export function renderPathTemplate(template: string, values: PathTemplateValues): string {
  return template.replace(VARIABLE, (_, name: PathTemplateVariable) => values[name]);
}

/** Values of the longest shapes real ones take, for checking a template's rendered key at creation. */
export const samplePathTemplateValues: PathTemplateValues = {
  job_id: "job_00000000000000000000",
  output_id: "out_00000000000000000000",
  date: "2000-01-01",
  format: "mp4",
  codec: "h264",
  resolution: "1920x1080",
  quality: "standard",
};

type Dimension = number | string | undefined;
const dimension = (d: Dimension) => (typeof d === "string" ? d.replace("%", "pct") : String(d));

/** `1280x720`; `1280w` or `720p` when only one side is given; a preset name such as `720p` as is. */
function resolutionOf(named: string | undefined, width: Dimension, height: Dimension): string {
  if (named) return named;
  if (width !== undefined && height !== undefined) return `${dimension(width)}x${dimension(height)}`;
  if (width !== undefined) return `${dimension(width)}w`;
  if (height !== undefined) return `${dimension(height)}p`;
  return SOURCE_RESOLUTION;
}

interface OutputForTemplate {
  id: string;
  type: string;
  /** A kind's options, an outputs[] spec (first video variant counts) or a thumbnail spec. */
  spec: Record<string, unknown>;
}

/** The variables of one output of one job; `{date}` is the job's creation date (UTC). */
export function outputTemplateValues(job: { id: string; created_at: string }, output: OutputForTemplate): PathTemplateValues {
  const spec = output.spec as {
    format?: string;
    type?: string;
    codec?: string;
    quality?: string;
    width?: Dimension;
    height?: Dimension;
    video?: { codec?: string; quality?: string; resolution?: string; width?: number; height?: number }[];
  };
  const variant = spec.video?.[0];
  return {
    job_id: job.id,
    output_id: output.id,
    date: job.created_at.slice(0, 10),
    format: spec.format ?? spec.type ?? output.type,
    codec: spec.codec ?? variant?.codec ?? DEFAULT_VALUE,
    resolution: variant ? resolutionOf(variant.resolution, variant.width, variant.height) : resolutionOf(undefined, spec.width, spec.height),
    quality: spec.quality ?? variant?.quality ?? DEFAULT_VALUE,
  };
}
