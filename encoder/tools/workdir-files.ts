import { lstat, mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { matchesToolPattern } from "../contract";
import { PipelineError } from "../errors";

/**
 * `rel` (a relative path the contract already checked: plain names, no `..`) under the
 * working directory, refused if it resolves anywhere else all the same.
 */
export function inside(dir: string, ...rel: string[]): string {
  const full = path.resolve(dir, ...rel);
  if (full !== dir && !full.startsWith(`${dir}${path.sep}`)) throw new PipelineError("file_missing", `${path.join(...rel)} is outside the working directory`);
  return full;
}

/**
 * A directory of the working directory, made if missing. Each existing level must be a
 * real directory: a symbolic link a tool run left there must not lead the encoder's own
 * file operations outside.
 */
export async function ensureDir(dir: string, rel: string): Promise<string> {
  let current = dir;
  for (const segment of rel.split("/").filter(Boolean)) {
    current = path.join(current, segment);
    // Parallel steps may make the same directory at once: whoever made it, it must be a directory now.
    await mkdir(current).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
    const info = await lstat(current);
    if (!info.isDirectory()) throw new PipelineError("file_missing", `${path.relative(dir, current)} is not a directory`);
  }
  return current;
}

/** An existing directory of the working directory, checked level by level as ensureDir does, without making it. */
export async function existingDir(dir: string, rel: string): Promise<string> {
  let current = dir;
  for (const segment of rel.split("/").filter(Boolean)) {
    current = path.join(current, segment);
    const info = await lstat(current).catch(() => null);
    if (!info?.isDirectory()) throw new PipelineError("file_missing", `${path.relative(dir, current) || "."} is not a directory of the working directory`);
  }
  return current;
}

/** The regular files directly in `dir` (no links, no directories), sorted by name. */
export async function regularFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

/** The regular files of `dir` each pattern matches; a pattern matching none fails the step. */
export async function matchFiles(dir: string, patterns: readonly string[], where: string): Promise<string[]> {
  const files = await regularFiles(dir);
  const matched = new Set<string>();
  for (const pattern of patterns) {
    const hits = files.filter((f) => matchesToolPattern(pattern, f));
    if (hits.length === 0) throw new PipelineError("file_missing", `no file in ${where || "the working directory"} matches ${pattern}`);
    for (const hit of hits) matched.add(hit);
  }
  return [...matched].sort();
}
