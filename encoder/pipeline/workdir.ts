import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export function workRoot(): string {
  return process.env.KILN_WORK_DIR ?? path.join(os.tmpdir(), "kiln-work");
}

/**
 * Runs `work` inside a fresh directory for one attempt of one job and removes the
 * directory afterwards, whatever happened.
 */
export async function withWorkDir<T>(jobId: string, attempt: number, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = path.join(workRoot(), `${jobId.replace(/[^A-Za-z0-9_-]/g, "_")}-${attempt}-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  try {
    return await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
