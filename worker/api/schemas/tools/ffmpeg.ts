import { z } from "@hono/zod-openapi";
import { toolArgumentsProblem } from "../../../../encoder/contract";
import { relativeDir, relativeFile } from "./paths";

/**
 * ffmpeg arguments may name files of the working directory only: no absolute path,
 * no `..`, no protocol (the encoder also runs ffmpeg with a file-only whitelist). A
 * path may also start after a separator inside one argument: `file:/etc/passwd`,
 * `movie=/etc/passwd`, `concat:a.mp4|/etc/passwd`, `movie='../x'`.
 */
function argumentProblem(arg: string): string | null {
  // Any `://` is a protocol's: looked for as such, since a scheme pattern unanchored on its
  // left (`[a-z][a-z0-9+.-]*://`) backtracks quadratically over a long argument, which took
  // ten seconds of CPU on a 1 MiB body.
  if (/(?:^|[=:,;|'"])\//.test(arg) || /(?:^|[/\\=:,;|'"])\.\.(?:[/\\'"]|$)/.test(arg) || arg.includes("://")) {
    return "ffmpeg arguments may only name files inside the job's working directory";
  }
  return null;
}

/** `${NAME}`: a variable of the job's environment (utils:env, a loudness analysis), substituted when the task runs. */
export const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g;

/**
 * Every check of an ffmpeg command at creation runs in this one refinement, so that the
 * encoder's own rules (the arguments its sandboxed runner refuses, from the shared
 * contract) can join them here and a job the encoder would refuse is refused at once.
 * A `${NAME}` is checked as a neutral number here; the encoder checks the arguments
 * again once it has substituted the variable's value.
 */
export const ffmpegArguments = z
  .array(z.string().max(4096))
  .min(1)
  .max(500)
  .superRefine((written, ctx) => {
    const args = written.map((arg) => arg.replace(ENV_REFERENCE, "0"));
    let named = false;
    args.forEach((arg, i) => {
      const problem = argumentProblem(arg);
      if (problem) ctx.addIssue({ code: "custom", path: [i], params: { code: "invalid_input" }, message: problem });
      named ||= problem !== null;
    });
    if (named) return;
    // The encoder's allowlist: what its sandboxed runner would refuse is refused now.
    const refused = toolArgumentsProblem(args);
    if (refused) ctx.addIssue({ code: "custom", params: { code: "tool_refused" }, message: refused });
  });

export const ffmpegCmdParameters = z.strictObject({
  arguments: ffmpegArguments,
  /** A directory made in the working directory before the run, for the command to write into. */
  outputdir: relativeDir.default("out"),
  /** false: ffmpeg runs with -xerror and stops at the first decoding error. */
  ignore_decoding_errors: z.boolean().default(false),
});

/** VTK writes these numbers as strings ("-24.0"); both are taken. */
const level = (min: number, max: number, fallback: number) =>
  z
    .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/, "a number").transform(Number)])
    .pipe(z.number().min(min).max(max))
    .default(fallback);

export const loudnormParameters = z.strictObject({
  input_file: relativeFile,
  /** The audio stream measured (and normalised), as ffmpeg's -map takes it. */
  audio_selector: z
    .string()
    .regex(/^\d+:a(:\d+)?$/, "an audio stream selector such as 0:a:0")
    .default("0:a:0"),
  /** Prefix of the variables the measured values are written to (`{prefix}input_i`, …). */
  env_prefix: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$|^$/, "letters, digits and _, not starting with a digit")
    .default(""),
  integrated_loudness_target: level(-70, -5, -24),
  maximum_true_peak: level(-9, 0, -2),
  loudness_range_target: level(1, 50, 7),
  /** The second, linear pass: ffmpeg's output arguments, the output file last. */
  output: z.strictObject({ ffmpeg_args: ffmpegArguments }).optional(),
});
