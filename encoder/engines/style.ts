import path from "node:path";
import type { OutputFacts, StyleOrder, StyleStage } from "../contract";
import { PipelineError, toFailure } from "../errors";
import { probeFile, requireStreams } from "../ffmpeg/probe";
import { networkAccess } from "../net/guarded-fetch";
import { exportOutputs } from "../pipeline/export";
import { importInput } from "../pipeline/import";
import { overDuration, overFrameBudget } from "../pipeline/input-limits";
import type { Reporter } from "../pipeline/reporter";
import { factsOf } from "../pipeline/verify";
import { withWorkDir } from "../pipeline/workdir";
import { type StageProgress, type StyleAnalysis, type StyleTools, analyzeAudio, analyzeMotion, analyzeVideo, composeStyle } from "../style/analysis";
import { planStyle, renderStyle } from "../style/render";
import type { EngineRuntime } from "./runtime";

const SOURCE = "source";
const TEMPLATE = "template";
const OUTPUT = "styled.mp4";

/** Each stage's share of the job's progress: Clipzy's documented bands (a job that does not render spreads the first four over 0–100). */
const BAND: Record<StyleStage, number> = { video_analysis: 20, audio_analysis: 15, motion_analysis: 20, style_extraction: 10, style_application: 20, rendering: 15 };

type Pair<T> = { source: T; template: T | null };

/**
 * The style engine: imports the source (the job's input) and the template, measures
 * both stage by stage (video, audio, motion), composes their StyleJSON, and, when the
 * order renders, plans the application, renders the source into one MP4, measures that
 * and exports it. Each stage is its planned task: task_started, progress and
 * task_completed under its id. The style the job reports (the template's, or without
 * one the source's own) is sent with style_measured at style_extraction, the output's
 * measures and the comparison at rendering. A file that is not readable media fails the
 * stage that found it, with input_unreadable.
 */
export async function runStyle(order: StyleOrder, runtime: EngineRuntime): Promise<void> {
  const { reporter, signal } = runtime;
  const tools: StyleTools = { ffmpeg: runtime.ffmpeg ?? "ffmpeg", ffprobe: runtime.ffprobe ?? "ffprobe", signal, cores: runtime.cores };
  const total = order.tasks.reduce((sum, t) => sum + BAND[t.stage], 0);
  let current = order.tasks[0]!;
  let done = 0;
  // The last word is sent after the working directory is gone, so "done" means clean.
  let last: Parameters<Reporter["send"]>[0] = { type: "job_completed" };
  try {
    await withWorkDir(order.job_id, order.attempt, async (dir) => {
      /** Runs a planned stage as its task; a stage the order did not plan does not run. */
      const stage = async <T>(name: StyleStage, work: (progress: StageProgress) => Promise<T>, completed?: (result: T) => Promise<OutputFacts | null>): Promise<T> => {
        const task = order.tasks.find((t) => t.stage === name);
        if (!task) throw new Error(`the order has no ${name} task`);
        current = task;
        if (signal.aborted) throw new PipelineError("canceled", "The job was canceled");
        void reporter.send({ type: "task_started", stage: "encode", task_id: task.task_id });
        const progress: StageProgress = (fraction) => {
          const f = Math.max(0, Math.min(1, fraction));
          reporter.progress("encode", task.task_id, f * 100, ((done + f * BAND[name]) / total) * 100);
        };
        const result = await work(progress);
        const output = completed ? await completed(result) : null;
        done += BAND[name];
        void reporter.send({ type: "task_completed", stage: "encode", task_id: task.task_id, output });
        return result;
      };
      const both = async <T>(measure: (file: string, progress: StageProgress) => Promise<T>, progress: StageProgress): Promise<Pair<T>> => {
        const share = order.template ? 0.5 : 1;
        const source = await measure(path.join(dir, SOURCE), (f) => progress(f * share));
        const template = order.template ? await measure(path.join(dir, TEMPLATE), (f) => progress(0.5 + f * 0.5)) : null;
        return { source, template };
      };

      const video = await stage("video_analysis", async (progress) => {
        await fetchAndCheck(order, runtime, dir, progress);
        return both((file, p) => analyzeVideo(file, tools, p), (f) => progress(0.2 + f * 0.8));
      });
      const audio = await stage("audio_analysis", (progress) => both((file, p) => analyzeAudio(file, tools, p), progress));
      const motion = await stage("motion_analysis", (progress) => both((file, p) => analyzeMotion(file, tools, p), progress));
      const analyses = await stage("style_extraction", async () => {
        const at = new Date().toISOString();
        const of = (key: keyof Pair<unknown>): StyleAnalysis | null => {
          const v = video[key];
          const a = audio[key];
          const m = motion[key];
          return v && a && m ? { video: v, audio: a, motion: m, style: composeStyle(v, a, m, at) } : null;
        };
        const source = of("source")!;
        const template = of("template");
        const extraction = current.task_id;
        await reporter.send({
          type: "style_measured",
          task_id: extraction,
          style_json: (template ?? source).style,
          ...(template ? { source_style_json: source.style } : {}),
        });
        return { source, template };
      });

      if (!order.render) return;
      const render = order.render;
      const request = {
        source: { file: path.join(dir, SOURCE), analysis: analyses.source },
        target: { style: (analyses.template ?? analyses.source).style, analysis: analyses.template ?? analyses.source },
        fromTemplate: analyses.template !== null,
        config: render.config,
        outFile: path.join(dir, OUTPUT),
        workDir: dir,
        tools,
      };
      const plan = await stage("style_application", (progress) => planStyle(request, progress));
      await stage(
        "rendering",
        (progress) => renderStyle(request, plan, (f) => progress(f * 0.9)),
        async (result) => {
          await reporter.send({
            type: "style_measured",
            task_id: current.task_id,
            output_style_json: result.output.style,
            comparison: result.comparison,
            ...(result.shortened ? { shortened: result.shortened } : {}),
          });
          const probed = await probeFile(OUTPUT, dir, { ffprobe: runtime.ffprobe, signal, integrityChecks: false });
          const [stored] = await exportOutputs(order, dir, [{ outputId: render.output_id, main: OUTPUT, files: [OUTPUT] }], signal, networkAccess(runtime));
          return { ...stored!, ...factsOf(probed) };
        },
      );
    });
  } catch (err) {
    const error = signal.aborted ? { code: "canceled" as const, message: "The job was canceled" } : toFailure(err, "encode_failed");
    last = { type: "task_failed", stage: "encode", task_id: current.task_id, error };
  }
  await reporter.send(last);
}

/**
 * Fetches the source and the template into the working directory and checks each is
 * readable video (input_unreadable, input_no_video, input_too_large otherwise); the
 * source's facts are reported as the job's input metadata.
 */
async function fetchAndCheck(order: StyleOrder, runtime: EngineRuntime, dir: string, progress: StageProgress): Promise<void> {
  const { signal } = runtime;
  const files: [string, string, string][] = [[order.input.url, SOURCE, "The source"]];
  if (order.template) files.push([order.template.url, TEMPLATE, "The template"]);
  for (const [i, [url, name, what]] of files.entries()) {
    await importInput(url, path.join(dir, name), {
      maxBytes: order.limits.max_input_bytes,
      connectTimeoutMs: order.limits.connect_timeout_ms,
      readTimeoutMs: order.limits.read_timeout_ms,
      ...networkAccess(runtime),
      signal,
      onProgress: (bytes, total) => {
        if (total) progress(((i + bytes / total) / files.length) * 0.15);
      },
    });
    const probed = await probeFile(name, dir, { ffprobe: runtime.ffprobe, signal }).catch((err: unknown) => {
      throw err instanceof PipelineError ? new PipelineError(err.code, `${what}: ${err.message}`) : err;
    });
    requireStreams(probed, "video");
    const overLimits = overDuration(probed.metadata, order.limits, what) ?? overFrameBudget(probed.metadata, order.limits, what);
    if (overLimits) throw overLimits;
    if (name === SOURCE) void runtime.reporter.send({ type: "metadata", input_metadata: probed.metadata });
  }
  progress(0.2);
}
