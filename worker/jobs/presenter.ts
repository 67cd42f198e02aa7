import type { Env } from "../env";
import { signKeyUrl } from "../drm/key-url";
import { bucketOpener, bucketReadUrl } from "../origins/buckets";
import { signStorageUrl } from "../storage/signed-urls";
import { type JobState, type JobView, jobView } from "./job-state";

/** Output URLs are minted afresh on every read, so they can be short-lived. */
const OUTPUT_URL_TTL_S = 6 * 3600;

type PresenterEnv = Pick<Env, "DB" | "PUBLIC_URL" | "STORAGE_SIGNING_SECRET" | "KILN_ENV" | "ORIGIN_CREDENTIALS_KEY">;

/**
 * The API's view of the job, with a freshly signed URL for every completed output, and
 * for every package that plays while it is still being made (`playable_at`).
 */
export function presentJob(env: PresenterEnv, job: JobState): Promise<JobView> {
  return signOutputs(env, jobView(job), job);
}

/**
 * Signs the URLs of a view (one taken now, or a webhook's snapshot of an earlier
 * moment). Each URL reaches its own output's files only: a package's playlist or
 * manifest is signed for the package's folder (a player fetches the variant playlists
 * and segments it names relative to it), a thumbnail set or storyboard for its files'
 * stem beside it (`<output>.`: the other stills, the sprite sheet), anything else for
 * its one object.
 */
export async function signOutputs(env: PresenterEnv, view: JobView, job: JobState): Promise<JobView> {
  const open = bucketOpener(env, job.org_id);
  await Promise.all(
    view.outputs.map(async (output) => {
      const stored = job.outputs.find((o) => o.id === output.id);
      const drm = job.drm_keys?.find((k) => k.output_id === output.id);
      if (drm) {
        const key_url = await signKeyUrl(env, env.PUBLIC_URL, job.id, output.id, OUTPUT_URL_TTL_S);
        output.drm = { scheme: drm.scheme, key_id: drm.key_id, key_url };
      }
      const playable = output.status === "completed" || (output.status === "processing" && output.playable_at !== null);
      if (!playable || !stored) return;
      if (stored.main_object) {
        output.output_url = await bucketReadUrl(open, stored.main_object, OUTPUT_URL_TTL_S);
        return;
      }
      if (!stored.main_key) return;
      const othersKeys = job.outputs.filter((o) => o.id !== output.id).flatMap((o) => [o.main_key, o.manifest_key]).filter((k): k is string => !!k);
      const sign = (key: string) => {
        const prefix = outputPrefix(key, output.type, othersKeys);
        return signStorageUrl(env, { method: "GET", key, expiresInSeconds: OUTPUT_URL_TTL_S, ...(prefix ? { scope: "prefix", prefix } : {}) }, env.PUBLIC_URL);
      };
      output.output_url = await sign(stored.main_key);
      if (stored.manifest_key) output.manifest_url = await sign(stored.manifest_key);
    }),
  );
  return view;
}

const JOB_FOLDER = /^jobs\/[^/]+\/$/;

/**
 * The prefix an output's URL is signed for, or null for the one object: never a job's
 * whole folder, and never one that holds another output's file (path templates can
 * put outputs side by side in one folder).
 */
function outputPrefix(key: string, type: string, othersKeys: string[]): string | null {
  const folder = key.slice(0, key.lastIndexOf("/") + 1);
  const name = key.slice(folder.length);
  let prefix: string | null = null;
  if (/\.(m3u8|mpd)$/.test(key) && !JOB_FOLDER.test(folder)) prefix = folder;
  else if (type === "thumbnail" || key.endsWith(".vtt")) {
    const dot = name.indexOf(".");
    if (dot > 0) prefix = folder + name.slice(0, dot + 1);
  }
  if (!prefix || othersKeys.some((other) => other.startsWith(prefix))) return null;
  return prefix;
}
