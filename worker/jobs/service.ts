import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { CreateJobRequest } from "../api/schemas/create-job";
import type { Caller } from "../auth/caller";
import { mintWatchToken } from "../auth/watch-token";
import { jobs } from "../db/schema";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { admitJobCreate } from "../limits/admission";
import { BucketRefError, type JobStorage, resolveJobStorage } from "../origins/buckets";
import { resolvePresets } from "../presets/resolve";
import { isUploadRef, resolveUploadInput } from "../uploads/store";
import { listJobWebhookDeliveries } from "../webhooks/deliveries";
import { newJobId, requestHash } from "./idempotency";
import type { JobDO } from "./job-do";
import { type JobListQuery, listJobs } from "./job-list";
import type { Dialect } from "./dialects";
import { type JobSpec, type RequestedJob, storageFields, toJobSpec } from "./job-spec";
import { assertJobFits } from "./job-size";
import { jobNotFound, jobStub } from "./job-stub";
import { type JobStatus, jobStatuses } from "./model";
import type { TaskLogView } from "./task-log";

export type JobView = NonNullable<Awaited<ReturnType<JobDO["get"]>>>;
type CreateOutcome = Awaited<ReturnType<JobDO["create"]>>;
type ActionOutcome = Awaited<ReturnType<JobDO["cancel"]>>;

/** A list's filters as a front-end parsed them; statuses and tags are checked here, the organization is the caller's. */
export type JobFilters = Omit<JobListQuery, "orgId" | "statuses"> & { statuses: string[] };

/**
 * The one way into jobs for every front-end (the native /v1 routes, each dialect): they
 * parse a request into these calls and render what comes back, so idempotency, presets,
 * storage and origin resolution, the IAM checks and the JobDO are reached only from here.
 * Failures are ApiErrors, which each front-end's error renderer shapes.
 *
 * It works for one `caller`, whose `authorize` the front-end derived from its own
 * credential; every method checks it before it reads or changes anything.
 */
export class JobService {
  constructor(
    private readonly env: Env,
    private readonly caller: Caller,
  ) {}

  /**
   * Creates the job `request` describes, or answers the job its idempotency key already
   * created (`created: false`). `idempotencyKey` is a key the front-end's transport
   * carried (a header), which must agree with the body's `idempotency_key`. `dialect`
   * names the vendor front-end creating it, whose shape its webhooks then take.
   */
  async create(request: CreateJobRequest, options: { idempotencyKey?: string; dialect?: Dialect } = {}): Promise<{ job: JobView; created: boolean }> {
    this.caller.authorize("jobs:create", "jobs/*");
    await this.assertUploadInput(request.input);
    await this.assertUploadInput(request.style?.template);
    const { idempotency_key: bodyKey, ...body } = request;
    if (options.idempotencyKey !== undefined && bodyKey !== undefined && options.idempotencyKey !== bodyKey) {
      throw new ApiError(400, "validation_error", "Idempotency-Key header and idempotency_key differ");
    }
    const unresolved = toJobSpec(request, await resolvePresets(this.env.DB, this.caller.orgId, request.outputs));
    const spec = { ...unresolved, dialect: options.dialect ?? null, storage: await this.resolveStorage(unresolved) };
    const result = await this.createFromSpec(spec, {
      idempotencyKey: bodyKey ?? options.idempotencyKey ?? null,
      resubmittedFrom: null,
      requestHash: await requestHash(body),
    });
    if (result.outcome === "conflict") {
      throw new ApiError(409, "idempotency_conflict", "This idempotency key was used with a different request body");
    }
    return { job: result.job, created: result.outcome === "created" };
  }

  async get(id: string): Promise<JobView> {
    this.caller.authorize("jobs:get", `jobs/${id}`);
    const job = await jobStub(this.env, id).get(this.caller.orgId);
    if (!job) throw jobNotFound(id);
    return job;
  }

  /** A task's status and the last lines of its log. */
  async taskLog(id: string, taskId: string): Promise<TaskLogView> {
    this.caller.authorize("jobs:get", `jobs/${id}`);
    const log = (await jobStub(this.env, id).taskLog(this.caller.orgId, taskId)) as TaskLogView | null;
    if (!log) throw new ApiError(404, "not_found", `No task ${taskId} in job ${id}`);
    return log;
  }

  /** Newest first, from the D1 index. */
  async list(filters: JobFilters) {
    this.caller.authorize("jobs:list", "jobs/*");
    const unknown = filters.statuses.filter((s) => !(jobStatuses as readonly string[]).includes(s));
    if (unknown.length > 0) {
      throw new ApiError(400, "validation_error", `status: unknown value ${unknown.join(", ")}; use ${jobStatuses.join(", ")}`);
    }
    if (filters.tags.length > 20 || filters.tags.some((t) => t.length > 64)) {
      throw new ApiError(400, "validation_error", "tag: at most 20 tags of at most 64 characters");
    }
    return listJobs(this.env.DB, { ...filters, orgId: this.caller.orgId, statuses: filters.statuses as JobStatus[] });
  }

  /** Cancels the job; completed outputs are kept. */
  cancel(id: string): Promise<JobView> {
    return this.act(id, "cancel");
  }

  /** Starts a delayed-start job that is awaiting confirmation. */
  confirm(id: string): Promise<JobView> {
    return this.act(id, "confirm");
  }

  /** Resets the tasks of a finished job and runs it again under the same id. */
  restart(id: string): Promise<JobView> {
    return this.act(id, "restart");
  }

  /** A new job from the original's spec; the original is untouched. */
  async resubmit(id: string): Promise<JobView> {
    this.caller.authorize("jobs:resubmit", `jobs/${id}`);
    this.caller.authorize("jobs:create", "jobs/*");
    const original = await jobStub(this.env, id).spec(this.caller.orgId);
    if (!original) throw jobNotFound(id);
    // The upload it read may have been deleted or expired since: refused now, as at creation.
    await this.assertUploadInput(original.input);
    if (original.mode === "style") await this.assertUploadInput(original.template);
    // The origins and secrets the original named are looked up again: they may be gone.
    const spec = { ...original, storage: await this.resolveStorage(original) };
    const result = await this.createFromSpec(spec, { idempotencyKey: null, resubmittedFrom: id, requestHash: await requestHash(spec) });
    if (result.outcome === "conflict") throw new Error("a fresh job id collided");
    return result.job;
  }

  /**
   * The job's Watch as the JobDO answers it: a WebSocket when `upgrade` asks for one,
   * otherwise an NDJSON stream. The response is the DO's own, to be returned as it is.
   */
  async watch(id: string, options: { upgrade?: string }): Promise<Response> {
    this.caller.authorize("jobs:get", `jobs/${id}`);
    const headers = new Headers({ "x-kiln-org-id": this.caller.orgId });
    if (options.upgrade) headers.set("upgrade", options.upgrade);
    // The Watch closes when the credential ends: the key revoked, the token expired (jobs/watch-hub.ts).
    if (this.caller.keyId) headers.set("x-kiln-key-id", this.caller.keyId);
    if (this.caller.expiresAt !== undefined) headers.set("x-kiln-expires", String(this.caller.expiresAt));
    const response = await jobStub(this.env, id).fetch("https://job/watch", { headers });
    if (response.status === 404) throw jobNotFound(id);
    return response;
  }

  /**
   * A short-lived token for the job's Watch, for browsers, and the WebSocket URL that
   * carries it under `baseUrl`, the front-end's own base (e.g. `https://host/v1`).
   */
  async watchToken(id: string, baseUrl: string): Promise<{ token: string; expires_at: string; watch_url: string }> {
    this.caller.authorize("jobs:get", `jobs/${id}`);
    // Existence in this org is all that is asked: spec() answers it without rendering the job.
    if (!(await jobStub(this.env, id).spec(this.caller.orgId))) throw jobNotFound(id);
    const minted = await mintWatchToken(this.env, id, this.caller.orgId, this.caller.keyId);
    const watchUrl = new URL(`${baseUrl.replace(/\/+$/, "")}/jobs/${id}/watch?token=${encodeURIComponent(minted.token)}`);
    return { ...minted, watch_url: watchUrl.toString().replace(/^http/, "ws") };
  }

  /** The job's webhook deliveries, newest first, with every attempt. */
  async webhookDeliveries(id: string, limit: number) {
    this.caller.authorize("jobs:get", `jobs/${id}`);
    // Ownership comes from the job index: another organization's job does not exist here.
    const row = await drizzle(this.env.DB).select({ orgId: jobs.orgId }).from(jobs).where(eq(jobs.id, id)).get();
    if (!row || row.orgId !== this.caller.orgId) throw jobNotFound(id);
    return listJobWebhookDeliveries(this.env.DB, id, limit);
  }

  private async act(id: string, action: "cancel" | "confirm" | "restart"): Promise<JobView> {
    this.caller.authorize(`jobs:${action}`, `jobs/${id}`);
    const stub = jobStub(this.env, id);
    const orgId = this.caller.orgId;
    const outcome = (await (action === "cancel" ? stub.cancel(orgId) : action === "confirm" ? stub.confirm(orgId) : stub.restart(orgId))) as ActionOutcome;
    if (!outcome) throw jobNotFound(id);
    if (!outcome.ok) {
      throw new ApiError(409, "invalid_state", `Cannot ${action} a job that is ${outcome.invalidState}`, { status: outcome.invalidState });
    }
    return outcome.job;
  }

  private async createFromSpec(
    spec: JobSpec,
    options: { idempotencyKey: string | null; resubmittedFrom: string | null; requestHash: string },
  ): Promise<CreateOutcome> {
    assertJobFits(spec);
    const orgId = this.caller.orgId;
    const jobId = await newJobId(orgId, options.idempotencyKey);
    await admitJobCreate(this.env, orgId, this.caller.keyId ?? null, jobId);
    return jobStub(this.env, jobId).create({ jobId, orgId, spec, ...options });
  }

  /**
   * A job whose `input` (or style template) names an upload must name a ready upload of the caller's
   * organization that it may read: anything else is a 400 (`upload_not_found`,
   * `upload_not_ready`) before the job exists.
   */
  private async assertUploadInput(input: string | null | undefined): Promise<void> {
    if (!isUploadRef(input)) return;
    this.caller.authorize("uploads:get", `uploads/${input}`);
    const result = await resolveUploadInput(this.env, this.caller.orgId, input);
    if (!result.ok) throw new ApiError(400, result.code, result.message, { input });
  }

  /** The job's bucket fields resolved, or a 422 naming what is missing (a 403 for an origin or secret the caller may not use). */
  private async resolveStorage(spec: RequestedJob): Promise<JobStorage> {
    try {
      return await resolveJobStorage(this.env, this.caller.orgId, storageFields(spec), (action, resource) => this.caller.authorize(action, resource));
    } catch (err) {
      if (err instanceof BucketRefError) throw new ApiError(422, err.code, err.message);
      throw err;
    }
  }
}
