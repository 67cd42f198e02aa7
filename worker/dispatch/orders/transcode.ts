import type { DrmSpec, EncodeSpec, OutputSpec as EncoderOutputSpec, TranscodeOrderInput } from "../../../encoder/contract";
import { type ThumbnailSpec, thumbnailTaskSpec } from "../../api/schemas/thumbnails";
import { keyPath } from "../../drm/key-url";
import { type DrmKey, openDrmKey } from "../../drm/keys";
import type { RequestedOutput } from "../../jobs/job-spec";
import type { Task } from "../../jobs/model";
import { type OrderContext, UndispatchableJob, inputUrl, orderBase, presignRead, undispatchableIfMissing } from "./context";

type OrderTask = TranscodeOrderInput["tasks"][number];

/**
 * The transcode engine's order: the input's URL and one order task per planned task
 * that makes an output (a kind's, an outputs[] entry's, a thumbnail's), each from the
 * options the plan gave it; probe, import and export are the engine's own stages. The
 * outputs' bucket is checked now rather than at export, so a job whose destination is
 * gone is not encoded for nothing.
 */
export async function transcodeOrder(ctx: OrderContext): Promise<TranscodeOrderInput> {
  const { job, env } = ctx;
  const keys = new Map<string, DrmKey>();
  for (const sealed of job.drm_keys ?? []) keys.set(sealed.output_id, await openDrmKey(env, { orgId: job.org_id, jobId: job.id }, sealed));
  const subtitleUrls = await presignSubtitles(ctx);
  const input = await inputUrl(ctx);
  const output = job.spec.storage.output;
  if (output !== null) await undispatchableIfMissing(() => ctx.open(output.bucket, "write"));
  const tasks = job.tasks.filter((t) => t.output_id !== null).map((task) => orderTask(ctx, task, subtitleUrls, keys));
  return {
    ...orderBase(ctx),
    engine: "transcode",
    input: { url: input },
    tasks,
    // A delayed-start job is only probed until it is confirmed.
    probe_only: job.spec.delayed_start && job.confirmed_at === null,
    // Only outputs jobs have one (create-job.ts), so the contract's rule against kind tasks holds.
    ...(job.spec.clip ? { clip: job.spec.clip } : {}),
  };
}

function orderTask(ctx: OrderContext, task: Task, subtitleUrls: Map<string, string>, keys: Map<string, DrmKey>): OrderTask {
  const outputId = task.output_id!;
  const planned = { task_id: task.id, output_id: outputId };
  switch (task.kind) {
    case "thumbnail":
      return { ...planned, spec: thumbnailTaskSpec(task.options as ThumbnailSpec) };
    case "encode": {
      const index = ctx.job.outputs.findIndex((o) => o.id === outputId);
      const drm = drmTaskSpec(keys.get(outputId), `${ctx.base}${keyPath(ctx.job.id, outputId)}`);
      return { ...planned, spec: outputTaskSpec(task.options as RequestedOutput, index, subtitleUrls, drm) };
    }
    default:
      // A kind's task: the kind and its options, defaults filled in at creation.
      return { ...planned, spec: { kind: task.kind, ...task.options } as EncodeSpec };
  }
}

/**
 * Presigned GET URLs for the subtitle files in buckets, by their URI as written; an
 * origin or secret deleted since creation fails the job like the input's would.
 */
async function presignSubtitles(ctx: OrderContext): Promise<Map<string, string>> {
  const entries = Object.entries(ctx.job.spec.storage.subtitles ?? {});
  return new Map(await Promise.all(entries.map(async ([uri, object]) => [uri, await presignRead(ctx, object)] as const)));
}

/**
 * An output as the encoder takes it. Subtitle files reach the encoder as URLs it fetches
 * with the input's guarded import: http(s) as given, bucket URIs presigned.
 */
function outputTaskSpec(output: RequestedOutput, index: number, subtitleUrls: Map<string, string>, drm: DrmSpec | undefined): EncoderOutputSpec {
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
