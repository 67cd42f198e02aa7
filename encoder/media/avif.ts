import { rm } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { PipelineError } from "../errors";
import type { PostStep } from "../ffmpeg/command";

/**
 * AVIF through sharp's bundled libheif and libaom, since ffmpeg 5.1 cannot mux it.
 * effort 4 (of 0–9, sharp's default) takes about 2 s for a 1080p still on 2 cores;
 * effort 2 is 3× faster but the file larger at the same quality setting.
 */
const AVIF_EFFORT = 4;

/** Finishes what ffmpeg could not: writes the target and removes the intermediate. */
export async function encodeAvif(step: Extract<PostStep, { kind: "avif" }>, cwd: string): Promise<void> {
  const source = path.join(cwd, step.source);
  try {
    await sharp(source).avif({ quality: step.quality, effort: AVIF_EFFORT }).toFile(path.join(cwd, step.target));
  } catch (err) {
    throw new PipelineError("encode_failed", `AVIF encoding failed: ${(err as Error).message}`);
  } finally {
    await rm(source, { force: true });
  }
}
