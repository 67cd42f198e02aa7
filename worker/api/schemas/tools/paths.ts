import { z } from "@hono/zod-openapi";
import { toolFileNameSchema } from "../../../../encoder/contract";

// Names a tool reads or writes are inside the job's working directory. Each way out of
// it has its own code, so a VTK script that used absolute paths learns what to change.

const WILDCARD = /[*?]/;

/** Why `text` (a file name or a relative directory) would leave the working directory, with its code; null if it stays. */
function escapeProblem(text: string): { code: "absolute_path" | "path_outside_workdir"; message: string } | null {
  if (text.startsWith("/") || text.startsWith("~") || /^[A-Za-z]:[\\/]/.test(text)) {
    return { code: "absolute_path", message: `${text} is an absolute path; tools read and write relative to the job's working directory` };
  }
  if (text.split(/[\\/]/).includes("..")) return { code: "path_outside_workdir", message: `${text} leaves the job's working directory (..)` };
  return null;
}

/**
 * One entry of a tool's `files`: a plain name in the working directory (or in
 * `base_dir`). `wildcards` lets `*` (any run of characters) and `?` (one character)
 * match names when the task runs; without it they are refused with their own code.
 */
export function toolFileEntry(options: { wildcards: boolean; tool: string }) {
  return z.string().superRefine((name, ctx) => {
    const escape = escapeProblem(name);
    if (escape) return void ctx.addIssue({ code: "custom", params: { code: escape.code }, message: escape.message });
    if (WILDCARD.test(name)) {
      if (!options.wildcards) {
        return void ctx.addIssue({ code: "custom", params: { code: "wildcard_not_allowed" }, message: `${options.tool} names each file exactly; wildcards (* and ?) are for storage:put` });
      }
      if (!toolFileNameSchema.safeParse(name.replace(/[*?]/g, "x")).success) ctx.addIssue({ code: "custom", message: "a pattern of letters, digits, . _ - with * and ?" });
      return;
    }
    if (!toolFileNameSchema.safeParse(name).success) ctx.addIssue({ code: "custom", message: `${name}: a plain file name (letters, digits, . _ -) inside the job's working directory` });
  });
}

export const hasWildcard = (name: string): boolean => WILDCARD.test(name);

/** A directory inside the working directory, written relative to it (`''` is the directory itself). */
export const relativeDir = z
  .string()
  .max(512)
  .superRefine((dir, ctx) => {
    const escape = escapeProblem(dir);
    if (escape) return void ctx.addIssue({ code: "custom", params: { code: escape.code }, message: escape.message });
    const segments = dir.replace(/\/+$/, "").split("/");
    if (dir !== "" && !segments.every((s) => s === "." || toolFileNameSchema.safeParse(s).success)) {
      ctx.addIssue({ code: "custom", message: "a relative directory of plain names (letters, digits, . _ -) separated by /" });
    }
  })
  .transform((dir) => dir.replace(/\/+$/, "").split("/").filter((s) => s !== "." && s !== "").join("/"));

/** A file named by a relative path inside the working directory (`sub/name.mp4`). */
export const relativeFile = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((file, ctx) => {
    const escape = escapeProblem(file);
    if (escape) return void ctx.addIssue({ code: "custom", params: { code: escape.code }, message: escape.message });
    if (!file.split("/").every((s) => toolFileNameSchema.safeParse(s).success)) {
      ctx.addIssue({ code: "custom", message: "a relative path of plain names (letters, digits, . _ -) separated by /" });
    }
  });
