import { items, pages } from "./pages";
import { type CallOptions, type Transport, send } from "./transport";
import type { CreateJobRequest, Job, JobList, JobSummary, ListJobsQuery, TaskLog, WatchEvent, WatchToken } from "./types";
import { type WatchOptions, mintWatchToken, watchJob } from "./watch";

export interface CreateJobOptions extends CallOptions {
  /**
   * Names this create so repeating it answers the same job instead of making another. One is
   * generated when none is given (or in the body), so the SDK's own retries are always safe.
   */
  idempotencyKey?: string;
}

export class Jobs {
  constructor(private readonly transport: Transport) {}

  /**
   * Creates a job in any of its forms: `{ input, kind, options }`, `{ input, outputs: [...] }`,
   * `{ tasks: [...] }` or `{ input, style }`. Network errors, 429 (after its Retry-After) and
   * 5xx are tried again with the same idempotency key, so a retry never makes a second job.
   */
  create(request: CreateJobRequest, options: CreateJobOptions = {}): Promise<Job> {
    const key = options.idempotencyKey ?? request.idempotency_key ?? crypto.randomUUID();
    const { transport } = this;
    return send(transport, () => transport.client.POST("/jobs", { body: request, params: { header: { "idempotency-key": key } }, signal: options.signal }), {
      retry: true,
      signal: options.signal,
    });
  }

  get(id: string, options: CallOptions = {}): Promise<Job> {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/jobs/{id}", { params: { path: { id } }, signal: options.signal }), { retry: true, signal: options.signal });
  }

  /** One page of jobs, newest first; pass its `next_cursor` as `cursor` for the next. */
  page(query: ListJobsQuery = {}, options: CallOptions = {}): Promise<JobList> {
    const { status, tag, ...rest } = query;
    const list = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(",") : value);
    const params = { query: { ...rest, status: list(status), tag: list(tag) } };
    const { transport } = this;
    return send(transport, () => transport.client.GET("/jobs", { params, signal: options.signal }), { retry: true, signal: options.signal });
  }

  /** Every page of jobs matching `query`, newest first. */
  pages(query: ListJobsQuery = {}, options: CallOptions = {}): AsyncGenerator<JobList, void, undefined> {
    return pages((cursor) => this.page({ ...query, cursor }, options), query.cursor);
  }

  /** Every job matching `query`, newest first, fetching pages as the loop needs them: `for await (const job of kiln.jobs.list())`. */
  list(query: ListJobsQuery = {}, options: CallOptions = {}): AsyncGenerator<JobSummary, void, undefined> {
    return items(this.pages(query, options));
  }

  /** Cancels the job; completed outputs are kept. */
  cancel(id: string, options: CallOptions = {}): Promise<Job> {
    return this.act(id, "/jobs/{id}/cancel", options);
  }

  /** Starts a delayed-start job that is awaiting confirmation. */
  confirm(id: string, options: CallOptions = {}): Promise<Job> {
    return this.act(id, "/jobs/{id}/confirm", options);
  }

  /** Runs the job again under the same id. */
  restart(id: string, options: CallOptions = {}): Promise<Job> {
    return this.act(id, "/jobs/{id}/restart", options);
  }

  /** Runs the job's request again as a new job; the original is untouched. */
  resubmit(id: string, options: CallOptions = {}): Promise<Job> {
    const { transport } = this;
    return send(transport, () => transport.client.POST("/jobs/{id}/resubmit", { params: { path: { id } }, signal: options.signal }), { retry: false, signal: options.signal });
  }

  /**
   * A short-lived token for this job's Watch and the WebSocket URL carrying it, for a
   * browser or another process that should not hold the key; `watch()` mints its own.
   */
  watchToken(id: string, options: CallOptions = {}): Promise<WatchToken> {
    return mintWatchToken(this.transport, id, options.signal);
  }

  /** The job's events as they happen, ending with `completed`: `for await (const event of kiln.jobs.watch(id))`. */
  watch(id: string, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    return watchJob(this.transport, id, options);
  }

  /** Follows the job's Watch until it ends and answers the job as it ended; `onEvent` sees each event on the way. */
  async wait(id: string, options: WatchOptions & { onEvent?: (event: WatchEvent) => void } = {}): Promise<Job> {
    for await (const event of this.watch(id, options)) {
      options.onEvent?.(event);
      if (event.event === "completed") return event.job;
    }
    throw new Error(`Watch of ${id} ended before the job did`);
  }

  /** A task's log: the last lines its process wrote (ffmpeg's stderr for a tool pipeline's commands). */
  taskLog(id: string, taskId: string, options: CallOptions = {}): Promise<TaskLog> {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/jobs/{id}/tasks/{task_id}/log", { params: { path: { id, task_id: taskId } }, signal: options.signal }), {
      retry: true,
      signal: options.signal,
    });
  }

  private act(id: string, path: "/jobs/{id}/cancel" | "/jobs/{id}/confirm" | "/jobs/{id}/restart", options: CallOptions): Promise<Job> {
    const { transport } = this;
    return send(transport, () => transport.client.POST(path, { params: { path: { id } }, signal: options.signal }), { retry: false, signal: options.signal });
  }
}
