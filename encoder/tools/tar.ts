import { lstat } from "node:fs/promises";
import path from "node:path";
import { toolFileNameSchema } from "../contract";
import { PipelineError } from "../errors";
import { StderrTail } from "../ffmpeg/lines";
import type { StepContext, StepOf } from "./step";
import { type TarMember, tarMembers } from "./tar-members";
import { ensureDir, existingDir, matchFiles, regularFiles } from "./workdir-files";

/** Why a member may not be unpacked, or null: only files and directories under plain relative names. */
function memberProblem(member: TarMember): string | null {
  if (member.type !== "file" && member.type !== "contiguous-file" && member.type !== "directory") {
    const kinds: Partial<Record<TarMember["type"], string>> = { link: "a hard link", symlink: "a symbolic link", "character-device": "a character device", "block-device": "a block device", fifo: "a FIFO" };
    return `${member.name} is ${kinds[member.type] ?? `of type ${member.type}`}; only files and directories are unpacked`;
  }
  if (member.name.startsWith("/")) return `${member.name} is an absolute path`;
  const segments = member.name.replace(/\/+$/, "").split("/");
  if (segments.includes("..")) return `${member.name} leaves the directory (..)`;
  if (!segments.every((s) => s === "." || toolFileNameSchema.safeParse(s).success)) return `${JSON.stringify(member.name)} is not a relative path of plain names`;
  return null;
}

/**
 * utils:tar — `pack` writes the archive (gzip-compressed for .tar.gz and .tgz) from
 * regular files of base_dir: the named and matched ones, or all of them. `unpack` reads
 * every member's header first and refuses the whole archive if any is a link, a device,
 * an absolute path or leaves the directory (`archive_refused`); then GNU tar extracts
 * it into base_dir. tar runs in the sandbox either way: the archive is the user's.
 */
export async function tarFiles(step: StepOf<"utils:tar">, { place, log, progress }: StepContext): Promise<void> {
  const archive = path.join(place.dir, step.archive);
  const gzip = /\.(tar\.gz|tgz)$/.test(step.archive);
  let args: string[];
  if (step.mode === "pack") {
    const from = await existingDir(place.dir, step.base_dir);
    await ensureDir(place.dir, path.dirname(step.archive));
    const names = (step.files ? await matchFiles(from, step.files, step.base_dir) : await regularFiles(from)).filter((f) => path.join(from, f) !== archive);
    if (names.length === 0) throw new PipelineError("file_missing", `${step.base_dir || "the working directory"} has no file to pack`);
    log.add(`packing ${names.length} files into ${step.archive}: ${names.join(", ")}`);
    args = ["-c", ...(gzip ? ["-z"] : []), "-f", step.archive, "-C", step.base_dir || ".", "--", ...names];
  } else {
    const info = await lstat(archive).catch(() => null);
    if (!info?.isFile()) throw new PipelineError("file_missing", `${step.archive} is not a file in the working directory`);
    let members: TarMember[];
    try {
      members = await tarMembers(archive);
    } catch (err) {
      throw new PipelineError("archive_refused", `${step.archive} cannot be read as a tar archive: ${(err as Error).message}`);
    }
    const problems = members.map(memberProblem).filter((p): p is string => p !== null);
    if (problems.length > 0) throw new PipelineError("archive_refused", `${step.archive} was not unpacked: ${problems.slice(0, 5).join("; ")}`);
    await ensureDir(place.dir, step.base_dir);
    log.add(`unpacking ${members.length} members of ${step.archive} into ${step.base_dir || "the working directory"}`);
    args = ["-x", ...(gzip ? ["-z"] : []), "-f", step.archive, "-C", step.base_dir || ".", "--no-same-owner", "--no-same-permissions", "--delay-directory-restore"];
  }
  const stderr = new StderrTail((line) => log.add(line));
  let code: number;
  try {
    code = await place.sandbox.run({ dir: place.dir, command: ["tar", ...args], limits: place.limits, signal: place.signal, onStderr: (t) => stderr.push(t) });
  } finally {
    stderr.end();
  }
  if (code !== 0) throw new PipelineError(step.mode === "unpack" ? "archive_refused" : "encode_failed", `tar exited with ${code}${stderr.text ? `:\n${stderr.text}` : ""}`);
  progress(1);
}
