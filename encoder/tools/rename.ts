import { randomUUID } from "node:crypto";
import { lstat, rename } from "node:fs/promises";
import path from "node:path";
import vm from "node:vm";
import { toolFileNameSchema } from "../contract";
import { PipelineError } from "../errors";
import type { StepContext, StepOf } from "./step";
import { existingDir, regularFiles } from "./workdir-files";

/** A user's regular expression may backtrack for ever; its matching is stopped after this. */
const MATCH_TIMEOUT_MS = 1000;

/**
 * Each name's named groups when the whole name matches, or null: run in a separate V8
 * context with a time limit, since the pattern is the user's.
 */
function matchAll(pattern: string, names: readonly string[]): (Record<string, string> | null)[] {
  const sandbox = { pattern, names: [...names], result: [] as (Record<string, string> | null)[] };
  try {
    vm.runInNewContext(
      `const re = new RegExp("^(?:" + pattern + ")$", "u");
       for (const name of names) { const m = re.exec(name); result.push(m ? Object.assign({}, m.groups) : null); }`,
      sandbox,
      { timeout: MATCH_TIMEOUT_MS },
    );
  } catch (err) {
    throw new PipelineError("rename_conflict", `the pattern could not be matched against the file names: ${(err as Error).message}`);
  }
  return JSON.parse(JSON.stringify(sandbox.result)) as (Record<string, string> | null)[];
}

/**
 * utils:rename — every regular file of base_dir whose whole name matches the pattern
 * gets the template's name, `{group}` filled from the match. All new names are decided
 * first: each must be a plain file name, no two the same, and none an existing file that
 * is not itself renamed; then the files are renamed.
 */
export async function renameFiles(step: StepOf<"utils:rename">, { place, log, progress }: StepContext): Promise<void> {
  const from = await existingDir(place.dir, step.base_dir);
  const files = await regularFiles(from);
  const matches = matchAll(step.pattern, files);
  const moves: { from: string; to: string }[] = [];
  files.forEach((file, i) => {
    const groups = matches[i];
    if (!groups) return;
    const to = step.template.replace(/\{([^}]*)\}/g, (_, name: string) => groups[name] ?? "");
    if (!toolFileNameSchema.safeParse(to).success) throw new PipelineError("rename_conflict", `${file} would be renamed to ${JSON.stringify(to)}, which is not a plain file name`);
    if (to !== file) moves.push({ from: file, to });
  });
  const leaving = new Set(moves.map((m) => m.from));
  const arriving = new Set<string>();
  for (const move of moves) {
    if (arriving.has(move.to)) throw new PipelineError("rename_conflict", `two files would be renamed to ${move.to}`);
    arriving.add(move.to);
    const taken = await lstat(path.join(from, move.to)).catch(() => null);
    if (taken && !leaving.has(move.to)) throw new PipelineError("rename_conflict", `${move.from} would be renamed to ${move.to}, which exists`);
  }
  // Through temporary names, so that a chain (a → b, b → c) loses nothing.
  const staged = moves.map((m, i) => ({ ...m, via: `.kiln-rename-${randomUUID()}` }));
  for (const m of staged) await rename(path.join(from, m.from), path.join(from, m.via));
  for (const [i, m] of staged.entries()) {
    await rename(path.join(from, m.via), path.join(from, m.to));
    log.add(`${m.from} → ${m.to}`);
    progress((i + 1) / staged.length);
  }
  if (moves.length === 0) log.add(`no file of ${step.base_dir || "the working directory"} matches ${step.pattern}`);
}
