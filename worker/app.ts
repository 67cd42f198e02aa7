import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./env";
import { envelope, errorResponse, noRoute } from "./errors";
import { authenticate } from "./middleware/authenticate";
import { bodyLimit } from "./middleware/body-limit";
import { type CorsOptions, cors } from "./middleware/cors";
import { jsonOnly } from "./middleware/json-only";
import { renderErrors } from "./middleware/render-errors";
import { requestId } from "./middleware/request-id";
import { storageRoutes } from "./storage/routes";
import { jobRoutes } from "./routes/jobs";
import { internalRoutes } from "./routes/internal";
import { keyRoutes } from "./routes/keys";
import { webhookRoutes } from "./routes/webhooks";
import { uploadRoutes } from "./routes/uploads";
import { originRoutes } from "./routes/origins";
import { secretRoutes } from "./routes/secrets";
import { presetRoutes } from "./routes/presets";
import { tusRoutes } from "./uploads/tus";
import { drmRoutes, isSignedKeyRequest } from "./drm/routes";

export const VERSION = "0.1.0";
const MAX_BODY_BYTES = 1024 * 1024;
// tus carries raw media bytes of any size; its routes check their own bodies.
const isTusPath = (path: string) => path === "/v1/uploads/tus" || path.startsWith("/v1/uploads/tus/");

const api = new OpenAPIHono<AppEnv>();
api.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
api.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: { title: "Kiln", version: VERSION, description: "Video processing jobs: submit, watch, download." },
  servers: [{ url: "/v1" }],
});
const apiKey = authenticate();
api.use("*", async (c, next) => {
  if (c.req.path === "/v1/openapi.json") return next();
  // tus discovery (OPTIONS) is public, as tus clients probe it before authenticating.
  if (c.req.method === "OPTIONS" && isTusPath(c.req.path)) return next();
  // A watch token stands in for the API key on the one route browsers open as a WebSocket.
  if (/^\/v1\/jobs\/[^/]+\/watch$/.test(c.req.path) && c.req.query("token") !== undefined) return next();
  // A signed key URL stands in for the API key, so players can fetch a content key.
  if (isSignedKeyRequest(c.req.path, c.req.query("sig"))) return next();
  return apiKey(c, next);
});
api.route("/", jobRoutes);
api.route("/", drmRoutes);
api.route("/", keyRoutes);
api.route("/", webhookRoutes);
api.route("/uploads/tus", tusRoutes);
api.route("/", uploadRoutes);
api.route("/", originRoutes);
api.route("/", secretRoutes);
api.route("/", presetRoutes);

export const app = new OpenAPIHono<AppEnv>();
app.use("*", requestId);
const corsOptions: CorsOptions = {
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Organization-ID", "Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Defer-Length", "X-HTTP-Method-Override"],
  exposeHeaders: ["X-Request-ID", "Location", "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Expires"],
};
const apiCors = cors(corsOptions);
const tusCors = cors({ ...corsOptions, discovery: true });
app.use("/v1/*", (c, next) => (isTusPath(c.req.path) ? tusCors : apiCors)(c, next));
const jsonBodyLimit = bodyLimit(MAX_BODY_BYTES);
app.use("/v1/*", (c, next) => (isTusPath(c.req.path) ? next() : jsonBodyLimit(c, next)));
const jsonBodies = jsonOnly();
app.use("/v1/*", (c, next) => (isTusPath(c.req.path) ? next() : jsonBodies(c, next)));
app.get("/health", (c) => c.json({ ok: true, service: "kiln", version: VERSION }));
// Signed URLs carry their own authorization, so /storage sits outside /v1 auth.
app.route("/storage", storageRoutes);
app.route("/v1", api);
app.route("/internal", internalRoutes);
app.notFound((c) => errorResponse(c, noRoute(c)));
app.onError(renderErrors(envelope));
