import type { ToolStep, ToolsOrderInput } from "../../../encoder/contract";
import type { BucketTarget } from "../../origins/buckets";
import { toolLocationKey } from "../../origins/uri";
import type { Task } from "../../jobs/model";
import { toolOf } from "../../api/schemas/tools";
import { hasWildcard } from "../../api/schemas/tools/paths";
import { type OrderContext, UndispatchableJob, inputUrl, orderBase, presignRead, undispatchableIfMissing } from "./context";

/**
 * The tools engine's order: the planned steps in their order, each as the encoder runs
 * it. A get's and a check's files become URLs the encoder reads (presigned in a bucket,
 * the location's URL and the file's name over http(s)); a put names, per named file, the
 * output the plan made for it, and its patterns, and its bucket is checked now so that
 * nothing runs for a destination that is gone. A `|p` task's step is marked parallel. `{job_id}` in a location becomes the job's id here and in
 * export placement.
 */
export async function toolsOrder(ctx: OrderContext): Promise<ToolsOrderInput> {
  const steps: ToolStep[] = [];
  for (const task of ctx.job.tasks) steps.push(await toolStep(ctx, task));
  return { ...orderBase(ctx), engine: "tools", steps };
}

async function toolStep(ctx: OrderContext, task: Task): Promise<ToolStep> {
  const step = await stepOf(ctx, task);
  return task.tool !== null && toolOf(task.tool).parallel ? { ...step, parallel: true } : step;
}

async function stepOf(ctx: OrderContext, task: Task): Promise<ToolStep> {
  const { job } = ctx;
  const options = task.options as Record<string, unknown>;
  const base = { task_id: task.id };
  switch (task.kind) {
    case "import":
      return { tool: "storage:get", ...base, files: [{ name: options.file as string, url: await inputUrl(ctx) }] };
    case "storage:get":
      return { tool: "storage:get", ...base, files: await readUrls(ctx, options.location as string, options.files as string[]), ...dir(options) };
    case "storage:check":
      return { tool: "storage:check", ...base, mode: options.mode as CheckMode, files: await readUrls(ctx, options.location as string, options.files as string[]) };
    case "storage:put": {
      const folder = resolved(ctx, "put", options.location as string);
      if (!folder) throw unresolved(options.location as string);
      await undispatchableIfMissing(() => ctx.open(folder.bucket, "write"));
      const planned = job.outputs.filter((o) => task.outputs.includes(o.id) && o.spec.discovered !== true);
      const files = (options.files as string[]).filter((f) => !hasWildcard(f));
      const patterns = (options.files as string[]).filter(hasWildcard);
      const byFile = new Map(planned.map((o) => [o.spec.file as string, o.id]));
      return {
        tool: "storage:put",
        ...base,
        files: files.map((name) => ({ name, output_id: byFile.get(name)! })),
        ...(patterns.length > 0 ? { patterns } : {}),
        ...dir(options),
      };
    }
    case "ffmpeg:cmd":
      return {
        tool: "ffmpeg:cmd",
        ...base,
        arguments: options.arguments as string[],
        // Jobs planned before these parameters ran without them, and still do.
        ...(options.outputdir === undefined ? {} : { outputdir: options.outputdir as string }),
        ...(options.ignore_decoding_errors === undefined ? {} : { ignore_decoding_errors: options.ignore_decoding_errors as boolean }),
      };
    case "utils:env":
      return { tool: "utils:env", ...base, variables: options as Record<string, string> };
    case "utils:rename":
      return { tool: "utils:rename", ...base, pattern: options.pattern as string, template: options.template as string, base_dir: options.base_dir as string };
    case "utils:tar":
      return {
        tool: "utils:tar",
        ...base,
        mode: options.mode as "pack" | "unpack",
        archive: options.archive as string,
        ...(options.files === undefined ? {} : { files: options.files as string[] }),
        base_dir: options.base_dir as string,
      };
    case "ffmpeg:loudnorm_analyze": {
      const output = options.output as { ffmpeg_args: string[] } | undefined;
      return {
        tool: "ffmpeg:loudnorm_analyze",
        ...base,
        input_file: options.input_file as string,
        audio_selector: options.audio_selector as string,
        env_prefix: options.env_prefix as string,
        integrated_loudness_target: options.integrated_loudness_target as number,
        maximum_true_peak: options.maximum_true_peak as number,
        loudness_range_target: options.loudness_range_target as number,
        ...(output ? { output_args: output.ffmpeg_args } : {}),
      };
    }
    case "shaka:package_dash": {
      const key = options.clear_key as { key_id: string; key: string } | undefined;
      return {
        tool: "shaka:package_dash",
        ...base,
        inputs: options.inputs as StepOf<"shaka:package_dash">["inputs"],
        output_dir: options.output_dir as string,
        mpd_output: options.mpd_output as string,
        ...(options.segment_duration === undefined ? {} : { segment_duration: options.segment_duration as number }),
        ...(options.protection_scheme === "cenc" ? { protection: { scheme: "cenc" as const, ...(key ?? {}) } } : {}),
      };
    }
    default:
      // Validation lets no other tool into a plan.
      throw new Error(`the tools engine has no step for a ${task.kind} task`);
  }
}

type StepOf<T extends ToolStep["tool"]> = Extract<ToolStep, { tool: T }>;
type CheckMode = StepOf<"storage:check">["mode"];

/** `base_dir` when a task has one other than the directory itself. */
const dir = (options: Record<string, unknown>) => (typeof options.base_dir === "string" && options.base_dir !== "" ? { base_dir: options.base_dir } : {});

/** Each file of a folder as a URL the encoder reads: presigned in a bucket, the location's URL and the name over http(s). */
function readUrls(ctx: OrderContext, location: string, files: string[]): Promise<{ name: string; url: string }[]> {
  const folder = resolved(ctx, "get", location);
  return Promise.all(
    files.map(async (name) => ({
      name,
      url: folder ? await presignRead(ctx, { bucket: folder.bucket, key: `${toolLocationKey(folder.key, ctx.job.id)}${name}` }) : httpFileUrl(location, ctx.job.id, name),
    })),
  );
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
