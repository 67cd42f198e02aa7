/** The parts of the native API's shapes the dashboard reads (the OpenAPI document at /docs has them all). */
export interface ErrorObject {
  code: string;
  message: string;
}

export interface Task {
  id: string;
  kind: string;
  tool: string | null;
  output_id: string | null;
  status: string;
  progress: number;
  error: ErrorObject | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface Output {
  id: string;
  type: string;
  status: string;
  spec: Record<string, unknown>;
  output_url: string | null;
  manifest_url: string | null;
  drm: { scheme: "aes-128" | "cenc"; key_id: string; key_url: string } | null;
  location: string | null;
  file_size_bytes: number | null;
  facts: { duration_ms: number | null; width: number | null; height: number | null; codec: string | null; sha256: string; files: number } | null;
  error: ErrorObject | null;
}

export interface UsageFigures {
  compute_units: number;
  video_minutes_in: number;
  video_minutes_out: number;
  gb_in: number;
  gb_out: number;
}

export interface Job {
  id: string;
  status: string;
  progress: number;
  current_stage: string | null;
  kind: string | null;
  input: string | null;
  tasks: Task[];
  outputs: Output[];
  thumbnails: Record<string, unknown>[];
  input_metadata: Record<string, unknown> | null;
  currency: string;
  total_estimated_cost: number | null;
  total_actual_cost: number | null;
  execution: { probe_duration_ms: number | null; encode_duration_ms: number | null; total_duration_ms: number | null };
  usage: UsageFigures & { tasks: (UsageFigures & { task_id: string; kind: string })[] };
  error: ErrorObject | null;
  tags: string[];
  webhook_url: string | null;
  dialect: string | null;
  attempt: number;
  waiting_for_encoder: boolean;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

export interface JobSummary {
  id: string;
  status: string;
  progress: number;
  current_stage: string | null;
  kind: string | null;
  mode: string;
  tags: string[];
  error_code: string | null;
  created_at: string;
}

export interface JobList {
  data: JobSummary[];
  next_cursor: string | null;
  total_count: number;
}

export interface WebhookDelivery {
  id: string;
  event_type: string;
  url: string;
  status: "pending" | "delivered" | "failed";
  attempt: number;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
  attempted_at: string | null;
  next_attempt_at: string | null;
  created_at: string;
}

export interface WatchEvent {
  event: "snapshot" | "progress" | "status_change" | "completed" | "heartbeat";
  job: Job;
  server_time: string;
}

export interface Preset {
  id: string | null;
  slug: string;
  name: string;
  builtin: boolean;
}

export const jobStatuses = ["pending", "probing", "awaiting_confirmation", "processing", "completed", "failed", "canceled", "partial"] as const;
export const terminalStatuses: readonly string[] = ["completed", "failed", "canceled", "partial"];
