import type { ContentAwareDecision, EngineName } from "../../encoder/contract";
import type { BucketObject } from "../origins/buckets";

export const jobStatuses = [
  "pending",
  "probing",
  "awaiting_confirmation",
  "processing",
  "completed",
  "failed",
  "canceled",
  "partial",
] as const;
export type JobStatus = (typeof jobStatuses)[number];
export const terminalStatuses: readonly JobStatus[] = ["completed", "failed", "canceled", "partial"];

/** `skipped`: a tool pipeline's task that never ran because a storage:check (COMPLETE_ON_PRESENCE) completed the job before it. */
export const taskStatuses = ["waiting", "running", "completed", "failed", "canceled", "skipped"] as const;
export type TaskStatus = (typeof taskStatuses)[number];

/** `expired`: retention deleted a completed output's files (worker/retention/). */
export const outputStatuses = ["pending", "processing", "completed", "failed", "canceled", "expired"] as const;
export type OutputStatus = (typeof outputStatuses)[number];

export interface JobError {
  code: string;
  message: string;
}

/**
 * One task of a job's plan, a node of its task graph. `inputs` and `outputs` name what
 * it reads and makes: `input` (the job's input), plain file names of a tool pipeline's
 * working directory, or output ids (an output is among the `outputs` of the one task
 * whose completion completes it).
 */
export interface Task {
  id: string;
  kind: string;
  tool: string | null;
  version: string | null;
  output_id: string | null;
  options: Record<string, unknown>;
  /** Which of the encoder's engines runs it. */
  engine: EngineName;
  inputs: string[];
  outputs: string[];
  /** Tasks that must have completed before it starts. */
  depends_on: string[];
  status: TaskStatus;
  progress: number;
  error: JobError | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  /**
   * The bytes a tool pipeline's fetch (storage:get, or the step that fetches `input`)
   * wrote in its last completed run, as the encoder reported them; internal, counted in
   * `usage.gb_in`. Absent in older jobs, other tasks and from older encoders.
   */
  bytes_in?: number;
}

/** What the encoder verified about an output, from ffprobe of the file it wrote. */
export interface OutputFacts {
  duration_ms: number | null;
  width: number | null;
  height: number | null;
  codec: string | null;
  sha256: string;
  files: number;
}

/**
 * A tool pipeline's output: one file a storage:put stores in its location's folder.
 * `overwrite` false (absent in jobs from before it: true) refuses to replace an object;
 * `discovered`: a file one of the put's patterns matched when it ran, not planned.
 */
export interface ToolOutputSpec {
  file: string;
  location: string;
  overwrite?: boolean;
  discovered?: boolean;
}

/** The tool file an output stands for; null for the outputs of kind and outputs jobs, whose specs have no `file`. */
export function toolOutputSpec(output: Pick<Output, "spec">): ToolOutputSpec | null {
  const { file, location, overwrite, discovered } = output.spec;
  if (typeof file !== "string" || typeof location !== "string") return null;
  return { file, location, ...(typeof overwrite === "boolean" ? { overwrite } : {}), ...(discovered === true ? { discovered } : {}) };
}

export interface Output {
  id: string;
  type: string;
  status: OutputStatus;
  spec: Record<string, unknown>;
  output_url: string | null;
  file_size_bytes: number | null;
  facts: OutputFacts | null;
  error: JobError | null;
  /** Managed-storage key of the output's main file (the media file or master playlist); internal. */
  main_key: string | null;
  /** The main file when the output went to a bucket (an origin or a secret's); internal, shown as `location`. */
  main_object: BucketObject | null;
  /** Storage key of an adaptive package's DASH manifest (its view shows `manifest_url`); internal. */
  manifest_key?: string | null;
  /** A content-aware output's per-title decision, as the encoder reported it (absent in older jobs). */
  content_aware?: ContentAwareDecision | null;
  /**
   * When its URL started to play: a package published as it is made (publishedProgressively)
   * once every variant has a segment stored, while the job still runs; any other output
   * at completion. Absent in older jobs.
   */
  playable_at?: string | null;
}
