import { z } from "@hono/zod-openapi";
import { kindOptionSchemas, kindSchema } from "./kinds";
import { outputSpecSchema } from "./outputs";
import { pathTemplate } from "./path-template";
import { thumbnailSpecSchema } from "./thumbnails";
import { toolParameterSchemas, toolTaskSchema } from "./tools";

/** A media URL the pipeline can import, or the id of an upload (`vid_…`). */
export const inputRef = z
  .string()
  .max(4096)
  .regex(
    /^(?:https?:\/\/[^\s/$.?#][^\s]*|(?:s3|gs):\/\/[a-z0-9][a-z0-9.-]{1,62}\/\S+|vid_[a-z0-9]{1,64})$/,
    "an http(s), s3:// or gs:// URL, or an upload id (vid_…)",
  )
  .openapi({ example: "https://example.com/upload.mov" });

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
    output: z
      .string()
      .max(2048)
      .regex(/^(?:s3|gs|r2):\/\/(?:\{[A-Za-z0-9_-]{1,64}\}@)?[a-z0-9][a-z0-9.-]{1,62}(?:\/\S*)?$/, "s3://bucket/key (or gs://, r2://)")
      .optional(),
    output_origin_id: z.string().regex(/^ori_[a-z0-9]{1,40}$/, "an origin id (ori_…)").optional(),
    output_path_template: pathTemplate.optional(),
    thumbnails: z.array(thumbnailSpecSchema).max(5).optional(),
    bundle: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "1–128 letters, digits, _ . -").optional(),
    region: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, "a region name such as auto or aws:eu-west-1").optional(),
  })
  .superRefine((body, ctx) => {
    const fetchesOwnInput = body.tasks?.some((t) => t.tool === "storage:get") ?? false;
    if (body.input === undefined && !fetchesOwnInput) {
      ctx.addIssue({ code: "custom", path: ["input"], params: { code: "input_required" }, message: "input is required" });
    }
    const modes = [body.kind, body.outputs, body.tasks].filter((m) => m !== undefined).length;
    if (modes !== 1) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: modes === 0 ? "one of kind, outputs or tasks is required" : "give only one of kind, outputs or tasks",
      });
    }
    if (body.options !== undefined && body.kind === undefined) {
      ctx.addIssue({ code: "custom", path: ["options"], message: "options go with kind" });
    }
    if (body.kind !== undefined) {
      forwardIssues(ctx, ["options"], kindOptionSchemas[body.kind].safeParse(body.options ?? {}));
    }
    body.tasks?.forEach((task, i) => {
      const schema = toolParameterSchemas[task.tool as keyof typeof toolParameterSchemas];
      if (!schema) {
        ctx.addIssue({
          code: "custom",
          path: ["tasks", i, "tool"],
          params: { code: "unknown_tool" },
          message: `unknown tool ${task.tool}; available: ${Object.keys(toolParameterSchemas).join(", ")}`,
        });
        return;
      }
      forwardIssues(ctx, ["tasks", i, "parameters"], schema.safeParse(task.parameters));
    });
    if (body.webhook_events !== undefined && body.webhook_url === undefined) {
      ctx.addIssue({ code: "custom", path: ["webhook_events"], message: "webhook_events needs a webhook_url" });
    }
    if (body.output !== undefined && body.output_origin_id !== undefined) {
      ctx.addIssue({ code: "custom", path: ["output"], message: "give output or output_origin_id, not both" });
    }
  });
export type CreateJobRequest = z.infer<typeof createJobRequestSchema>;

function forwardIssues(ctx: z.RefinementCtx, prefix: (string | number)[], result: z.ZodSafeParseResult<unknown>): void {
  if (result.success) return;
  for (const issue of result.error.issues) {
    const params = issue.code === "custom" ? issue.params : { issue: issue.code };
    ctx.addIssue({ code: "custom", path: [...prefix, ...issue.path], message: issue.message, ...(params ? { params } : {}) });
  }
}
