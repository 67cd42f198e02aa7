import type { Env } from "../env";
import { signKeyUrl } from "../drm/key-url";
import { bucketOpener, bucketReadUrl } from "../origins/buckets";
import { signStorageUrl } from "../storage/signed-urls";
import { type JobState, type JobView, jobView } from "./job-state";

/** Output URLs are minted afresh on every read, so they can be short-lived. */
const OUTPUT_URL_TTL_S = 6 * 3600;

type PresenterEnv = Pick<Env, "DB" | "PUBLIC_URL" | "STORAGE_SIGNING_SECRET" | "KILN_ENV" | "ORIGIN_CREDENTIALS_KEY">;

/** The API's view of the job, with a freshly signed URL for every completed output. */
export function presentJob(env: PresenterEnv, job: JobState): Promise<JobView> {
  return signOutputs(env, jobView(job), job);
}

/**
 * Signs the URLs of a view (one taken now, or a webhook's snapshot of an earlier
 * moment). A playlist's URL is signed for its whole directory, so a player can fetch
 * the variant playlists and segments it names relative to it.
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
      if (output.status !== "completed" || !stored) return;
      if (stored.main_object) {
        output.output_url = await bucketReadUrl(open, stored.main_object, OUTPUT_URL_TTL_S);
        return;
      }
      if (!stored.main_key) return;
      // Playlists and storyboards name their segments and sprite sheets relative to
      // themselves; a thumbnail set's other stills sit beside its first.
      const sign = (key: string) => {
        const directory = /\.(m3u8|mpd|vtt)$/.test(key) || output.type === "thumbnail";
        return signStorageUrl(env, { method: "GET", key, expiresInSeconds: OUTPUT_URL_TTL_S, scope: directory ? "prefix" : "object" }, env.PUBLIC_URL);
      };
      output.output_url = await sign(stored.main_key);
      if (stored.manifest_key) output.manifest_url = await sign(stored.manifest_key);
    }),
  );
  return view;
}
