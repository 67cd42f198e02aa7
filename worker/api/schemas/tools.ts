import { z } from "@hono/zod-openapi";

/**
 * VTK's tool pipeline, the most general job form: an ordered list of tools that
 * fetch files into the job's working directory, run ffmpeg on them, and put results
 * back. File names are plain names inside that directory, never paths.
 */
const fileName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._-]+$/, "a plain file name inside the job's working directory")
  .refine((name) => name !== "." && name !== "..", "a plain file name inside the job's working directory");

const storageLocation = z
  .string()
  .max(2048)
  .regex(/^(?:s3|gs|r2):\/\/(?:\{[A-Za-z0-9_-]{1,64}\}@)?[a-z0-9][a-z0-9.-]{1,62}(?:\/[^\s]*)?$|^https?:\/\/\S+$/, "s3://[{secret}@]bucket/path/, gs://…, r2://… or an http(s) URL");

const storageParameters = z.strictObject({
  location: storageLocation,
  files: z.array(fileName).min(1).max(100),
});

/**
 * ffmpeg arguments may name files of the working directory only: no absolute path,
 * no `..`, no protocol (the encoder also runs ffmpeg with a file-only whitelist).
 */
const ffmpegArgument = z
  .string()
  .max(4096)
  .superRefine((arg, ctx) => {
    // A path may also start after a separator inside one argument: `file:/etc/passwd`,
    // `movie=/etc/passwd`, `concat:a.mp4|/etc/passwd`, `movie='../x'`.
    if (/(?:^|[=:,;|'"])\//.test(arg) || /(?:^|[/\\=:,;|'"])\.\.(?:[/\\'"]|$)/.test(arg) || /[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
      ctx.addIssue({ code: "custom", params: { code: "invalid_input" }, message: "ffmpeg arguments may only name files inside the job's working directory" });
    }
  });

export const toolParameterSchemas = {
  "storage:get": storageParameters,
  "storage:put": storageParameters,
  "ffmpeg:cmd": z.strictObject({ arguments: z.array(ffmpegArgument).min(1).max(500) }),
} as const;
export type ToolName = keyof typeof toolParameterSchemas;
export const toolNames = Object.keys(toolParameterSchemas) as ToolName[];

export const toolTaskSchema = z.strictObject({
  tool: z.string().regex(/^[a-z0-9_-]+:[a-z0-9_-]+$/, "namespace:name, e.g. ffmpeg:cmd"),
  parameters: z.record(z.string(), z.unknown()).default({}),
  version: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).optional(),
});
export type ToolTask = z.infer<typeof toolTaskSchema>;
