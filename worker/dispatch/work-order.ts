import type { DrmSpec, EncodeSpec, OutputSpec as EncoderOutputSpec, TranscodeOrderInput } from "../../encoder/contract";
import type { Env } from "../env";
import type { JobSpec } from "../jobs/job-spec";
import type { JobState } from "../jobs/job-state";
import { type ThumbnailSpec, thumbnailTaskSpec } from "../api/schemas/thumbnails";
import { signStorageUrl } from "../storage/signed-urls";
import { isUploadRef, resolveUploadInput } from "../uploads/store";
import { type BucketOpener, BucketRefError, bucketOpener, presignBucketObject } from "../origins/buckets";
import { type DrmKey, openDrmKey } from "../drm/keys";
import { keyPath } from "../drm/key-url";

/** How long the encoder may take to start reading an upload it was given. */
export const INPUT_URL_TTL_SECONDS = 6 * 3600;

export class UndispatchableJob extends Error {
  constructor(
    readonly code: "input_unsupported" | "job_unsupported" | "subtitle_source_unsupported" | "upload_not_found" | "upload_not_ready" | BucketRefError["code"],
    message: string,
  ) {
    super(message);
  }
}

/**
 * The work order for the job's current attempt. The encoder gets URLs only: the input
 * as given (http/https), for an upload (`vid_…`) a signed /storage GET URL of its
 * object, for a bucket input (an origin's or a secret's) a SigV4-presigned GET URL, and
 * Worker routes for events and export signing, both authorised by the attempt's lease
 * token. An upload of another organization, deleted or unfinished fails the job
 * (`upload_not_found`, `upload_not_ready`); so does an origin or secret of the input or
 * the outputs that was deleted since creation (`origin_not_found`, `secret_not_found`),
 * before anything is encoded.
 */
export async function buildWorkOrder(
  job: JobState,
  lease: { attempt: number; token: string },
  publicUrl: string,
  env: Pick<Env, "DB" | "MEDIA" | "PROBES" | "STORAGE_SIGNING_SECRET" | "KILN_ENV" | "ORIGIN_CREDENTIALS_KEY">,
): Promise<TranscodeOrderInput> {
  const { spec } = job;
  const base = publicUrl.replace(/\/+$/, "");
  const keys = new Map<string, DrmKey>();
  for (const sealed of job.drm_keys ?? []) keys.set(sealed.output_id, await openDrmKey(env, { orgId: job.org_id, jobId: job.id }, sealed));
  const open = bucketOpener(env, job.org_id);
  const tasks = encodeTasks(job, spec, { subtitleUrls: await presignSubtitles(open, job), keys, base });
  const { input: bucketInput, output: bucketOutput } = spec.storage;
  let inputUrl: string;
  if (bucketInput !== null) {
    inputUrl = await undispatchableIfMissing(async () =>
      presignBucketObject(await open(bucketInput.bucket, "read"), { method: "GET", key: bucketInput.key, expiresInSeconds: INPUT_URL_TTL_SECONDS }),
    );
  } else if (isUploadRef(spec.input)) {
    const resolved = await resolveUploadInput(env, job.org_id, spec.input);
    if (!resolved.ok) throw new UndispatchableJob(resolved.code, resolved.message);
    inputUrl = await signStorageUrl(env, { method: "GET", key: resolved.upload.key, expiresInSeconds: INPUT_URL_TTL_SECONDS }, base);
  } else if (spec.input && /^https?:\/\//.test(spec.input)) {
    inputUrl = spec.input;
  } else {
    throw new UndispatchableJob("input_unsupported", "Only http(s) inputs and uploads can be fetched yet; bucket inputs need storage origins");
  }
  // Checked now rather than at export, so a job whose destination is gone is not encoded for nothing.
  if (bucketOutput !== null) await undispatchableIfMissing(() => open(bucketOutput.bucket, "write"));
  return {
    v: 1,
    job_id: job.id,
    attempt: lease.attempt,
    lease_token: lease.token,
    input: { url: inputUrl },
    tasks: [...tasks, ...thumbnailTasks(job)],
    // A delayed-start job is only probed until it is confirmed.
    probe_only: spec.delayed_start && job.confirmed_at === null,
    export: { sign_url: `${base}/internal/jobs/${job.id}/sign`, token: lease.token },
    callback: { url: `${base}/internal/jobs/${job.id}/events`, token: lease.token },
  };
}

async function undispatchableIfMissing<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof BucketRefError) throw new UndispatchableJob(err.code, err.message);
    throw err;
  }
}

/** The job's thumbnail tasks, as the encoder runs them. */
function thumbnailTasks(job: JobState): TranscodeOrderInput["tasks"] {
  return job.tasks
    .filter((t) => t.kind === "thumbnail")
    .map((t) => ({ task_id: t.id, output_id: t.output_id!, spec: thumbnailTaskSpec(t.options as ThumbnailSpec) }));
}

type OrderTask = TranscodeOrderInput["tasks"][number];
type OutputsWork = Extract<JobSpec, { mode: "outputs" }>["outputs"][number];

/**
 * The encode tasks of the order: a kind job's one task, or one task per output of an
 * outputs job (the encoder makes them all from one decode).
 */
function encodeTasks(job: JobState, spec: JobSpec, context: { subtitleUrls: Map<string, string>; keys: Map<string, DrmKey>; base: string }): OrderTask[] {
  if (spec.mode === "kind") {
    const task = job.tasks.find((t) => t.kind === spec.kind)!;
    return [{ task_id: task.id, output_id: task.output_id!, spec: { kind: spec.kind, ...spec.options } as EncodeSpec }];
  }
  if (spec.mode === "tasks") throw new UndispatchableJob("job_unsupported", "The encoder does not run tool pipeline jobs yet");
  return job.tasks
    .filter((t) => t.kind === "encode")
    .map((task) => {
      const index = job.outputs.findIndex((o) => o.id === task.output_id);
      const drm = drmTaskSpec(context.keys.get(task.output_id!), `${context.base}${keyPath(job.id, task.output_id!)}`);
      return { task_id: task.id, output_id: task.output_id!, spec: outputTaskSpec(spec.outputs[index]!, index, context.subtitleUrls, drm) };
    });
}

/**
 * Presigned GET URLs for the subtitle files in buckets, by their URI as written; an
 * origin or secret deleted since creation fails the job like the input's would.
 */
async function presignSubtitles(open: BucketOpener, job: JobState): Promise<Map<string, string>> {
  const entries = Object.entries(job.spec.storage.subtitles ?? {});
  return new Map(
    await Promise.all(
      entries.map(async ([uri, object]) => {
        const url = await undispatchableIfMissing(async () =>
          presignBucketObject(await open(object.bucket, "read"), { method: "GET", key: object.key, expiresInSeconds: INPUT_URL_TTL_SECONDS }),
        );
        return [uri, url] as const;
      }),
    ),
  );
}

/**
 * An output as the encoder takes it. Subtitle files reach the encoder as URLs it fetches
 * with the input's guarded import: http(s) as given, bucket URIs presigned.
 */
function outputTaskSpec(output: OutputsWork, index: number, subtitleUrls: Map<string, string>, drm: DrmSpec | undefined): EncoderOutputSpec {
  const { type, video, audio, segments, hls, dash, subtitle_tracks, content_aware } = output;
  const subtitles = subtitle_tracks?.map((track, i) => {
    const url = /^https?:\/\//i.test(track.source) ? track.source : subtitleUrls.get(track.source);
    if (url === undefined) {
      // Only a job stored before subtitle sources were resolved at creation lacks one.
      throw new UndispatchableJob(
        "subtitle_source_unsupported",
        `outputs.${index}.subtitle_tracks.${i}.source: ${track.source} was not resolved to an origin or secret when the job was created; resubmit the job`,
      );
    }
    const { source: _source, ...rest } = track;
    return { url, ...rest };
  });
  // AES-128 HLS is TS (the API defaults segment_type to it and refuses fmp4).
  const hlsOptions = drm?.scheme === "aes-128" ? { ...hls, segment_type: "ts" as const } : hls;
  // Validation admits per_title only (auto_abr is refused), so the mode narrows safely.
  const perTitle = content_aware?.mode === "per_title" ? { content_aware: { mode: "per_title" as const } } : {};
  return { kind: "output", type, video: video!, audio, segments, hls: hlsOptions, dash, ...(subtitles ? { subtitles } : {}), ...perTitle, ...(drm ? { drm } : {}) };
}

/**
 * An encrypted output's key as the encoder takes it, with the route players fetch it
 * from: HLS playlists name it in EXT-X-KEY, the MPD as the ClearKey license URL. It is
 * named unsigned (playlists outlive any signature); it takes the org's API key, or the
 * signed `key_url` of the job's view stands in for it.
 */
function drmTaskSpec(key: DrmKey | undefined, route: string): DrmSpec | undefined {
  if (!key) return undefined;
  return key.scheme === "aes-128" ? { scheme: "aes-128", key: key.key, key_uri: route } : { scheme: "cenc", key: key.key, key_id: key.key_id, license_url: route };
}
