import { PipelineError } from "../errors";
import { StderrTail } from "../ffmpeg/lines";
import { whitelistInputs } from "../ffmpeg/runner";
import { substitute } from "./env";
import { runFfmpegCmd } from "./ffmpeg-cmd";
import type { ToolPlace } from "./sandboxed-probe";
import type { StepContext, StepOf } from "./step";

/** How far the normalised output's integrated loudness may be from the target. */
const TOLERANCE_LU = 1;
/** The values loudnorm's analysis prints, each written to the environment under the prefix. */
const MEASURED = ["input_i", "input_tp", "input_lra", "input_thresh", "output_i", "output_tp", "output_lra", "output_thresh", "normalization_type", "target_offset"] as const;
type Measured = Record<(typeof MEASURED)[number], string>;

/**
 * One of our own ffmpeg runs (the analysis, the measurement) in the sandbox: its stderr
 * to the task's log, and every line kept for reading its report, which comes last.
 */
async function analysisRun(args: string[], place: ToolPlace, onLine: (line: string) => void): Promise<string[]> {
  const lines: string[] = [];
  const stderr = new StderrTail((line) => {
    if (lines.length < 10_000) lines.push(line);
    onLine(line);
  });
  let code: number;
  try {
    code = await place.sandbox.run({
      dir: place.dir,
      command: [place.ffmpeg ?? "ffmpeg", "-hide_banner", "-nostdin", "-nostats", ...whitelistInputs(args)],
      limits: place.limits,
      signal: place.signal,
      onStderr: (text) => stderr.push(text),
    });
  } finally {
    stderr.end();
  }
  if (code !== 0) throw new PipelineError("encode_failed", `ffmpeg exited with ${code}${stderr.text ? `:\n${stderr.text}` : ""}`);
  return lines;
}

/** The JSON object loudnorm prints after its `[Parsed_loudnorm_…]` line. */
function loudnormReport(lines: string[]): Measured {
  const start = lines.map((l) => l.trim()).lastIndexOf("{");
  const end = lines.findIndex((l, i) => i > start && l.trim() === "}");
  if (start === -1 || end === -1) throw new PipelineError("encode_failed", "loudnorm printed no measurement: does the input have the selected audio stream?");
  const report = JSON.parse(lines.slice(start, end + 1).join("\n")) as Partial<Measured>;
  for (const key of MEASURED) if (typeof report[key] !== "string") throw new PipelineError("encode_failed", `loudnorm's measurement has no ${key}`);
  return report as Measured;
}

/** The integrated loudness in the summary ebur128 prints at the end. */
function integratedLoudness(lines: string[]): number {
  const line = lines.filter((l) => /^\s*I:\s+(-?[\d.]+|-inf) LUFS/.test(l)).at(-1);
  const value = line ? Number(/I:\s+(-?[\d.]+|-inf)/.exec(line)![1]!.replace("-inf", "-Infinity")) : Number.NaN;
  if (Number.isNaN(value)) throw new PipelineError("encode_failed", "ebur128 printed no integrated loudness for the output");
  return value;
}

const number = (n: number) => String(Math.round(n * 100) / 100);

/**
 * ffmpeg:loudnorm_analyze — EBU R128: loudnorm measures the input's selected audio
 * stream against the targets, and each measured value is set in the job's environment
 * as `{env_prefix}{name}` (input_i, input_tp, …, target_offset). With `output_args`, the
 * second pass applies the measurement as a linear normalisation (the output arguments
 * after it, `${NAME}` substituted, the output file last; the input's sample rate kept
 * unless they set -ar), and ebur128 then measures the output: more than 1 LU from the
 * target fails the task (`loudness_out_of_range`).
 */
export async function analyzeLoudness(step: StepOf<"ffmpeg:loudnorm_analyze">, { runtime, place, env, log, progress }: StepContext): Promise<void> {
  const targets = `I=${step.integrated_loudness_target}:TP=${step.maximum_true_peak}:LRA=${step.loudness_range_target}`;
  const input = ["-i", step.input_file, "-map", step.audio_selector];
  const analysis = await analysisRun([...input, "-af", `loudnorm=${targets}:print_format=json`, "-f", "null", "-"], place, (l) => log.add(l));
  const measured = loudnormReport(analysis);
  for (const key of MEASURED) {
    env.set(`${step.env_prefix}${key}`, measured[key]);
    log.add(`${step.env_prefix}${key}=${measured[key]}`);
  }
  if (!step.output_args) return;
  progress(1 / 3);

  const outputArgs = step.output_args.map((arg) => substitute(arg, env));
  const rate = analysis.map((l) => /Stream #\d+:\d+.*: Audio: .*?, (\d+) Hz/.exec(l)?.[1]).find(Boolean);
  const applied = [
    `loudnorm=${targets}`,
    `measured_I=${measured.input_i}:measured_TP=${measured.input_tp}:measured_LRA=${measured.input_lra}:measured_thresh=${measured.input_thresh}`,
    `offset=${measured.target_offset}:linear=true:print_format=summary`,
  ].join(":");
  const keepRate = outputArgs.includes("-ar") || !rate ? [] : ["-ar", rate];
  await runFfmpegCmd([...input, "-af", applied, ...keepRate, ...outputArgs], {
    ...place,
    checkArguments: runtime.checkToolArguments,
    onLine: (l) => log.add(l),
    onProgress: (f) => progress(1 / 3 + f / 3),
  });
  progress(2 / 3);

  const output = outputArgs.at(-1)!;
  const achieved = integratedLoudness(await analysisRun(["-i", output, "-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"], place, () => undefined));
  const off = Math.abs(achieved - step.integrated_loudness_target);
  log.add(`${output}: integrated loudness ${number(achieved)} LUFS, target ${number(step.integrated_loudness_target)} LUFS`);
  if (!(off <= TOLERANCE_LU)) {
    throw new PipelineError("loudness_out_of_range", `${output} measures ${number(achieved)} LUFS, ${number(off)} LU from the target ${number(step.integrated_loudness_target)} LUFS (at most ${TOLERANCE_LU} LU allowed)`);
  }
}
