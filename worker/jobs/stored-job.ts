import { newExecutionMarks } from "../billing/usage";
import type { JobState } from "./job-state";
import { type Task, terminalStatuses } from "./model";
import { type Unlinked, linkStoredTasks } from "./plan";

/** A job as the JobDO's storage may hold it: written by any earlier version of the Worker. */
export type StoredJob = Omit<JobState, "tasks" | "execution" | "dispatch" | "deadline_at"> & {
  tasks: (Unlinked & Partial<Pick<Task, "engine" | "inputs" | "outputs" | "depends_on">>)[];
  execution?: JobState["execution"];
  dispatch?: JobState["dispatch"];
  deadline_at?: JobState["deadline_at"];
};

/**
 * The job in today's shape, filling in once, on load, what a job stored before it
 * existed lacks: execution marks (it starts measuring from here), its task graph
 * (derived as it would have been planned), and the machine's dispatch (a job that
 * still wanted dispatching — no lease, its attempt never claimed — gets a try due
 * `now`, so the alarm picks it up) and deadline (none). Pure.
 */
export function upgradeStoredJob(stored: StoredJob, now: number): JobState {
  const linked = stored.tasks.every((t) => t.engine !== undefined);
  const waiting =
    !terminalStatuses.includes(stored.status) && stored.status !== "awaiting_confirmation" && stored.lease === null && stored.dispatched_attempt !== stored.attempt;
  return {
    ...stored,
    tasks: linked ? (stored.tasks as Task[]) : linkStoredTasks(stored.tasks, stored.outputs, stored.spec, stored.created_at),
    execution: stored.execution ?? newExecutionMarks(),
    dispatch: stored.dispatch !== undefined ? stored.dispatch : waiting ? { attempt: stored.attempt, phase: "wanted", next_try_at: now, tries: 0, failures: 0 } : null,
    deadline_at: stored.deadline_at ?? null,
  };
}
