import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { v1 } from "../routes/v1";

/**
 * The API reference at /docs: Scalar's viewer over the native OpenAPI document, with
 * request examples for each operation. Its script is served from the Worker's own assets
 * (scripts/build-dashboard.mjs copies the pinned @scalar/api-reference build there), so
 * the page needs no CDN and shows the version the lockfile names.
 *
 * The viewer reads /docs/openapi.json: /v1/openapi.json as served, its introduction
 * extended with what the document does not describe (the key route, tus, signed storage
 * URLs and the vendor dialects), so /v1/openapi.json itself stays the native document.
 */
export const SCALAR_SCRIPT = "/assets/scalar-api-reference.js";

const OTHER_PATHS = `

## Paths outside this document

| Path | What it is |
| --- | --- |
| \`GET\\|POST /v1/jobs/{id}/outputs/{output_id}/key\` | Key delivery for encrypted outputs: the 16 key bytes of an AES-128 HLS output, the ClearKey license (JSON Web Key Set) of a CENC output. Authorised by the signed \`drm.key_url\` of the job's view, or by the API key (the URI the playlists and MPD name). Never cached. |
| \`/v1/uploads/tus\` | Resumable uploads, tus 1.0 (creation, creation-with-upload, termination, expiration) under the API key; the upload's id (\`vid_…\`, the last segment of its \`Location\`) is a job \`input\`. |
| \`GET /v1/jobs/{id}/watch?token=…\` | The Watch above as a WebSocket for browsers, with a token from \`POST /v1/jobs/{id}/watch-token\` instead of the key. |
| \`GET /storage/…\` | Signed, expiring file URLs (\`output_url\`, a package's playlists and segments); they carry their own authorization. |
| \`GET /health\` | Liveness and version; public. |

## Vendor dialects

The same jobs, in another vendor's API on the same origin, with a Kiln API key (README: Vendor dialects).

| Vendor | Paths |
| --- | --- |
| Ittybit | \`POST /jobs\`, \`GET /jobs\`, \`GET /jobs/{id}\`, \`POST /jobs/{id}/cancel\` |
| Transcodely (Connect, JSON) | \`POST /transcodely.v1.JobService/{Method}\`, \`POST /transcodely.v1.OriginService/{Method}\`, \`POST /transcodely.v1.PresetService/{Method}\` |
| castlabs VTK | \`/o/{organization_urn}/jobs\`, \`…/jobs/{id}\` (GET, POST), \`…/jobs/{id}/metrics\`, \`…/jobs/{id}/tasks\`, \`…/jobs/{id}/tasks/{task}\`, \`…/jobs/{id}/tasks/{task}/log\`, \`…/jb\`, \`…/jb/{name}\`, \`…/jb/{name}/jobs\` (with \`x-castlabs-organization\`) |
| Clipzy ML Engine | \`POST /api/v1/videos/upload\`, \`GET /api/v1/videos/info/{video_id}\`, \`POST /api/v1/jobs\`, \`GET /api/v1/jobs\`, \`GET /api/v1/jobs/{job_id}\`, \`GET /api/v1/jobs/{job_id}/result\`, \`POST /api/v1/jobs/{job_id}/cancel\`, \`GET /api/v1/health\` |

The dashboard is at [/](/).`;

let documented: Promise<unknown> | null = null;

/** The native document with the paths it leaves out named in its introduction; built once per isolate. */
function referenceDocument(env: AppEnv["Bindings"]): Promise<unknown> {
  documented ??= (async () => {
    const res = await v1.request("/openapi.json", {}, env);
    if (!res.ok) throw new Error(`the OpenAPI document answered ${res.status}`);
    const doc = (await res.json()) as { info: { description?: string } };
    return { ...doc, info: { ...doc.info, description: `${doc.info.description ?? ""}${OTHER_PATHS}` } };
  })();
  documented.catch(() => {
    documented = null;
  });
  return documented;
}

export const apiReference = new Hono<AppEnv>()
  .get("/openapi.json", async (c) => c.json(await referenceDocument(c.env)))
  .get(
    "/",
    Scalar({
      url: "/docs/openapi.json",
      cdn: SCALAR_SCRIPT,
      pageTitle: "Kiln API reference",
      defaultHttpClient: { targetKey: "shell", clientKey: "curl" },
      // Nothing leaves the origin: no web fonts from Scalar's CDN, no telemetry.
      withDefaultFonts: false,
      telemetry: false,
    }),
  );
