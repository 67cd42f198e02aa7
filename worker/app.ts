import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { AppEnv } from "./env";
import { ApiError, errorResponse, onError, payloadTooLarge } from "./errors";
import { authenticate } from "./middleware/authenticate";
import { requestId } from "./middleware/request-id";
import { storageRoutes } from "./storage/routes";
import { jobRoutes } from "./routes/jobs";
import { taskLogRoutes } from "./routes/task-logs";
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
api.use("*", async (c, next) => {
  if (c.req.path === "/v1/openapi.json") return next();
  // tus discovery (OPTIONS) is public, as tus clients probe it before authenticating.
  if (c.req.method === "OPTIONS" && isTusPath(c.req.path)) return next();
  // A watch token stands in for the API key on the one route browsers open as a WebSocket.
  if (/^\/v1\/jobs\/[^/]+\/watch$/.test(c.req.path) && c.req.query("token") !== undefined) return next();
  // A signed key URL stands in for the API key, so players can fetch a content key.
  if (isSignedKeyRequest(c.req.path, c.req.query("sig"))) return next();
  return authenticate(c, next);
});
api.route("/", jobRoutes);
api.route("/", taskLogRoutes);
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
const apiCors = cors({
    origin: "*",
    allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Organization-ID", "Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Defer-Length", "X-HTTP-Method-Override"],
    exposeHeaders: ["X-Request-ID", "Location", "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Expires"],
  });
// A plain OPTIONS (no preflight) to tus is protocol discovery, answered by the tus routes.
app.use("/v1/*", (c, next) =>
  c.req.method === "OPTIONS" && isTusPath(c.req.path) && !c.req.header("access-control-request-method") ? next() : apiCors(c, next),
);
const jsonBodyLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw payloadTooLarge(); } });
app.use("/v1/*", (c, next) => (isTusPath(c.req.path) ? next() : jsonBodyLimit(c, next)));
app.use("/v1/*", async (c, next) => {
  const method = c.req.method;
  if (isTusPath(c.req.path)) return next();
  if ((method === "POST" || method === "PUT" || method === "PATCH") && c.req.header("content-length") !== "0") {
    const type = c.req.header("content-type");
    const hasBody = type !== undefined || c.req.header("transfer-encoding") !== undefined || Number(c.req.header("content-length") ?? 0) > 0;
    if (hasBody && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type ?? "")) {
      throw new ApiError(415, "unsupported_media_type", "Send the request body as application/json");
    }
  }
  await next();
});
app.get("/health", (c) => c.json({ ok: true, service: "kiln", version: VERSION }));
// Signed URLs carry their own authorization, so /storage sits outside /v1 auth.
app.route("/storage", storageRoutes);
app.route("/v1", api);
app.route("/internal", internalRoutes);
app.notFound((c) => errorResponse(c, new ApiError(404, "not_found", `No route ${c.req.method} ${c.req.path}`)));
app.onError(onError);
