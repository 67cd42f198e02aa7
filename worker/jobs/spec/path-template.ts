import { z } from "@hono/zod-openapi";

export const pathTemplateVariables = ["job_id", "output_id", "date", "format", "codec", "resolution", "quality"] as const;

/** Object-key templates: known `{variables}` only, relative, and no `..` segment. */
export const pathTemplate = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((template, ctx) => {
    for (const [, name] of template.matchAll(/\{([^}]*)\}/g)) {
      if (!(pathTemplateVariables as readonly string[]).includes(name!)) {
        ctx.addIssue({ code: "custom", message: `unknown variable {${name}}; use ${pathTemplateVariables.map((v) => `{${v}}`).join(", ")}` });
      }
    }
    if (template.startsWith("/") || template.startsWith("\\")) ctx.addIssue({ code: "custom", message: "must be relative (no leading /)" });
    if (template.split(/[/\\]/).some((segment) => segment === "..")) ctx.addIssue({ code: "custom", message: "must not contain a .. segment" });
    if (/[\u0000-\u001f]/.test(template)) ctx.addIssue({ code: "custom", message: "must not contain control characters" });
  });
