import { Hono } from "hono";
import type { Context } from "hono";
import { encoderEventSchema, multipartAbortSchema, multipartCompletionSchema, signRequestSchema } from "../../encoder/contract";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import type { EventOutcome } from "../jobs/job-do";
import { type ExportJob, abortExportUpload, completeExportUpload, signExportUploads } from "../storage/export-uploads";
import { jobStub } from "../jobs/job-stub";

/**
 * Routes the encoder calls back on, authorised by the lease token of the attempt it
 * runs (a Bearer token), never by an API key: events, the batch signing of upload
 * URLs at export (each file to managed storage or its output's bucket), and the
 * completion (or abort) of the multipart uploads signing began.
 */
export const internalRoutes = new Hono<AppEnv>();

function leaseToken(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)$/.exec(header ?? "");
  if (!match) throw new ApiError(401, "token_missing", "The attempt's lease token is required");
  return match[1]!;
}

internalRoutes.post("/jobs/:id/events", async (c) => {
  const token = leaseToken(c.req.header("authorization"));
  const parsed = encoderEventSchema.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) throw new ApiError(400, "validation_error", "Not an encoder event", { issues: parsed.error.issues });
  if (parsed.data.job_id !== c.req.param("id")) throw new ApiError(400, "validation_error", "The event names another job");
  const outcome = (await jobStub(c.env, c.req.param("id")).handleEncoderEvent(parsed.data, token)) as EventOutcome;
  return c.json({ directive: outcome.directive }, outcome.status);
});

/** The body, valid and about this route's job, and the job when the token holds its lease. */
async function exportRequest<T extends { job_id: string }>(
  c: Context<AppEnv>,
  schema: { safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: unknown } } },
  what: string,
): Promise<{ body: T; job: ExportJob }> {
  const token = leaseToken(c.req.header("authorization"));
  const jobId = c.req.param("id")!;
  const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) throw new ApiError(400, "validation_error", `Not ${what}`, { issues: parsed.error.issues });
  if (parsed.data.job_id !== jobId) throw new ApiError(400, "validation_error", "The request names another job");
  const job = (await jobStub(c.env, jobId).exportJob(token)) as ExportJob | null;
  if (!job) throw new ApiError(403, "forbidden", "This token does not hold the job's lease");
  return { body: parsed.data, job };
}

internalRoutes.post("/jobs/:id/sign", async (c) => {
  const { body, job } = await exportRequest(c, signRequestSchema, "a signing request");
  return c.json(await signExportUploads(c.env, c.env.PUBLIC_URL, job, body.files, { multipart: body.multipart }), 200);
});

internalRoutes.post("/jobs/:id/multipart/complete", async (c) => {
  const { body, job } = await exportRequest(c, multipartCompletionSchema, "a multipart request");
  return c.json({ path: body.path, size_bytes: await completeExportUpload(c.env, job, body) }, 200);
});

internalRoutes.post("/jobs/:id/multipart/abort", async (c) => {
  const { body, job } = await exportRequest(c, multipartAbortSchema, "a multipart request");
  await abortExportUpload(c.env, job, body);
  return c.json({ path: body.path, aborted: true }, 200);
});
