import { expect } from "vitest";

/** The seed's "Response 201" as Ittybit documents it, shared by the Worker and e2e tests of the dialect. */
export const jobKeys = ["id", "object", "kind", "input", "output", "options", "metadata", "status", "error", "tasks", "created_at", "started_at", "finished_at", "updated_at"];
export const taskKeys = ["id", "object", "kind", "input", "options", "output", "status", "progress", "error", "created_at", "started_at", "finished_at", "updated_at"];

/** A new job's four tasks, probe → import → `kind` → export, each waiting, field by field and in the seed's order. */
export function expectWaitingTasks(job: { kind: string; created_at: number; tasks: Record<string, unknown>[] }): void {
  expect(job.tasks.map((t) => t.kind)).toEqual(["probe", "import", job.kind, "export"]);
  for (const task of job.tasks) {
    expect(Object.keys(task)).toEqual(taskKeys);
    expect(task).toEqual({
      id: expect.stringMatching(/^task_[a-z0-9]+$/),
      object: "task",
      kind: task.kind,
      input: null,
      options: {},
      output: null,
      status: "waiting",
      progress: null,
      error: null,
      created_at: job.created_at,
      started_at: null,
      finished_at: null,
      updated_at: job.created_at,
    });
  }
}
