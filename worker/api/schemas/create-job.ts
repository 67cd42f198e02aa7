import { z } from "@hono/zod-openapi";
import { streamingOutputTypes } from "../../../encoder/contract";
import { builtInPresets } from "../../jobs/presets";
import { clipSchema } from "./clip";
import { kindOptionSchemas, kindSchema } from "./kinds";
import { outputSpecSchema } from "./outputs";
import { isBucketUri, isFolderKey, parseInputUri, parseOutputUri } from "../../origins/uri";
import { keyProblem } from "../../storage/keys";
import { pathTemplate } from "./path-template";
import { styleRequestSchema } from "./style";
import { thumbnailSpecSchema } from "./thumbnails";
import { resolveToolTask, toolOf, toolTaskSchema } from "./tools";

const HTTP_URL = /^https?:\/\/[^\s/$.?#][^\s]*$/;
const UPLOAD_ID = /^vid_[a-z0-9]{1,64}$/;

/**
 * A media URL the pipeline can import, the id of an upload (`vid_…`), or one object of
 * a bucket: `s3://bucket/key`, `gs://bucket/key` (through the org's origin for that
 * bucket) or `s3://{secret}@bucket/key` (with an org secret's credentials).
 */
export const inputRef = z
  .string()
  .max(4096)
  .superRefine((input, ctx) => {
    if (HTTP_URL.test(input) || UPLOAD_ID.test(input)) return;
    if (isBucketUri(input)) {
      const parsed = parseInputUri(input);
      if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.problem });
      return;
    }
    ctx.addIssue({ code: "custom", message: "an http(s), s3:// or gs:// URL, or an upload id (vid_…)" });
  })
  .openapi({ example: "https://example.com/upload.mov" });

const originId = z.string().regex(/^ori_[a-z0-9]{1,40}$/, "an origin id (ori_…)");

const httpUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s/$.?#][^\s]*$/, "an http(s) URL");

export const priorityNames = ["economy", "standard", "premium"] as const;
export type PriorityName = (typeof priorityNames)[number];

const metadataValue = z.union([z.string(), z.number(), z.boolean()]).refine((v) => String(v).length <= 1024, "values are at most 1024 characters");

export const createJobRequestSchema = z
  .strictObject({
    input: inputRef.optional(),
    kind: kindSchema.optional(),
    options: z.record(z.string(), z.unknown()).optional().openapi({ description: "Options of `kind`, as in Ittybit's table" }),
    outputs: z.array(outputSpecSchema).min(1).max(10).optional(),
    tasks: z.array(toolTaskSchema).min(1).max(50).optional(),
    style: styleRequestSchema.optional(),
    tags: z.array(z.string().trim().min(1).max(64)).max(20).optional(),
    metadata: z
      .record(z.string().min(1).max(64), metadataValue)
      .refine((m) => Object.keys(m).length <= 20, "at most 20 entries")
      .optional(),
    priority: z.union([z.enum(priorityNames), z.number().int().min(1).max(10)]).optional(),
    webhook_url: httpUrl.optional(),
    webhook_events: z
      .array(z.enum(["job.completed", "job.failed", "job.canceled", "job.partial", "job.status_changed"]))
      .min(1)
      .optional()
      .openapi({ description: "Events to deliver to webhook_url; default: every terminal state. job.status_changed adds every transition." }),
    idempotency_key: z.string().min(1).max(128).optional(),
    delayed_start: z.boolean().optional(),
    input_origin_id: originId.optional().openapi({ description: "Read the input from this origin (it must grant read), at input_path" }),
    input_path: z
      .string()
      .max(1024)
      .superRefine((path, ctx) => {
        const problem = keyProblem(path);
        if (problem) ctx.addIssue({ code: "custom", message: problem.replace(/^key/, "input_path") });
      })
      .optional()
      .openapi({ example: "uploads/video.mp4", description: "The object's key inside the input origin's path" }),
    output: z
      .string()
      .max(2048)
      .superRefine((output, ctx) => {
        const parsed = parseOutputUri(output);
        if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.problem });
      })
      .optional()
      .openapi({
        example: "s3://my-bucket/processed/{job_id}/",
        description: "A folder (ending in /) or, for one single-file output, an exact key: s3://bucket/…, gs://…, r2://…, or s3://{secret}@bucket/…. May hold path-template variables.",
      }),
    output_origin_id: originId.optional().openapi({ description: "Write outputs to this origin (it must grant write), under its path" }),
    output_path_template: pathTemplate.optional(),
    thumbnails: z.array(thumbnailSpecSchema).max(5).optional(),
    clip: clipSchema.optional(),
    bundle: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "1–128 letters, digits, _ . -").optional(),
    region: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, "a region name such as auto or aws:eu-west-1").optional(),
  })
  .superRefine((body, ctx) => {
    const fetchesOwnInput = body.tasks?.some((t) => toolOf(t.tool).name === "storage:get") ?? false;
    if (body.input === undefined && body.input_origin_id === undefined && !fetchesOwnInput) {
      ctx.addIssue({ code: "custom", path: ["input"], params: { code: "input_required" }, message: "input is required" });
    }
    const modes = [body.kind, body.outputs, body.tasks, body.style].filter((m) => m !== undefined).length;
    if (modes !== 1) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: modes === 0 ? "one of kind, outputs, tasks or style is required" : "give only one of kind, outputs, tasks or style",
      });
    }
    if (body.style !== undefined) {
      const why = "a style job renders one MP4 from its input";
      for (const field of ["thumbnails", "clip", "delayed_start", "output_path_template"] as const) {
        if (body[field] !== undefined) ctx.addIssue({ code: "custom", path: [field], message: `${field} goes with kind or outputs; ${why}` });
      }
    }
    if (body.options !== undefined && body.kind === undefined) {
      ctx.addIssue({ code: "custom", path: ["options"], message: "options go with kind" });
    }
    if (body.kind !== undefined) {
      forwardIssues(ctx, ["options"], kindOptionSchemas[body.kind].safeParse(body.options ?? {}));
    }
    body.tasks?.forEach((task, i) => {
      const resolved = resolveToolTask(task);
      if (resolved.ok) return;
      for (const issue of resolved.issues) ctx.addIssue({ code: "custom", path: ["tasks", i, ...issue.path], message: issue.message, ...(issue.params ? { params: issue.params } : {}) });
    });
    if (body.tasks !== undefined) {
      const why = "a tool pipeline stores its files with storage:put";
      for (const field of ["output", "output_origin_id", "output_path_template", "thumbnails"] as const) {
        if (body[field] !== undefined) ctx.addIssue({ code: "custom", path: [field], message: `${field} goes with kind or outputs; ${why}` });
      }
      if (body.delayed_start !== undefined) ctx.addIssue({ code: "custom", path: ["delayed_start"], message: "delayed_start goes with kind or outputs; a tool pipeline has no probe to confirm after" });
    }
    if (body.clip !== undefined && body.kind !== undefined) {
      ctx.addIssue({ code: "custom", path: ["clip"], message: "clip goes with outputs; a kind job trims with options.start and options.end" });
    }
    if (body.clip !== undefined && body.tasks !== undefined) {
      ctx.addIssue({ code: "custom", path: ["clip"], message: "clip goes with outputs; a tool pipeline trims with its own ffmpeg arguments" });
    }
    if (body.webhook_events !== undefined && body.webhook_url === undefined) {
      ctx.addIssue({ code: "custom", path: ["webhook_events"], message: "webhook_events needs a webhook_url" });
    }
    if (body.output !== undefined && body.output_origin_id !== undefined) {
      ctx.addIssue({ code: "custom", path: ["output"], message: "give output or output_origin_id, not both" });
    }
    if (body.input !== undefined && body.input_origin_id !== undefined) {
      ctx.addIssue({ code: "custom", path: ["input_origin_id"], message: "give input or input_origin_id, not both" });
    }
    if (body.input_origin_id !== undefined && body.input_path === undefined) {
      ctx.addIssue({ code: "custom", path: ["input_path"], message: "input_path is required with input_origin_id" });
    }
    if (body.input_path !== undefined && body.input_origin_id === undefined) {
      ctx.addIssue({ code: "custom", path: ["input_path"], message: "input_path goes with input_origin_id" });
    }
    const output = body.output === undefined ? null : parseOutputUri(body.output);
    if (output?.ok && !isFolderKey(output.uri.key)) {
      for (const problem of exactOutputProblems(body)) ctx.addIssue({ code: "custom", ...problem });
    }
  });


/** An output naming one object holds one file: one output, not a package, and no template to place it elsewhere. */
function exactOutputProblems(body: {
  kind?: string;
  outputs?: { type?: string; preset?: string; path_template?: string }[];
  thumbnails?: unknown[];
  output_path_template?: string;
}): { path: (string | number)[]; message: string }[] {
  const hint = "; end output with / to name a folder instead";
  const problems: { path: (string | number)[]; message: string }[] = [];
  if (body.output_path_template !== undefined) problems.push({ path: ["output_path_template"], message: `output names one object, so there is nothing to template${hint}` });
  const outputs = body.outputs ?? (body.kind !== undefined ? [{ type: body.kind === "adaptive_video" ? "hls" : undefined }] : []);
  if (outputs.length + (body.thumbnails?.length ?? 0) > 1) problems.push({ path: ["output"], message: `output names one object but the job makes several outputs${hint}` });
  outputs.forEach((o, i) => {
    const type = o.type ?? (o.preset !== undefined && Object.hasOwn(builtInPresets, o.preset) ? builtInPresets[o.preset]!.type : undefined);
    if (type !== undefined && (streamingOutputTypes as readonly string[]).includes(type)) problems.push({ path: ["output"], message: `output names one object but a ${type} output is a package of files${hint}` });
    if (o.path_template !== undefined) problems.push({ path: ["outputs", i, "path_template"], message: `output names one object, so there is nothing to template${hint}` });
  });
  return problems;
}
export type CreateJobRequest = z.infer<typeof createJobRequestSchema>;

function forwardIssues(ctx: z.RefinementCtx, prefix: (string | number)[], result: z.ZodSafeParseResult<unknown>): void {
  if (result.success) return;
  for (const issue of result.error.issues) {
    const params = issue.code === "custom" ? issue.params : { issue: issue.code };
    ctx.addIssue({ code: "custom", path: [...prefix, ...issue.path], message: issue.message, ...(params ? { params } : {}) });
  }
}
