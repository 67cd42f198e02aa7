import type { JobStatus } from "../../sdk/src/types";

/** The API's shapes as the SDK has them, generated from the OpenAPI document (type-only: no SDK code ships). */
export type { Job, JobList, JobSummary, Output, Preset, WatchEvent, WebhookDelivery } from "../../sdk/src/types";

// Listed in the order the filter shows them; `satisfies` fails the build when the API's statuses change.
const everyStatus = { pending: true, probing: true, awaiting_confirmation: true, processing: true, completed: true, failed: true, canceled: true, partial: true } satisfies Record<JobStatus, true>;
export const jobStatuses = Object.keys(everyStatus) as JobStatus[];
export const terminalStatuses: readonly JobStatus[] = ["completed", "failed", "canceled", "partial"];
