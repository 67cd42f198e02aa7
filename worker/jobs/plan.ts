import { type EngineName, toolFileNameSchema } from "../../encoder/contract";
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
 * tool after the one before, its `storage:put` files its outputs.
 */
export function planJob(spec: JobSpec, now: string): { tasks: Task[]; outputs: Output[] } {
  const work = requestedWork(spec);
  const outputs: Output[] = [];

  if (work.tasks.length > 0) {
    const name = inputFileName(spec);
    const stages: Stage[] = name === null ? [] : [inputImport(name)];
    for (const t of work.tasks) {
      if (t.tool === "storage:put") {
        for (const file of t.parameters.files as string[]) {
          outputs.push(output(file.includes(".") ? file.slice(file.lastIndexOf(".") + 1).toLowerCase() : "file", { file, location: t.parameters.location }));
        }
      }
      stages.push({ kind: t.tool, tool: t.tool, version: t.version ?? null, output_id: null, options: t.parameters });
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

/**
 * A pipeline is a chain: each tool after the one before. What a step reads and makes is
 * taken from its parameters; for ffmpeg, which names its outputs among its options, the
 * files it makes are those of its arguments a later step reads. Outputs were planned in
 * the order of the put steps and their files.
 */
function linkTools(tasks: Unlinked[], outputs: readonly Output[]): Task[] {
  const filesOf = (t: Unlinked) => (t.options.files as string[] | undefined) ?? [];
  const argsOf = (t: Unlinked) => (t.options.arguments as string[] | undefined) ?? [];
  const reads = tasks.map((t) => (t.kind === "storage:put" ? filesOf(t) : t.kind === "ffmpeg:cmd" ? ffmpegReads(argsOf(t)) : []));
  let nextOutput = 0;
  return tasks.map((t, i) => {
    const link = (inputs: string[], made: string[]): Task => ({ ...t, engine: "tools", inputs, outputs: made, depends_on: i === 0 ? [] : [tasks[i - 1]!.id] });
    switch (t.kind) {
      case "import":
        return link(["input"], [t.options.file as string]);
      case "storage:get":
        return link([], filesOf(t));
      case "storage:put": {
        const files = filesOf(t);
        const made = outputs.slice(nextOutput, nextOutput + files.length).map((o) => o.id);
        nextOutput += files.length;
        return link(files, made);
      }
      default: {
        const later = new Set(reads.slice(i + 1).flat());
        const args = argsOf(t);
        const made = args.filter((arg, j) => args[j - 1] !== "-i" && later.has(arg));
        return link(reads[i]!, [...new Set(made)]);
      }
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
