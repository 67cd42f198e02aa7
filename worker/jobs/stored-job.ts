import { newExecutionMarks } from "../billing/usage";
import type { JobState } from "./job-state";
import type { Task } from "./model";
import { type Unlinked, linkStoredTasks } from "./plan";

/** A job as the JobDO's storage may hold it: written by any earlier version of the Worker. */
export type StoredJob = Omit<JobState, "tasks" | "execution"> & {
  tasks: (Unlinked & Partial<Pick<Task, "engine" | "inputs" | "outputs" | "depends_on">>)[];
  execution?: JobState["execution"];
};

/**
 * The job in today's shape, filling in once, on load, what a job stored before it
 * existed lacks: execution marks (it starts measuring from here) and its task graph
 * (derived as it would have been planned). Pure.
 */
export function upgradeStoredJob(stored: StoredJob): JobState {
  const linked = stored.tasks.every((t) => t.engine !== undefined);
  return {
    ...stored,
    tasks: linked ? (stored.tasks as Task[]) : linkStoredTasks(stored.tasks, stored.outputs, stored.spec, stored.created_at),
    execution: stored.execution ?? newExecutionMarks(),
  };
}
