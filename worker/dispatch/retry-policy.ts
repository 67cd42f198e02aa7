import type { PriorityName } from "../api/schemas/create-job";

/**
 * How long a job waits before asking a full encoder pool again, by tier: premium comes
 * back soonest, so when slots free up under load it is usually first in line.
 */
export function busyRetryDelaySeconds(priority: PriorityName, tries: number): number {
  const base = { premium: 1, standard: 3, economy: 10 }[priority];
  const cap = { premium: 10, standard: 30, economy: 120 }[priority];
  return Math.min(cap, base * 2 ** Math.max(0, tries - 1));
}

/** How long a job waits after a dispatch that failed for no reason of its own (a D1 hiccup): 2 s doubling to 60 s. */
export function failedDispatchDelaySeconds(failures: number): number {
  return Math.min(60, 2 ** Math.max(1, failures));
}

/** Dispatches that fail this many times in a row fail the job with dispatch_failed. */
export const MAX_DISPATCH_FAILURES = 6;
