import { newId } from "../ids";
import type { JobSpec } from "./job-spec";
import type { Output, Task } from "./model";

type PlannedTask = Pick<Task, "kind" | "tool" | "version" | "output_id" | "options">;

function task(now: string, planned: PlannedTask): Task {
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

const stage = (kind: string, options: Record<string, unknown> = {}, outputId: string | null = null): PlannedTask => ({
  kind,
  tool: null,
  version: null,
  output_id: outputId,
  options,
});

/**
 * Plans a job's tasks and outputs at creation, so the job shows its whole pipeline at
 * once. Kind and outputs jobs follow probe → import → encode… → export; a tool
 * pipeline is taken as written, and its `storage:put` files are its outputs.
 */
export function planJob(spec: JobSpec, now: string): { tasks: Task[]; outputs: Output[] } {
  const outputs: Output[] = [];
  const encodes: PlannedTask[] = [];

  if (spec.mode === "tasks") {
    const tasks = spec.tasks.map((t) => {
      if (t.tool === "storage:put") {
        for (const file of t.parameters.files as string[]) {
          outputs.push(output(file.includes(".") ? file.slice(file.lastIndexOf(".") + 1).toLowerCase() : "file", { file, location: t.parameters.location }));
        }
      }
      return task(now, { kind: t.tool, tool: t.tool, version: t.version ?? null, output_id: null, options: t.parameters });
    });
    return { tasks, outputs };
  }

  if (spec.mode === "kind") {
    const out = output(spec.options.format, { kind: spec.kind, ...spec.options });
    outputs.push(out);
    encodes.push(stage(spec.kind, spec.options, out.id));
  } else {
    for (const o of spec.outputs) {
      const out = output(o.type, o);
      outputs.push(out);
      encodes.push(stage("encode", o, out.id));
    }
  }
  for (const thumbnail of spec.thumbnails) {
    const out = output("thumbnail", thumbnail);
    outputs.push(out);
    encodes.push(stage("thumbnail", thumbnail, out.id));
  }
  const tasks = [stage("probe"), stage("import"), ...encodes, stage("export")].map((p) => task(now, p));
  return { tasks, outputs };
}
