import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type Action } from "../auth/policy";
import type { AppEnv } from "../env";
import { bearerSecurity, errorResponses, pageQuery } from "./openapi-shared";
import { ApiError, validationFailure } from "../errors";
import { derivedId, newId, sha256Hex } from "../ids";
import type { ActionOutcome, CreateOutcome } from "../jobs/job-do";
import { listJobs } from "../jobs/job-list";
import { jobListSchema, jobSchema } from "../api/schemas/job-response";
import { type JobSpec, storageFields, toJobSpec } from "../jobs/job-spec";
import { jobStatuses } from "../jobs/model";
import { createJobRequestSchema } from "../api/schemas/create-job";
import { resolvePresets } from "../presets/resolve";
import { authorize } from "../middleware/authenticate";
import { mintWatchToken, verifyWatchToken } from "../auth/watch-token";
import { canonicalJson } from "./route-helpers";
import { jobNotFound, jobStub } from "../jobs/job-stub";
import { assertUploadInput } from "./uploads";
import { BucketRefError, type JobStorage, type StorageFields, resolveJobStorage } from "../origins/buckets";

const jobResponse = (description: string) => ({ description, content: { "application/json": { schema: jobSchema } } });
const jobIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "job_a1b2c3d4e5f6g7h8j9k0" }) });

const createJob = createRoute({
  method: "post",
  path: "/jobs",
  summary: "Create a job",
  security: bearerSecurity,
  request: {
    headers: z.object({ "idempotency-key": z.string().min(1).max(128).optional() }),
    body: { required: true, content: { "application/json": { schema: createJobRequestSchema } } },
  },
  responses: {
    201: jobResponse("The job, with its planned tasks"),
    200: jobResponse("The job first created with this idempotency key"),
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

const listJobsRoute = createRoute({
  method: "get",
  path: "/jobs",
  summary: "List jobs, newest first",
  security: bearerSecurity,
  request: {
    query: z.object({
      status: z.string().optional().openapi({ description: "Comma-separated statuses; any may match" }),
      tag: z.string().optional().openapi({ description: "Comma-separated tags; all must match (case-insensitive)" }),
      search: z.string().min(1).max(128).optional().openapi({ description: "Job id or tag" }),
      bundle: z.string().min(1).max(128).optional(),
      ...pageQuery,
    }),
  },
  responses: { 200: { description: "A page of jobs", content: { "application/json": { schema: jobListSchema } } }, ...errorResponses(400, 401, 403) },
});

const getJob = createRoute({
  method: "get",
  path: "/jobs/{id}",
  summary: "Retrieve a job",
  security: bearerSecurity,
  request: { params: jobIdParams },
  responses: { 200: jobResponse("The job"), ...errorResponses(401, 403, 404) },
});

const actionRoute = (action: "cancel" | "confirm" | "restart", summary: string) =>
  createRoute({
    method: "post",
    path: `/jobs/{id}/${action}`,
    summary,
    security: bearerSecurity,
    request: { params: jobIdParams },
    responses: { 200: jobResponse("The job after the action"), ...errorResponses(401, 403, 404, 409) },
  });

const resubmitJob = createRoute({
  method: "post",
  path: "/jobs/{id}/resubmit",
  summary: "Run the job again under a new id; the original is untouched",
  security: bearerSecurity,
  request: { params: jobIdParams },
  responses: { 201: jobResponse("The new job"), ...errorResponses(401, 403, 404, 422) },
});

const watchJob = createRoute({
  method: "get",
  path: "/jobs/{id}/watch",
  summary: "Watch a job: a WebSocket on upgrade, otherwise an NDJSON stream",
  description:
    "Events: snapshot on connect, progress (debounced 200 ms), status_change, completed (then the watch closes), heartbeat every 30 s. Each carries the job and server_time. Browsers pass a watch token as ?token= instead of an Authorization header.",
  security: [...bearerSecurity, {}],
  request: { params: jobIdParams, query: z.object({ token: z.string().max(256).optional() }) },
  responses: {
    101: { description: "Switching to a WebSocket" },
    200: {
      description: "Newline-delimited JSON events",
      content: { "application/x-ndjson": { schema: z.object({ event: z.enum(["snapshot", "progress", "status_change", "completed", "heartbeat"]), job: jobSchema, server_time: z.string() }).openapi("WatchEvent") } },
    },
    ...errorResponses(401, 403, 404),
  },
});

const watchTokenRoute = createRoute({
  method: "post",
  path: "/jobs/{id}/watch-token",
  summary: "A short-lived token for one job's Watch, for browsers",
  security: bearerSecurity,
  request: { params: jobIdParams },
  responses: {
    201: { description: "The token", content: { "application/json": { schema: z.object({ token: z.string(), expires_at: z.string(), watch_url: z.string() }) } } },
    ...errorResponses(401, 403, 404),
  },
});

function splitList(value: string | undefined): string[] {
  return value ? value.split(",").map((v) => v.trim()).filter((v) => v.length > 0) : [];
}

async function createFromSpec(
  c: Context<AppEnv>,
  spec: JobSpec,
  options: { idempotencyKey: string | null; resubmittedFrom: string | null; requestHash: string },
): Promise<CreateOutcome> {
  const orgId = c.get("principal").orgId;
  // An idempotency key names the job: every create with it reaches the same JobDO,
  // which serialises them, so concurrent retries cannot create two jobs.
  const jobId = options.idempotencyKey ? await derivedId("job", `${orgId}\n${options.idempotencyKey}`) : newId("job");
  const outcome: CreateOutcome = await jobStub(c.env, jobId).create({ jobId, orgId, spec, ...options });
  return outcome;
}

export const jobRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
})
  .openapi(createJob, async (c) => {
    authorize(c, "jobs:create", "jobs/*");
    const body = c.req.valid("json");
    await assertUploadInput(c, body.input);
    const header = c.req.valid("header")["idempotency-key"];
    if (header !== undefined && body.idempotency_key !== undefined && header !== body.idempotency_key) {
      throw new ApiError(400, "validation_error", "Idempotency-Key header and idempotency_key differ");
    }
    const idempotencyKey = body.idempotency_key ?? header ?? null;
    const { idempotency_key: _key, ...request } = body;
    const unresolved = toJobSpec(body, await resolvePresets(c.env.DB, c.get("principal").orgId, body.outputs));
    const spec = { ...unresolved, storage: await resolveStorage(c, storageFields(unresolved)) };
    const result = await createFromSpec(c, spec, {
      idempotencyKey,
      resubmittedFrom: null,
      requestHash: await sha256Hex(canonicalJson(request)),
    });
    if (result.outcome === "conflict") {
      throw new ApiError(409, "idempotency_conflict", "This idempotency key was used with a different request body");
    }
    return c.json(result.job, result.outcome === "created" ? 201 : 200);
  })
  .openapi(listJobsRoute, async (c) => {
    authorize(c, "jobs:list", "jobs/*");
    const query = c.req.valid("query");
    const statuses = splitList(query.status);
    const unknown = statuses.filter((s) => !(jobStatuses as readonly string[]).includes(s));
    if (unknown.length > 0) {
      throw new ApiError(400, "validation_error", `status: unknown value ${unknown.join(", ")}; use ${jobStatuses.join(", ")}`);
    }
    const tags = splitList(query.tag);
    if (tags.length > 20 || tags.some((t) => t.length > 64)) throw new ApiError(400, "validation_error", "tag: at most 20 tags of at most 64 characters");
    const page = await listJobs(c.env.DB, {
      orgId: c.get("principal").orgId,
      statuses: statuses as (typeof jobStatuses)[number][],
      tags,
      search: query.search ?? null,
      bundle: query.bundle ?? null,
      limit: query.limit,
      cursor: query.cursor ?? null,
    });
    return c.json(page, 200);
  })
  .openapi(getJob, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "jobs:get", `jobs/${id}`);
    const job = await jobStub(c.env, id).get(c.get("principal").orgId);
    if (!job) throw jobNotFound(id);
    return c.json(job, 200);
  })
  .openapi(actionRoute("cancel", "Cancel a job; completed outputs are kept"), (c) => runAction(c, "cancel"))
  .openapi(actionRoute("confirm", "Confirm a delayed-start job (awaiting_confirmation only)"), (c) => runAction(c, "confirm"))
  .openapi(actionRoute("restart", "Reset the tasks and run again under the same id"), (c) => runAction(c, "restart"))
  .openapi(watchTokenRoute, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "jobs:get", `jobs/${id}`);
    const orgId = c.get("principal").orgId;
    // Existence in this org is all that is asked: spec() answers it without rendering the job.
    if (!(await jobStub(c.env, id).spec(orgId))) throw jobNotFound(id);
    const minted = await mintWatchToken(c.env, id, orgId);
    const watchUrl = new URL(`/v1/jobs/${id}/watch?token=${encodeURIComponent(minted.token)}`, c.req.url).toString().replace(/^http/, "ws");
    return c.json({ ...minted, watch_url: watchUrl }, 201);
  })
  .openapi(watchJob, async (c) => {
    const { id } = c.req.valid("param");
    const { token } = c.req.valid("query");
    let orgId: string;
    if (token !== undefined) {
      const tokenOrg = await verifyWatchToken(c.env, id, token);
      if (!tokenOrg) throw new ApiError(401, "token_invalid", "The watch token is invalid or expired");
      orgId = tokenOrg;
    } else {
      authorize(c, "jobs:get", `jobs/${id}`);
      orgId = c.get("principal").orgId;
    }
    const headers = new Headers({ "x-kiln-org-id": orgId });
    const upgrade = c.req.header("upgrade");
    if (upgrade) headers.set("upgrade", upgrade);
    const response = await jobStub(c.env, id).fetch("https://job/watch", { headers });
    if (response.status === 404) throw jobNotFound(id);
    return response as never;
  })
  .openapi(resubmitJob, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "jobs:resubmit", `jobs/${id}`);
    authorize(c, "jobs:create", "jobs/*");
    const original = await jobStub(c.env, id).spec(c.get("principal").orgId);
    if (!original) throw jobNotFound(id);
    // The upload it read may have been deleted or expired since: refused now, as at creation.
    await assertUploadInput(c, original.input);
    // The origins and secrets the original named are looked up again: they may be gone.
    const spec = { ...original, storage: await resolveStorage(c, storageFields(original)) };
    const result = await createFromSpec(c, spec, { idempotencyKey: null, resubmittedFrom: id, requestHash: await sha256Hex(canonicalJson(spec)) });
    if (result.outcome === "conflict") throw new Error("a fresh job id collided");
    return c.json(result.job, 201);
  });

/** The job's bucket fields resolved, or a 422 naming what is missing (a 403 for an origin or secret the key may not use). */
async function resolveStorage(c: Context<AppEnv>, fields: StorageFields): Promise<JobStorage> {
  try {
    return await resolveJobStorage(c.env, c.get("principal").orgId, fields, (action, resource) => authorize(c, action, resource));
  } catch (err) {
    if (err instanceof BucketRefError) throw new ApiError(422, err.code, err.message);
    throw err;
  }
}

async function runAction(c: Context<AppEnv>, action: "cancel" | "confirm" | "restart") {
  const id = c.req.param("id")!;
  authorize(c, `jobs:${action}` satisfies Action, `jobs/${id}`);
  const stub = jobStub(c.env, id);
  const orgId = c.get("principal").orgId;
  const outcome = (await (action === "cancel" ? stub.cancel(orgId) : action === "confirm" ? stub.confirm(orgId) : stub.restart(orgId))) as ActionOutcome;
  if (!outcome) throw jobNotFound(id);
  if (!outcome.ok) {
    throw new ApiError(409, "invalid_state", `Cannot ${action} a job that is ${outcome.invalidState}`, { status: outcome.invalidState });
  }
  return c.json(outcome.job, 200);
}
