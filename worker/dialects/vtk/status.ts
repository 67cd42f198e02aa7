import type { JobRowMatch } from "../../jobs/job-list";
import type { JobStatus } from "../../jobs/model";

/** VTK's status codes, on jobs and tasks alike, with their `status_text`. */
export const statusTexts = ["Submitted", "In progress", "Completed", "Failed", "Aborted", "Waiting for resources", "Resource terminated"] as const;
export type VtkStatus = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** Failures that mean the encoder was lost for good rather than the job's own fault: "Resource terminated". */
const RESOURCE_LOST = ["dispatch_failed", "encoder_lost"];

/**
 * A native job's VTK status. Waiting for an encoder (the pool answered busy) is 5; a
 * `partial` job (some outputs failed, which a tool pipeline never is) counts as failed.
 */
export function jobStatusCode(job: { status: JobStatus; waiting_for_encoder: boolean; error_code: string | null }): VtkStatus {
  switch (job.status) {
    case "pending":
    case "awaiting_confirmation":
      return job.waiting_for_encoder ? 5 : 0;
    case "probing":
    case "processing":
      return 1;
    case "completed":
      return 2;
    case "failed":
      return job.error_code !== null && RESOURCE_LOST.includes(job.error_code) ? 6 : 3;
    case "partial":
      return 3;
    case "canceled":
      return 4;
  }
}

/**
 * A task's VTK status: its own, except that a task still waiting shares the job's wait
 * for an encoder (5), and the task the lost encoder was running is terminated (6).
 */
export function taskStatusCode(status: string, job: VtkStatus): VtkStatus {
  switch (status) {
    case "waiting":
      return job === 5 ? 5 : 0;
    case "running":
      return 1;
    case "completed":
      return 2;
    case "failed":
      return job === 6 ? 6 : 3;
    default:
      // canceled, and any later native state of a task that did not run to its end.
      return 4;
  }
}

/** The index rows each code stands for (the inverse of jobStatusCode), for the list's `status` filter. */
export const statusRows: Record<VtkStatus, JobRowMatch> = {
  0: { statuses: ["pending", "awaiting_confirmation"], waitingForEncoder: false },
  1: { statuses: ["probing", "processing"] },
  2: { statuses: ["completed"] },
  3: { statuses: ["failed", "partial"], notErrorCodes: RESOURCE_LOST },
  4: { statuses: ["canceled"] },
  5: { statuses: ["pending", "awaiting_confirmation"], waitingForEncoder: true },
  6: { statuses: ["failed"], errorCodes: RESOURCE_LOST },
};
