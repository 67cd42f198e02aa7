import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { PostStep } from "../ffmpeg/command";
import { encodeAvif } from "./avif";

/** Runs a command's post step in the job's working directory. */
export async function runPostStep(step: PostStep, cwd: string): Promise<void> {
  switch (step.kind) {
    case "avif":
      return encodeAvif(step, cwd);
    case "text":
      return writeFile(path.join(cwd, step.target), step.text, "utf8");
  }
}
