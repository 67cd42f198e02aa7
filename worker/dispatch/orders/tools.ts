import type { ToolStep, ToolsOrderInput } from "../../../encoder/contract";
import type { BucketTarget } from "../../origins/buckets";
import { toolLocationKey } from "../../origins/uri";
import type { Task } from "../../jobs/model";
import { type OrderContext, UndispatchableJob, inputUrl, orderBase, presignRead, undispatchableIfMissing } from "./context";

/**
 * The tools engine's order: the planned steps in their order, each as the encoder runs
 * it. A get's files become URLs the encoder reads (presigned in a bucket, the
 * location's URL and the file's name over http(s)); a put names, per file, the output
 * the plan made for it, and its bucket is checked now so that nothing runs for a
 * destination that is gone. `{job_id}` in a location becomes the job's id here and in
 * export placement.
 */
export async function toolsOrder(ctx: OrderContext): Promise<ToolsOrderInput> {
  const steps: ToolStep[] = [];
  for (const task of ctx.job.tasks) steps.push(await toolStep(ctx, task));
  return { ...orderBase(ctx), engine: "tools", steps };
}

async function toolStep(ctx: OrderContext, task: Task): Promise<ToolStep> {
  const { job } = ctx;
  const options = task.options as { location?: string; files?: string[]; arguments?: string[]; file?: string };
  switch (task.kind) {
    case "import":
      return { tool: "storage:get", task_id: task.id, files: [{ name: options.file!, url: await inputUrl(ctx) }] };
    case "storage:get": {
      const location = options.location!;
      const folder = resolved(ctx, "get", location);
      const files = await Promise.all(
        options.files!.map(async (name) => ({
          name,
          url: folder ? await presignRead(ctx, { bucket: folder.bucket, key: `${toolLocationKey(folder.key, job.id)}${name}` }) : httpFileUrl(location, job.id, name),
        })),
      );
      return { tool: "storage:get", task_id: task.id, files };
    }
    case "storage:put": {
      const folder = resolved(ctx, "put", options.location!);
      if (!folder) throw unresolved(options.location!);
      await undispatchableIfMissing(() => ctx.open(folder.bucket, "write"));
      const byFile = new Map(job.outputs.filter((o) => task.outputs.includes(o.id)).map((o) => [o.spec.file as string, o.id]));
      return { tool: "storage:put", task_id: task.id, files: options.files!.map((name) => ({ name, output_id: byFile.get(name)! })) };
    }
    case "ffmpeg:cmd":
      return { tool: "ffmpeg:cmd", task_id: task.id, arguments: options.arguments! };
    default:
      // Validation lets no other tool into a plan.
      throw new Error(`the tools engine has no step for a ${task.kind} task`);
  }
}

/** A bucket folder resolved at creation; null for an http(s) get. */
function resolved(ctx: OrderContext, tool: "get" | "put", location: string): BucketTarget | null {
  const folder = ctx.job.spec.storage.tool_locations?.[tool][location];
  if (folder) return folder;
  if (tool === "get" && /^https?:\/\//i.test(location)) return null;
  throw unresolved(location);
}

// Only a job stored before tool locations were resolved at creation lacks one; they were never authorised.
const unresolved = (location: string) =>
  new UndispatchableJob("location_unresolved", `${location} was not resolved to an origin or secret when the job was created; resubmit the job`);

function httpFileUrl(location: string, jobId: string, name: string): string {
  const folder = toolLocationKey(location, jobId);
  return `${folder.endsWith("/") ? folder : `${folder}/`}${encodeURIComponent(name)}`;
}
