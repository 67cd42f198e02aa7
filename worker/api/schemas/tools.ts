import { z } from "@hono/zod-openapi";
import { toolArgumentsProblem, toolFileNameSchema } from "../../../encoder/contract";
import { isBucketUri, parseToolLocation } from "../../origins/uri";

// VTK's tool pipeline, the most general job form: an ordered list of tools that fetch
// files into the job's working directory, run ffmpeg on them, and put results back.
// File names are plain names inside that directory, never paths.

const HTTP_LOCATION = /^https?:\/\/[^\s/$.?#][^\s]*$/i;

/**
 * A folder: of a bucket, `s3://[{secret}@]bucket/path/`, `gs://…` or `r2://…` (resolved
 * to an origin or secret at creation, like `input` and `output`), or for storage:get an
 * http(s) URL the files' names are appended to.
 */
const storageLocation = z
  .string()
  .max(2048)
  .superRefine((location, ctx) => {
    if (HTTP_LOCATION.test(location)) return;
    if (isBucketUri(location)) {
      const parsed = parseToolLocation(location);
      if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.problem });
      return;
    }
    ctx.addIssue({ code: "custom", message: "s3://[{secret}@]bucket/path/, gs://…, r2://… or an http(s) URL" });
  });

const storageParameters = z.strictObject({
  location: storageLocation,
  // Plain names in the working directory: the contract's rule, which the encoder relies on too.
  files: z.array(toolFileNameSchema).min(1).max(100),
});

/**
 * ffmpeg arguments may name files of the working directory only: no absolute path,
 * no `..`, no protocol (the encoder also runs ffmpeg with a file-only whitelist). A
 * path may also start after a separator inside one argument: `file:/etc/passwd`,
 * `movie=/etc/passwd`, `concat:a.mp4|/etc/passwd`, `movie='../x'`.
 */
function argumentProblem(arg: string): string | null {
  if (/(?:^|[=:,;|'"])\//.test(arg) || /(?:^|[/\\=:,;|'"])\.\.(?:[/\\'"]|$)/.test(arg) || /[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
    return "ffmpeg arguments may only name files inside the job's working directory";
  }
  return null;
}

/**
 * Every check of an ffmpeg command at creation runs in this one refinement, so that the
 * encoder's own rules (the arguments its sandboxed runner refuses, from the shared
 * contract) can join them here and a job the encoder would refuse is refused at once.
 */
const ffmpegArguments = z
  .array(z.string().max(4096))
  .min(1)
  .max(500)
  .superRefine((args, ctx) => {
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

export const toolParameterSchemas = {
  "storage:get": storageParameters,
  "storage:put": storageParameters,
  "ffmpeg:cmd": z.strictObject({ arguments: ffmpegArguments }),
} as const;
export type ToolName = keyof typeof toolParameterSchemas;
export const toolNames = Object.keys(toolParameterSchemas) as ToolName[];

export const toolTaskSchema = z.strictObject({
  tool: z.string().regex(/^[a-z0-9_-]+:[a-z0-9_-]+$/, "namespace:name, e.g. ffmpeg:cmd"),
  parameters: z.record(z.string(), z.unknown()).default({}),
  version: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).optional(),
});
export type ToolTask = z.infer<typeof toolTaskSchema>;
