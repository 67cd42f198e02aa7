import { type Context, Hono } from "hono";
import { type Caller, keyCaller } from "../../auth/caller";
import type { AppEnv } from "../../env";
import { ApiError } from "../../errors";
import type { JobView } from "../../jobs/job-state";
import { terminalStatuses } from "../../jobs/model";
import { JobService } from "../../jobs/service";
import { authenticate } from "../../middleware/authenticate";
import { bodyLimit } from "../../middleware/body-limit";
import { cors } from "../../middleware/cors";
import { findUpload, refreshUpload } from "../../uploads/store";
import { newId } from "../../ids";
import { VERSION } from "../../version";
import { assertVideo, createClipzyJob } from "./create";
import { ClipzyError, clipzyErrorBody, clipzyErrors, envelope, invalidField, jobNotFound, videoNotFound } from "./envelope";
import { clipzyJob, clipzyJobDetail, clipzyJobStatus } from "./job";
import { listFilters, parseListQuery } from "./list";
import { nativeRequest, parseJobRequest, parseUploadFields } from "./request";
import { readForm, storageUrl, storeVideo, uploadBodyLimit, uploadedFile } from "./upload";
import { clipzyVideo } from "./video";

/**
 * Clipzy ML Engine's API, mounted at /api/v1 (README: Clipzy): uploads, style jobs and
 * their results under `Authorization: Bearer <Kiln key>`, in Clipzy's envelope. A thin
 * translation over Kiln's upload store and job service: a Clipzy job is a native style job.
 */
export const clipzy = new Hono<AppEnv>();
clipzy.onError(clipzyErrors);

const MAX_JSON_BYTES = 1024 * 1024;

const caller = (c: Context<AppEnv>): Caller => keyCaller(c.get("principal"));
const jobs = (c: Context<AppEnv>) => new JobService(c.env, caller(c));
const origin = (c: Context<AppEnv>) => new URL(c.req.url).origin;

clipzy.use(
  cors({
    allowHeaders: ["Authorization", "Content-Type", "X-Organization-ID"],
    exposeHeaders: ["X-Request-ID"],
  }),
);

// Public, like Clipzy's: before the key is asked for.
clipzy.get("/health", (c) => c.json(envelope("Service is healthy", { status: "healthy", service: "kiln", version: VERSION })));

clipzy.use(authenticate());
clipzy.use("/jobs", bodyLimit(MAX_JSON_BYTES));
clipzy.use("/jobs/*", bodyLimit(MAX_JSON_BYTES));

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw invalidField("body", "not valid JSON");
  }
}

/** A style job of the organization; any other job is as absent here as another organization's. */
async function styleJob(c: Context<AppEnv>, id: string): Promise<JobView> {
  try {
    const view = await jobs(c).get(id);
    if (view.style === null) throw jobNotFound(id);
    return view;
  } catch (err) {
    if (err instanceof ApiError && !(err instanceof ClipzyError) && err.code === "not_found") throw jobNotFound(id);
    throw err;
  }
}

clipzy.post("/videos/upload", uploadBodyLimit, async (c) => {
  const who = caller(c);
  who.authorize("uploads:create", "uploads/*");
  who.authorize("jobs:create", "jobs/*");
  const form = await readForm(c);
  const file = await uploadedFile(c.env, form);
  const fields = parseUploadFields(form);
  // Everything the job will be checked for is checked before the file is stored.
  const id = newId("vid");
  nativeRequest({ video_id: id, ...fields });
  if (fields.template_video_id !== null) await assertVideo(c.env, who, fields.template_video_id);
  const row = await storeVideo(c.env, who.orgId, id, file);
  const job = await createClipzyJob(c.env, who, { video_id: row.id, ...fields });
  const video = clipzyVideo(row, await storageUrl(c.env, row, origin(c)));
  return c.json(envelope(`Video uploaded successfully. Job created: ${job.id}`, { ...video, job_id: job.id }), 201);
});

clipzy.get("/videos/info/:video_id", async (c) => {
  const id = c.req.param("video_id");
  const who = caller(c);
  who.authorize("uploads:get", `uploads/${id}`);
  const found = await findUpload(c.env.DB, who.orgId, id);
  if (!found || found.status === "deleted" || found.status === "expired") throw videoNotFound(id);
  const row = await refreshUpload(c.env, found);
  if (row.status !== "ready") throw new ClipzyError(409, "VIDEO_NOT_READY", `Video ${id} is ${row.status}: its upload has not finished`, "upload_not_ready");
  return c.json(envelope("Video info retrieved", clipzyVideo(row, await storageUrl(c.env, row, origin(c)))));
});

clipzy.post("/jobs", async (c) => {
  const job = await createClipzyJob(c.env, caller(c), parseJobRequest(await readJson(c)));
  return c.json(envelope(`Job created: ${job.id}`, clipzyJob(job)), 201);
});

clipzy.get("/jobs", async (c) => {
  const query = parseListQuery(c.req.query());
  const service = jobs(c);
  const page = await service.list(listFilters(query));
  // The index row is a summary; each entry is rendered from the whole job, as Get reads it.
  const views = await Promise.all(page.data.map((row) => service.get(row.id)));
  return c.json(envelope("Jobs retrieved", { jobs: views.map(clipzyJob), total: page.total_count, page: query.page, page_size: query.page_size }));
});

clipzy.get("/jobs/:id", async (c) => c.json(envelope("Job retrieved", clipzyJob(await styleJob(c, c.req.param("id"))))));

clipzy.get("/jobs/:id/result", async (c) => {
  const view = await styleJob(c, c.req.param("id"));
  if (!terminalStatuses.includes(view.status)) {
    throw new ClipzyError(409, "RESULT_NOT_READY", `Job ${view.id} is ${clipzyJobStatus[view.status]}: its result is ready once it has finished`, "invalid_state");
  }
  return c.json(envelope("Job result retrieved", clipzyJobDetail(view)));
});

clipzy.post("/jobs/:id/cancel", async (c) => {
  const id = c.req.param("id");
  const view = await styleJob(c, id);
  const notCancellable = () => new ClipzyError(409, "JOB_NOT_CANCELLABLE", `Job ${id} is ${clipzyJobStatus[view.status]} and can no longer be cancelled`, "invalid_state");
  if (terminalStatuses.includes(view.status)) throw notCancellable();
  try {
    return c.json(envelope("Job cancelled", clipzyJob(await jobs(c).cancel(id))));
  } catch (err) {
    // It ended between the read and the cancel.
    if (err instanceof ApiError && err.code === "invalid_state") throw notCancellable();
    throw err;
  }
});

/** Clipzy's paths; any other method on them is a 405. */
const SERVED = /^\/api\/v1\/(?:health|videos\/upload|videos\/info\/[^/]+|jobs(?:\/[^/]+(?:\/result|\/cancel)?)?)$/;

// Every other path under /api/v1 answers here, in the envelope (the root's not-found answer is the native one).
clipzy.all("*", (c) => {
  const served = SERVED.test(c.req.path);
  const failure = served
    ? { code: "METHOD_NOT_ALLOWED", detail: `${c.req.method} is not allowed on ${c.req.path}` }
    : { code: "NOT_FOUND", detail: `No route ${c.req.method} ${c.req.path}` };
  return c.json(clipzyErrorBody(failure), served ? 405 : 404);
});
