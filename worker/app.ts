import { Hono } from "hono";
import type { AppEnv } from "./env";
import { envelope, errorResponse, noRoute } from "./errors";
import { renderErrors } from "./middleware/render-errors";
import { requestId } from "./middleware/request-id";
import { clipzy } from "./dialects/clipzy/app";
import { apiReference } from "./docs/api-reference";
import { ittybit } from "./dialects/ittybit/app";
import { vtk } from "./dialects/vtk/app";
import { transcodelyJobService } from "./dialects/transcodely/job-service";
import { transcodelyOriginService } from "./dialects/transcodely/origin-service";
import { transcodelyPresetService } from "./dialects/transcodely/preset-service";
import { internalRoutes } from "./routes/internal";
import { v1 } from "./routes/v1";
import { storageRoutes } from "./storage/routes";
import { VERSION } from "./version";

/**
 * The Worker's front door. Each front-end under it (the native API at /v1, a dialect)
 * mounts its own credentials, CORS, body rules and error renderer, and reaches jobs
 * through jobs/service.ts; nothing here knows their paths.
 */
export const app = new Hono<AppEnv>();
app.use(requestId);
app.get("/health", (c) => c.json({ ok: true, service: "kiln", version: VERSION }));
// The API reference, a page over /v1's OpenAPI document. The dashboard at / is static
// assets, answered before the Worker runs (wrangler.toml [assets]).
app.route("/docs", apiReference);
// Signed URLs carry their own authorization, so /storage sits outside the API.
app.route("/storage", storageRoutes);
app.route("/v1", v1);
// The encoder's callbacks, authorised by the lease token of the attempt it runs.
app.route("/internal", internalRoutes);
// Ittybit's jobs API at its own paths (worker/dialects/ittybit/).
app.route("/jobs", ittybit);
// Transcodely's Connect services, at their own paths at the root (README: Transcodely).
app.route("/transcodely.v1.JobService", transcodelyJobService);
app.route("/transcodely.v1.OriginService", transcodelyOriginService);
app.route("/transcodely.v1.PresetService", transcodelyPresetService);
// castlabs VTK's jobs, tasks and bundles at /o/{organization_urn}/… (worker/dialects/vtk/).
app.route("/o", vtk);
// Clipzy ML Engine's uploads and style jobs at /api/v1/… (worker/dialects/clipzy/).
app.route("/api/v1", clipzy);
app.notFound((c) => errorResponse(c, noRoute(c)));
app.onError(renderErrors(envelope));
