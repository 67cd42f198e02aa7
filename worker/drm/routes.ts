import { Hono } from "hono";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { authorize } from "../middleware/authenticate";
import { jobStub } from "../jobs/job-stub";
import { verifyKeyUrl } from "./key-url";
import { clearKeyLicense, rawKey } from "./keys";

/**
 * Key delivery for encrypted outputs, `GET|POST /v1/jobs/{id}/outputs/{output_id}/key`:
 * for AES-128 the 16 raw key bytes (what an HLS EXT-X-KEY URI must answer), for CENC the
 * ClearKey license (JSON Web Key Set; EME sends its license request as a POST). Either
 * the signed `key_url` of the job's view or the org's API key authorises it; another
 * organization's job, or an output without drm, is a 404. Answers are never cached.
 */
export const drmRoutes = new Hono<AppEnv>();

export const KEY_ROUTE = "/jobs/:id/outputs/:outputId/key";

/** True when the request carries a key URL's signature: the route verifies it instead of a key. */
export const carriesKeySignature = (c: Context) => c.req.query("sig") !== undefined;

drmRoutes.on(["GET", "POST"], KEY_ROUTE, async (c) => {
  const { id, outputId } = c.req.param();
  let orgId: string | null = null;
  if (carriesKeySignature(c)) {
    const check = await verifyKeyUrl(c.env, id, outputId, { expires: c.req.query("expires"), sig: c.req.query("sig") });
    if (!check.ok) throw new ApiError(403, check.code, check.message);
  } else {
    authorize(c, "jobs:get", `jobs/${id}`);
    orgId = c.get("principal").orgId;
  }
  const key = await jobStub(c.env, id).drmKey(orgId, outputId);
  if (!key) throw new ApiError(404, "not_found", `No encryption key for output ${outputId} of job ${id}`);
  const headers = { "cache-control": "no-store" };
  if (key.scheme === "aes-128") return c.body(rawKey(key), 200, { ...headers, "content-type": "application/octet-stream" });
  return c.json(clearKeyLicense(key), 200, headers);
});
