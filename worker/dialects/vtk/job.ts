import type { PriorityName } from "../../api/schemas/create-job";
import type { JobView } from "../../jobs/service";
import type { Task } from "../../jobs/model";
import { organizationUrn } from "./org";
import { type VtkStatus, jobStatusCode, statusTexts, taskStatusCode } from "./status";

/** Kiln keeps three priority tiers (1–3, 4–7, 8–10); a job reads back as its tier's VTK number. */
const priorityNumbers: Record<PriorityName, number> = { premium: 1, standard: 5, economy: 10 };

/** The job's URL in VTK's API, under `base` (the Worker's public URL). */
export function vtkJobUrl(base: string, orgId: string, jobId: string): string {
  return `${base.replace(/\/+$/, "")}/o/${organizationUrn(orgId)}/jobs/${jobId}`;
}

export function vtkJobStatus(job: Pick<JobView, "status" | "waiting_for_encoder" | "error">): VtkStatus {
  return jobStatusCode({ status: job.status, waiting_for_encoder: job.waiting_for_encoder ?? false, error_code: job.error?.code ?? null });
}

/** A task as VTK's Tasks API shows it: the tool, the version it runs, its status and parameters. */
export function vtkTask(task: Task, jobStatus: VtkStatus) {
  const status = taskStatusCode(task.status, jobStatus);
  return {
    id: task.id,
    tool: task.tool ?? task.kind,
    version: task.version,
    parameters: task.options,
    status,
    status_text: statusTexts[status],
    progress: task.progress,
    error: task.error,
    created: task.created_at,
    started: task.started_at,
    finished: task.finished_at,
    modified: task.updated_at,
  };
}

/** The whole job in VTK's shape, every task included. */
export function vtkJob(job: JobView, url: string) {
  const status = vtkJobStatus(job);
  return {
    id: job.id,
    url,
    status,
    status_text: statusTexts[status],
    progress: job.progress,
    tags: job.tags,
    region: job.region,
    priority: priorityNumbers[job.priority as PriorityName] ?? priorityNumbers.standard,
    notify: job.webhook_url,
    job_bundle: job.bundle,
    error: job.error,
    resubmitted_from: job.resubmitted_from,
    created: job.created_at,
    modified: job.updated_at,
    started: job.started_at,
    finished: job.completed_at,
    tasks: job.tasks.map((task) => vtkTask(task, status)),
    outputs: job.outputs.map((o) => ({ id: o.id, status: o.status, location: o.location, file_size_bytes: o.file_size_bytes, facts: o.facts })),
  };
}

/** The seed's metrics shape: job totals and per task, from the job's usage. */
export function vtkMetrics(job: JobView) {
  const tools = new Map(job.tasks.map((t) => [t.id, t.tool ?? t.kind]));
  const figures = (u: { compute_units: number; video_minutes_in: number; video_minutes_out: number; gb_in: number; gb_out: number }) => ({
    cus: u.compute_units,
    video_minutes_in: u.video_minutes_in,
    video_minutes_out: u.video_minutes_out,
    gb_in: u.gb_in,
    gb_out: u.gb_out,
  });
  return {
    id: job.id,
    ...figures(job.usage),
    tasks: job.usage.tasks.map((t) => ({ task_id: t.task_id, tool: tools.get(t.task_id) ?? t.kind, ...figures(t) })),
  };
}

/** A row of the job index, as the job list shows it: the job without its tasks (Get has them). */
export interface IndexRow {
  id: string;
  status: JobView["status"];
  progress: number;
  priority: string;
  tags: string[];
  bundle: string | null;
  error_code: string | null;
  waiting_for_encoder: boolean;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
}

export function vtkJobSummary(row: IndexRow, url: string) {
  const status = jobStatusCode(row);
  return {
    id: row.id,
    url,
    status,
    status_text: statusTexts[status],
    progress: row.progress,
    tags: row.tags,
    priority: priorityNumbers[row.priority as PriorityName] ?? priorityNumbers.standard,
    job_bundle: row.bundle,
    error_code: row.error_code,
    created: row.created_at,
    modified: row.updated_at,
    started: row.started_at,
    finished: row.completed_at,
  };
}
