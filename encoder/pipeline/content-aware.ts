import { rm, stat } from "node:fs/promises";
import path from "node:path";
import type { ContentAwareDecision } from "../contract";
import type { SourceInfo } from "../ffmpeg/command";
import type { Cores } from "../ffmpeg/cores";
import { type ContentAwareAdjustment, buildComplexityProbeCommand, contentAwareAdjustment } from "../ffmpeg/complexity";
import type { TimeWindow } from "../ffmpeg/framing";
import type { OutputLayout } from "../ffmpeg/renditions";
import { runFfmpeg } from "../ffmpeg/runner";

export interface MeasuredComplexity extends ContentAwareAdjustment {
  probeMs: number;
}

/**
 * Runs the complexity probe (complexity.ts) in the job's working directory and turns
 * the size of what it encoded into the per-title adjustment. Once per job: the source
 * is the same for every content-aware output. The probe's stream is removed afterwards.
 */
export async function measureComplexity(source: SourceInfo, options: { cwd: string; signal: AbortSignal; ffmpeg?: string; clip?: TimeWindow; cores?: Cores }): Promise<MeasuredComplexity> {
  const command = buildComplexityProbeCommand(source, options.clip);
  const file = path.join(options.cwd, command.main);
  const started = performance.now();
  try {
    await runFfmpeg(command, options);
    const { size } = await stat(file);
    return { ...contentAwareAdjustment(size, command), probeMs: Math.round(performance.now() - started) };
  } finally {
    await rm(file, { force: true });
  }
}

/** What an output's task_completed reports: the score and, per rung, the CRF and cap it was encoded with. */
export function contentAwareDecision(layout: OutputLayout, measured: MeasuredComplexity): ContentAwareDecision {
  return {
    mode: "per_title",
    complexity: measured.complexity,
    bits_per_pixel: measured.bitsPerPixel,
    probe_ms: measured.probeMs,
    variants: layout.variants.map((v) => ({
      name: v.name,
      codec: v.codec,
      width: v.plan.width,
      height: v.plan.height,
      crf: v.crf,
      // SVT-AV1 1.4 ignores a peak in CRF mode, so none is passed (renditions.ts) and none reported.
      maxrate_kbps: v.maxrate === null || v.codec === "av1" ? null : Math.round(v.maxrate / 1000),
      adjusted: v.contentAware,
    })),
  };
}
