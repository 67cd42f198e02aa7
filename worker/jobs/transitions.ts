import type { JobStatus } from "./model";

export const jobActions = [
  "start_probe",
  "start_processing",
  "await_confirmation",
  "confirm",
  "complete",
  "complete_partially",
  "fail",
  "cancel",
  "restart",
  "requeue",
] as const;
export type JobAction = (typeof jobActions)[number];

/**
 * The job state machine, in one place: for each status, the actions it accepts and
 * where they lead. Anything absent is an illegal transition (409 invalid_state).
 * `requeue` is the watchdog's: a lost encoder sends the job back for another attempt.
 */
export const transitionTable: Record<JobStatus, Partial<Record<JobAction, JobStatus>>> = {
  pending: { start_probe: "probing", fail: "failed", cancel: "canceled" },
  probing: {
    start_processing: "processing",
    await_confirmation: "awaiting_confirmation",
    fail: "failed",
    cancel: "canceled",
    requeue: "pending",
  },
  awaiting_confirmation: { confirm: "processing", fail: "failed", cancel: "canceled" },
  processing: { complete: "completed", complete_partially: "partial", fail: "failed", cancel: "canceled", requeue: "pending" },
  completed: { restart: "pending" },
  failed: { restart: "pending" },
  canceled: { restart: "pending" },
  partial: { restart: "pending" },
};

export function nextStatus(status: JobStatus, action: JobAction): JobStatus | null {
  return transitionTable[status][action] ?? null;
}
