import { createHash } from "node:crypto";
import { lstat } from "node:fs/promises";
import path from "node:path";
import { PipelineError } from "../errors";
import { networkAccess } from "../net/guarded-fetch";
import { exportOutputs } from "../pipeline/export";
import { factsOf } from "../pipeline/verify";
import { probeInSandbox } from "./sandboxed-probe";
import type { StepContext, StepOf } from "./step";
import { existingDir, matchFiles } from "./workdir-files";

/**
 * The id of the output a pattern's file becomes: derived from the task and the name, so
 * that a later attempt of the job announces the same output again rather than another.
 */
export function discoveredOutputId(taskId: string, file: string): string {
  return `out_${createHash("sha256").update(`${taskId}\0${file}`).digest("hex").slice(0, 32)}`;
}

/**
 * storage:put — the named files, and every regular file of base_dir a pattern matches,
 * each a regular file of the working directory (a symlink or anything else would let the
 * upload read outside it). The matched files are announced as outputs, and the
 * announcement delivered, before the export signs them; then all are uploaded through
 * the export signing route (which refuses an existing object unless the put
 * overwrites) and described by ffprobe in the sandbox: a file that is not media is stored
 * all the same, with null media facts.
 */
export async function putFiles(step: StepOf<"storage:put">, { order, runtime, place, log, progress }: StepContext): Promise<void> {
  const baseDir = step.base_dir ?? "";
  const from = await existingDir(place.dir, baseDir);
  for (const { name } of step.files) {
    const info = await lstat(path.join(from, name)).catch(() => null);
    if (!info) throw new PipelineError("file_missing", `${path.join(baseDir, name)} is not in the working directory`);
    if (!info.isFile()) throw new PipelineError("file_missing", `${name} is ${info.isSymbolicLink() ? "a symbolic link" : "not a regular file"}: only files in the working directory can be stored`);
  }
  const named = new Set(step.files.map((f) => f.name));
  const matched = step.patterns ? (await matchFiles(from, step.patterns, baseDir)).filter((f) => !named.has(f)) : [];
  const discovered = matched.map((file) => ({ output_id: discoveredOutputId(step.task_id, file), file }));
  if (discovered.length > 0) {
    log.add(`${step.patterns!.join(", ")} matched ${matched.join(", ")}`);
    await runtime.reporter.send({ type: "outputs_discovered", task_id: step.task_id, outputs: discovered });
  }
  const all = [...step.files.map((f) => ({ file: f.name, output_id: f.output_id })), ...discovered];
  const stored = await exportOutputs(order, from, all.map((f) => ({ outputId: f.output_id, main: f.file, files: [f.file] })), runtime.signal, networkAccess(runtime));
  for (const [i, output] of stored.entries()) {
    const probed = await probeInSandbox(path.join(baseDir, output.main), place);
    const facts = probed ? factsOf(probed) : { duration_ms: null, width: null, height: null, codec: null };
    log.add(`stored ${output.main}: ${output.size_bytes} bytes, sha256 ${output.sha256}${facts.codec ? `, ${facts.codec}` : ""}`);
    void runtime.reporter.send({ type: "output_completed", task_id: step.task_id, output: { ...output, ...facts } });
    progress((i + 1) / stored.length);
  }
}
