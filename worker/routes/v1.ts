import { OpenAPIHono } from "@hono/zod-openapi";
import { type Context, Hono } from "hono";
import { except } from "hono/combine";
import { carriesKeySignature, drmRoutes, KEY_ROUTE } from "../drm/routes";
import type { AppEnv } from "../env";
import { envelope, noRoute } from "../errors";
import { authenticate } from "../middleware/authenticate";
import { bodyLimit } from "../middleware/body-limit";
import { type CorsOptions, cors } from "../middleware/cors";
import { jsonOnly } from "../middleware/json-only";
import { renderErrors } from "../middleware/render-errors";
import { tusRoutes } from "../uploads/tus";
import { VERSION } from "../version";
import { carriesWatchToken, jobWatchRoutes } from "./job-watch";
import { jobRoutes, watchJob } from "./jobs";
import { keyRoutes } from "./keys";
import { originRoutes } from "./origins";
import { presetRoutes } from "./presets";
import { taskLogRoutes } from "./task-logs";
import { secretRoutes } from "./secrets";
import { uploadRoutes } from "./uploads";
import { webhookRoutes } from "./webhooks";

/**
 * The native API, mounted at /v1: sub-apps in order, each mounting the middleware it
 * needs. Hono runs every middleware whose path matches, in the order mounted, so each
 * part below answers every method on its own paths (a method it does not serve is the
 * usual 404), and a request reaches the API-key sub-app at the end only when no part
 * before it claims its path. Errors render as the native envelope.
 */
export const v1 = new OpenAPIHono<AppEnv>();
v1.onError(renderErrors(envelope));

const MAX_BODY_BYTES = 1024 * 1024;
const corsOptions: CorsOptions = {
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Organization-ID", "Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Defer-Length", "X-HTTP-Method-Override"],
  exposeHeaders: ["X-Request-ID", "Location", "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Expires"],
};
/** What every JSON part mounts first: CORS for browsers, bodies of at most 1 MiB, JSON only. */
const json = [cors(corsOptions), bodyLimit(MAX_BODY_BYTES), jsonOnly()];
/** Ends the chain with the usual 404, so no part mounted later sees a path this part owns. */
const claim = (c: Context) => {
  throw noRoute(c);
};

// The OpenAPI document, public: nothing before it asks for a key.
v1.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
v1.use("/openapi.json", ...json);
v1.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: { title: "Kiln", version: VERSION, description: "Video processing jobs: submit, watch, download." },
  servers: [{ url: "/v1" }],
});
v1.all("/openapi.json", claim);

// tus carries raw media of any size and checks its own bodies, so no JSON rules. Its
// discovery (a plain OPTIONS) is public: clients probe it before they authenticate.
const tus = new Hono<AppEnv>()
  .use(cors({ ...corsOptions, discovery: true }), except((c) => c.req.method === "OPTIONS", authenticate()))
  .route("/", tusRoutes)
  .all("*", claim);
v1.route("/uploads/tus", tus);

// A job's Watch also takes a watch token (browsers cannot set headers on a WebSocket),
// and a content key its signed URL (players fetch it): each route verifies its own.
const watchPath = watchJob.getRoutingPath();
v1.use(watchPath, ...json, except(carriesWatchToken, authenticate()));
v1.route("/", jobWatchRoutes);
v1.all(watchPath, claim);
v1.use(KEY_ROUTE, ...json, except(carriesKeySignature, authenticate()));
v1.route("/", drmRoutes);
v1.all(KEY_ROUTE, claim);

// Everything else, unknown paths included, is JSON under the API key.
const api = new OpenAPIHono<AppEnv>()
  .use(...json, authenticate())
  .route("/", jobRoutes)
  .route("/", taskLogRoutes)
  .route("/", keyRoutes)
  .route("/", webhookRoutes)
  .route("/", uploadRoutes)
  .route("/", originRoutes)
  .route("/", secretRoutes)
  .route("/", presetRoutes);
v1.route("/", api);
