import { type EngineName, styleRenders, styleStages, toolFileNameSchema } from "../../encoder/contract";
import { hasWildcard } from "../api/schemas/tools/paths";
import { resolvedToolTask, toolOf } from "../api/schemas/tools";
import { newId } from "../ids";
import { type JobSpec, requestedWork } from "./job-spec";
import type { Output, Task } from "./model";

type Stage = Pick<Task, "kind" | "tool" | "version" | "output_id" | "options">;
/** A planned task before its place in the graph (engine, inputs, outputs, dependencies) is known. */
export type Unlinked = Omit<Task, "engine" | "inputs" | "outputs" | "depends_on">;

function task(now: string, planned: Stage): Unlinked {
  return {
    id: newId("task"),
    ...planned,
    status: "waiting",
    progress: 0,
    error: null,
    created_at: now,
    started_at: null,
    finished_at: null,
    updated_at: now,
  };
}

function output(type: string, spec: Record<string, unknown>): Output {
  return { id: newId("out"), type, status: "pending", spec, output_url: null, file_size_bytes: null, facts: null, error: null, main_key: null, main_object: null };
}

/** The output one file of a storage:put is: its name, the put's location and whether it may replace an object. */
export function toolFileOutput(file: string, put: Record<string, unknown>, discovered = false, id = newId("out")): Output {
  const type = file.includes(".") ? file.slice(file.lastIndexOf(".") + 1).toLowerCase() : "file";
  const spec = { file, location: put.location, overwrite: put.overwrite === true, ...(discovered ? { discovered: true } : {}) };
  return { ...output(type, spec), id };
}

const stage = (kind: string, options: Record<string, unknown> = {}, outputId: string | null = null): Stage => ({
  kind,
  tool: null,
  version: null,
  output_id: outputId,
  options,
});

const isFileName = (name: string) => toolFileNameSchema.safeParse(name).success;

/**
 * The name a tool pipeline finds the job's `input` under in its working directory: the
 * last segment of its URL, key or `input_path` (an upload's is its id), or `input` when
 * that is no plain file name.
 */
function inputFileName(spec: Pick<JobSpec, "input" | "input_origin_id" | "input_path">): string | null {
  const source = spec.input_origin_id !== null ? spec.input_path : spec.input;
  if (source === null) return null;
  let last = source.split(/[?#]/)[0]!.split("/").pop() ?? "";
  if (/^https?:\/\//i.test(source)) {
    try {
      last = decodeURIComponent(last);
    } catch {
      last = "";
    }
  }
  return isFileName(last) ? last : "input";
}

/** A tool pipeline given an `input` fetches it first, as a step of its own. */
const inputImport = (name: string): Stage => stage("import", { file: name });

/**
 * Plans a job's tasks and outputs at creation, so the job shows its whole pipeline at
 * once, as a task graph the work order is projected from. Kind and outputs jobs run on
 * the transcode engine: probe → import → an encode task per output (a thumbnail task
 * per thumbnail) → export. A tool pipeline runs on the tools engine as written, each
 * tool after the one before, its `storage:put` files its outputs. A style job runs on
 * the style engine: a task per stage, one after another; the analyses and the
 * extraction always, application and rendering when it renders (rendering makes its
 * one MP4 output).
 */
export function planJob(spec: JobSpec, now: string): { tasks: Task[]; outputs: Output[] } {
  if (spec.mode === "style") return planStyle(spec, now);
  const work = requestedWork(spec);
  const outputs: Output[] = [];

  if (work.tasks.length > 0) {
    const name = inputFileName(spec);
    const stages: Stage[] = name === null ? [] : [inputImport(name)];
    for (const written of work.tasks) {
      const t = resolvedToolTask(written);
      if (t.tool === "storage:put") {
        // A named file is an output now; the files a pattern matches become outputs when the put runs.
        for (const file of (t.parameters.files as string[]).filter((f) => !hasWildcard(f))) {
          outputs.push(toolFileOutput(file, t.parameters));
        }
      }
      // `tool` as written (`ffmpeg:cmd|p`), `kind` the tool itself.
      stages.push({ kind: t.tool, tool: written.tool, version: t.version, output_id: null, options: t.parameters });
    }
    return { tasks: linkTools(stages.map((s) => task(now, s)), outputs), outputs };
  }

  const encodes: Stage[] = [];
  if (work.kind) {
    const out = output(work.kind.options.format, { kind: work.kind.kind, ...work.kind.options });
    outputs.push(out);
    encodes.push(stage(work.kind.kind, work.kind.options, out.id));
  }
  for (const o of work.outputs) {
    const out = output(o.type, o);
    outputs.push(out);
    encodes.push(stage("encode", o, out.id));
  }
  for (const thumbnail of spec.thumbnails) {
    const out = output("thumbnail", thumbnail);
    outputs.push(out);
    encodes.push(stage("thumbnail", thumbnail, out.id));
  }
  return { tasks: linkTranscode([stage("probe"), stage("import"), ...encodes, stage("export")].map((p) => task(now, p))), outputs };
}

function planStyle(spec: Extract<JobSpec, { mode: "style" }>, now: string): { tasks: Task[]; outputs: Output[] } {
  const renders = styleRenders(spec.template !== null, spec.config);
  const out = renders ? output("mp4", { style: true, template: spec.template, ...spec.config }) : null;
  const stages = styleStages.filter((s) => renders || (s !== "style_application" && s !== "rendering"));
  const tasks = stages.map((s) => task(now, stage(s, {}, s === "rendering" ? out!.id : null)));
  const inputs = spec.template === null ? ["input"] : ["input", "template"];
  return {
    tasks: tasks.map((t, i) => ({ ...t, engine: "style", inputs, outputs: t.output_id === null ? [] : [t.output_id], depends_on: i === 0 ? [] : [tasks[i - 1]!.id] })),
    outputs: out ? [out] : [],
  };
}

/** The engine a job's order goes to: every task of a plan shares it (no plan mixes engines yet). */
export function planEngine(tasks: readonly Pick<Task, "engine">[]): EngineName {
  return tasks[0]?.engine ?? "transcode";
}

function linkTranscode(tasks: Unlinked[]): Task[] {
  const idsOf = (kind: string) => tasks.filter((t) => t.kind === kind).map((t) => t.id);
  const makers = tasks.filter((t) => t.output_id !== null);
  return tasks.map((t) => {
    const link = (inputs: string[], outputs: string[], depends_on: string[]): Task => ({ ...t, engine: "transcode", inputs, outputs, depends_on });
    switch (t.kind) {
      case "probe":
        return link(["input"], [], []);
      case "import":
        return link(["input"], [], idsOf("probe"));
      case "export":
        // Encode tasks complete their outputs; export stores what they made.
        return link(makers.map((m) => m.output_id!), [], makers.map((m) => m.id));
      default:
        return link(["input"], t.output_id === null ? [] : [t.output_id], idsOf("import"));
    }
  });
}

/** The `-i` arguments of an ffmpeg command that name files of the working directory. */
function ffmpegReads(args: readonly string[]): string[] {
  return args.filter((arg, i) => args[i - 1] === "-i" && isFileName(arg));
}

/** A task's parameters, by name. */
const param = <T>(t: Unlinked, name: string): T | undefined => t.options[name] as T | undefined;
const literalFiles = (t: Unlinked) => (param<string[]>(t, "files") ?? []).filter((f) => !hasWildcard(f));

/** What a step reads, from its parameters (rename and a put's patterns read what is there when they run). */
function readsOf(t: Unlinked): string[] {
  switch (t.kind) {
    case "storage:put":
      return literalFiles(t);
    case "ffmpeg:cmd":
      return ffmpegReads(param<string[]>(t, "arguments") ?? []);
    case "ffmpeg:loudnorm_analyze":
      return [param<string>(t, "input_file")!];
    case "utils:tar":
      return param<string>(t, "mode") === "unpack" ? [param<string>(t, "archive")!] : literalFiles(t);
    case "shaka:package_dash":
      return [...new Set((param<{ input_file: string }[]>(t, "inputs") ?? []).map((i) => i.input_file))];
    default:
      return [];
  }
}

/**
 * The task graph of a pipeline. Each step waits for the one before, except VTK's
 * parallel groups: consecutive `|p` tasks all wait for what the first of them waits for,
 * and the next task that is not `|p` waits for every task of the group. What a step
 * reads and makes is taken from its parameters; for ffmpeg, which names its outputs
 * among its options, the files it makes are those of its arguments a later step reads.
 * Outputs were planned in the order of the put steps and their named files.
 */
function linkTools(tasks: Unlinked[], outputs: readonly Output[]): Task[] {
  const reads = tasks.map(readsOf);
  let nextOutput = 0;
  let barrier: string[] = [];
  let group: { waitsFor: string[]; members: string[] } | null = null;
  return tasks.map((t, i) => {
    let depends_on: string[];
    if (t.tool !== null && toolOf(t.tool).parallel) {
      group ??= { waitsFor: barrier, members: [] };
      depends_on = group.waitsFor;
      group.members.push(t.id);
      barrier = [...group.members];
    } else {
      group = null;
      depends_on = barrier;
      barrier = [t.id];
    }
    const link = (inputs: string[], made: string[]): Task => ({ ...t, engine: "tools", inputs, outputs: made, depends_on });
    switch (t.kind) {
      case "import":
        return link(["input"], [param<string>(t, "file")!]);
      case "storage:get":
        return link([], param<string[]>(t, "files") ?? []);
      case "storage:put": {
        const files = literalFiles(t);
        const made = outputs.slice(nextOutput, nextOutput + files.length).map((o) => o.id);
        nextOutput += files.length;
        return link(files, made);
      }
      case "utils:tar":
        return link(reads[i]!, param<string>(t, "mode") === "pack" ? [param<string>(t, "archive")!] : []);
      case "ffmpeg:loudnorm_analyze": {
        const args = param<{ ffmpeg_args: string[] }>(t, "output")?.ffmpeg_args;
        return link(reads[i]!, args ? [args.at(-1)!] : []);
      }
      case "shaka:package_dash": {
        const dir = param<string>(t, "output_dir")!;
        const mpd = param<string>(t, "mpd_output")!;
        return link(reads[i]!, [dir === "" ? mpd : `${dir}/${mpd}`]);
      }
      case "ffmpeg:cmd": {
        const later = new Set(reads.slice(i + 1).flat());
        const args = param<string[]>(t, "arguments") ?? [];
        const made = args.filter((arg, j) => args[j - 1] !== "-i" && later.has(arg));
        return link(reads[i]!, [...new Set(made)]);
      }
      default:
        return link(reads[i]!, []);
    }
  });
}

/**
 * The graph of a job planned before tasks had one, derived as planJob would have made it
 * (a tool pipeline given an `input` gains the step that fetches it). Pure.
 */
export function linkStoredTasks(tasks: Unlinked[], outputs: readonly Output[], spec: Pick<JobSpec, "input" | "input_origin_id" | "input_path">, plannedAt: string): Task[] {
  if (!tasks.some((t) => t.tool !== null)) return linkTranscode(tasks);
  const name = inputFileName(spec);
  const fetchesInput = name !== null && !tasks.some((t) => t.kind === "import");
  return linkTools(fetchesInput ? [task(plannedAt, inputImport(name)), ...tasks] : tasks, outputs);
}
