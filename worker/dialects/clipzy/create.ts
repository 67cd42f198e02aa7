import type { Caller } from "../../auth/caller";
import type { Env } from "../../env";
import type { JobView } from "../../jobs/job-state";
import { jobStatuses, terminalStatuses } from "../../jobs/model";
import { JobService } from "../../jobs/service";
import { resolveUploadInput } from "../../uploads/store";
import { ClipzyError, videoNotFound } from "./envelope";
import { type ClipzyJobRequest, nativeRequest } from "./request";

/** The native statuses of a job that has not ended: Clipzy's `queued` and `processing`. */
const live = jobStatuses.filter((s) => !terminalStatuses.includes(s));

/** The video must be a ready upload of the caller's organization. */
export async function assertVideo(env: Env, caller: Caller, id: string): Promise<void> {
  caller.authorize("uploads:get", `uploads/${id}`);
  const found = await resolveUploadInput(env, caller.orgId, id);
  if (found.ok) return;
  if (found.code === "upload_not_found") throw videoNotFound(id);
  throw new ClipzyError(409, "VIDEO_NOT_READY", found.message, "upload_not_ready");
}

/**
 * Clipzy refuses "a duplicate job for a video that is currently being processed": a
 * Clipzy job for the same video and template that is queued or processing. Read from
 * the D1 index (the video) and the jobs themselves (the template). Two creates racing
 * each other can both pass; the check is for the ordinary double submit.
 */
async function assertNotProcessing(jobs: JobService, request: ClipzyJobRequest): Promise<void> {
  const page = await jobs.list({ statuses: live, tags: [], search: null, bundle: null, limit: 100, cursor: null, dialect: "clipzy", input: request.video_id });
  for (const row of page.data) {
    const view = await jobs.get(row.id);
    if (!live.includes(view.status) || (view.style?.template ?? null) !== request.template_video_id) continue;
    const pair = request.template_video_id === null ? `video ${request.video_id}` : `video ${request.video_id} with template ${request.template_video_id}`;
    throw new ClipzyError(409, "JOB_ALREADY_PROCESSING", `Job ${view.id} is already processing ${pair}`, "invalid_state");
  }
}

/**
 * A Clipzy job: a native style job of the video (and template) made through the job
 * service, once both are known videos of the organization and no job for the pair is
 * under way.
 */
export async function createClipzyJob(env: Env, caller: Caller, request: ClipzyJobRequest): Promise<JobView> {
  const native = nativeRequest(request);
  await assertVideo(env, caller, request.video_id);
  if (request.template_video_id !== null) await assertVideo(env, caller, request.template_video_id);
  const jobs = new JobService(env, caller);
  await assertNotProcessing(jobs, request);
  const { job } = await jobs.create(native, { dialect: "clipzy" });
  return job;
}
