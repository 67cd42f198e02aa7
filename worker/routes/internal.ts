import { Hono } from "hono";
import type { Context } from "hono";
import { encoderEventSchema, multipartAbortSchema, multipartCompletionSchema, signRequestSchema } from "../../encoder/contract";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import type { EventOutcome } from "../jobs/job-do";
import { abortManagedUpload, completeManagedUpload } from "../storage/multipart";
import { keyProblem, outputKey, signUploads } from "../storage/signing";
import { jobStub } from "./route-helpers";

/**
 * Routes the encoder calls back on, authorised by the lease token of the attempt it
 * runs (a Bearer token), never by an API key: events, the batch signing of upload
 * URLs at export, and the completion (or abort) of the multipart uploads signing began.
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

internalRoutes.post("/jobs/:id/sign", async (c) => {
  const token = leaseToken(c.req.header("authorization"));
  const jobId = c.req.param("id");
  const parsed = signRequestSchema.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) throw new ApiError(400, "validation_error", "Not a signing request", { issues: parsed.error.issues });
  if (parsed.data.job_id !== jobId) throw new ApiError(400, "validation_error", "The request names another job");
  if (!(await jobStub(c.env, jobId).holdsLease(token))) throw new ApiError(403, "forbidden", "This token does not hold the job's lease");
  return c.json(await signUploads(c.env, c.env.PUBLIC_URL, jobId, parsed.data.files, { multipart: parsed.data.multipart }), 200);
});

/** The multipart request's output key, once the body is valid and the token holds the job's lease. */
async function multipartTarget<T extends { job_id: string; path: string }>(
  c: Context<AppEnv>,
  schema: { safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: unknown } } },
): Promise<{ body: T; key: string }> {
  const token = leaseToken(c.req.header("authorization"));
  const jobId = c.req.param("id")!;
  const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) throw new ApiError(400, "validation_error", "Not a multipart request", { issues: parsed.error.issues });
  if (parsed.data.job_id !== jobId) throw new ApiError(400, "validation_error", "The request names another job");
  const problem = keyProblem(parsed.data.path);
  if (problem) throw new ApiError(400, "validation_error", `path: ${problem.replace(/^key/, "path")}`);
  if (!(await jobStub(c.env, jobId).holdsLease(token))) throw new ApiError(403, "forbidden", "This token does not hold the job's lease");
  return { body: parsed.data, key: outputKey(jobId, parsed.data.path) };
}

internalRoutes.post("/jobs/:id/multipart/complete", async (c) => {
  const { body, key } = await multipartTarget(c, multipartCompletionSchema);
  const object = await completeManagedUpload(c.env.MEDIA, key, body.upload_id, body.parts);
  return c.json({ path: body.path, size_bytes: object.size }, 200);
});

internalRoutes.post("/jobs/:id/multipart/abort", async (c) => {
  const { body, key } = await multipartTarget(c, multipartAbortSchema);
  await abortManagedUpload(c.env.MEDIA, key, body.upload_id);
  return c.json({ path: body.path, aborted: true }, 200);
});
