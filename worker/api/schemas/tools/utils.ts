import { z } from "@hono/zod-openapi";
import { relativeDir, relativeFile, toolFileEntry } from "./paths";

/** A variable's name, as `${NAME}` refers to it. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** utils:env — the parameters are the variables: `{"LANG": "deu", "BITRATE": 1500}`. */
export const utilsEnvParameters = z
  .record(z.string().regex(ENV_NAME, "a variable name: letters, digits and _, not starting with a digit"), z.union([z.string().max(1024), z.number(), z.boolean()]))
  .refine((vars) => Object.keys(vars).length >= 1 && Object.keys(vars).length <= 50, "1 to 50 variables")
  .transform((vars) => Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)])));

/** The `(?<name>…)` groups of a regular expression's source. */
const groupNames = (source: string): string[] => [...source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]!);

/**
 * utils:rename — every file of `base_dir` whose whole name matches `pattern` is renamed
 * to `template`, its `{group}` placeholders filled from the named groups of the match.
 */
export const utilsRenameParameters = z
  .strictObject({
    pattern: z.string().min(1).max(256),
    template: z.string().min(1).max(255),
    base_dir: relativeDir.default(""),
  })
  .superRefine(({ pattern, template }, ctx) => {
    try {
      new RegExp(pattern, "u");
    } catch (err) {
      return void ctx.addIssue({ code: "custom", path: ["pattern"], params: { code: "invalid_pattern" }, message: `not a regular expression: ${(err as Error).message}` });
    }
    const groups = new Set(groupNames(pattern));
    for (const [, name] of template.matchAll(/\{([^}]*)\}/g)) {
      if (!groups.has(name!)) ctx.addIssue({ code: "custom", path: ["template"], params: { code: "invalid_pattern" }, message: `{${name}} names no group of the pattern; its groups: ${[...groups].join(", ") || "none"}` });
    }
    const literal = template.replace(/\{[^}]*\}/g, "x");
    if (!/^[A-Za-z0-9._-]+$/.test(literal)) ctx.addIssue({ code: "custom", path: ["template"], message: "the new name is a plain file name: letters, digits, . _ - and {group}" });
  });

/**
 * utils:tar — `pack` writes `archive` from `files` (names or patterns in base_dir,
 * default all of its files); `unpack` extracts `archive` into base_dir, refusing
 * members that are links, devices, absolute paths or leave the directory.
 */
export const utilsTarParameters = z
  .strictObject({
    mode: z.enum(["pack", "unpack"]),
    archive: relativeFile.refine((name) => /\.(tar|tar\.gz|tgz)$/.test(name), "a .tar, .tar.gz or .tgz file"),
    files: z.array(toolFileEntry({ wildcards: true, tool: "utils:tar" })).min(1).max(100).optional(),
    base_dir: relativeDir.default(""),
  })
  .refine((p) => p.mode === "pack" || p.files === undefined, { path: ["files"], message: "files go with mode pack; unpack extracts the whole archive" });
