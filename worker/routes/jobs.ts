import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { bearerSecurity, errorResponses, pageQuery } from "./openapi-shared";
import { validationFailure } from "../errors";
import { jobListSchema, jobSchema } from "../api/schemas/job-response";
import { createJobRequestSchema } from "../api/schemas/create-job";
import { jobService } from "./job-service";
import { WATCH_BACKLOG, WATCH_CLOSE } from "../jobs/watch-hub";

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

export const watchJob = createRoute({
  method: "get",
  path: "/jobs/{id}/watch",
  summary: "Watch a job: a WebSocket on upgrade, otherwise an NDJSON stream",
  description:
    "Events: snapshot on connect, progress (debounced 200 ms), status_change, playable (once every HLS package the job publishes as it encodes has its first segment of every variant stored: its output_url plays from then on, while the job is still processing; see Output.playable_at), completed (then the watch closes), heartbeat every 30 s. Each carries the job and server_time. Browsers pass a watch token as ?token= instead of an Authorization header. " +
    `A watcher that falls ${WATCH_BACKLOG} events behind is dropped: an NDJSON stream ends; a WebSocket that acknowledges the events it has handled (it sends {"ack": server_time}) is closed with ${WATCH_CLOSE.tooSlow.code} "${WATCH_CLOSE.tooSlow.reason}". Either reconnects to a snapshot.`,
  security: [...bearerSecurity, {}],
  request: { params: jobIdParams, query: z.object({ token: z.string().max(256).optional() }) },
  responses: {
    101: { description: "Switching to a WebSocket" },
    200: {
      description: "Newline-delimited JSON events",
      content: { "application/x-ndjson": { schema: z.object({ event: z.enum(["snapshot", "progress", "status_change", "playable", "completed", "heartbeat"]), job: jobSchema, server_time: z.string() }).openapi("WatchEvent") } },
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

export const jobRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
})
  .openapi(createJob, async (c) => {
    const result = await jobService(c).create(c.req.valid("json"), { idempotencyKey: c.req.valid("header")["idempotency-key"] });
    return c.json(result.job, result.created ? 201 : 200);
  })
  .openapi(listJobsRoute, async (c) => {
    const query = c.req.valid("query");
    const page = await jobService(c).list({
      statuses: splitList(query.status),
      tags: splitList(query.tag),
      search: query.search ?? null,
      bundle: query.bundle ?? null,
      limit: query.limit,
      cursor: query.cursor ?? null,
    });
    return c.json(page, 200);
  })
  .openapi(getJob, async (c) => c.json(await jobService(c).get(c.req.valid("param").id), 200))
  .openapi(actionRoute("cancel", "Cancel a job; completed outputs are kept"), async (c) => c.json(await jobService(c).cancel(c.req.valid("param").id), 200))
  .openapi(actionRoute("confirm", "Confirm a delayed-start job (awaiting_confirmation only)"), async (c) => c.json(await jobService(c).confirm(c.req.valid("param").id), 200))
  .openapi(actionRoute("restart", "Reset the tasks and run again under the same id"), async (c) => c.json(await jobService(c).restart(c.req.valid("param").id), 200))
  .openapi(watchTokenRoute, async (c) => c.json(await jobService(c).watchToken(c.req.valid("param").id, new URL("/v1", c.req.url).toString()), 201));
// Listed here among the job routes; served by routes/job-watch.ts, mounted apart because it
// also takes a watch token instead of a key.
jobRoutes.openAPIRegistry.registerPath(watchJob);
jobRoutes.openapi(resubmitJob, async (c) => c.json(await jobService(c).resubmit(c.req.valid("param").id), 201));
