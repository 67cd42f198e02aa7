import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { bearerSecurity, errorResponses, pageQuery, pageResponse } from "./openapi-shared";
import { validationFailure } from "../errors";
import { authorize } from "../middleware/authenticate";
import { createOrigin as createOriginRow } from "../origins/create";
import {
  deleteOrigin,
  findOrigin,
  listOrigins,
  originNotFound,
  originPermissionValues,
  originProviders,
  originView,
} from "../origins/store";
import { bucketProblem, endpointShapeProblem, normalizeOriginPath, originPathProblem } from "../origins/validation";

export const originSchema = z
  .object({
    id: z.string().openapi({ example: "ori_a1b2c3d4e5f6g7h8j9k0" }),
    object: z.literal("origin"),
    name: z.string(),
    provider: z.enum(originProviders),
    bucket: z.string(),
    path: z.string().nullable().openapi({ description: "The folder inside the bucket objects are read from and written under; null for the root" }),
    region: z.string(),
    endpoint: z.string().nullable().openapi({ description: "The S3-compatible service URL; null for the provider's default" }),
    permissions: z.array(z.enum(originPermissionValues)),
    created_at: z.string(),
  })
  .openapi("Origin");

/** A check's message must never echo what it checks: these fields are secrets. */
const credentialText = (label: string, max: number) =>
  z.string().min(1, `${label} is required`).max(max, `${label} is too long`).regex(/^[\x21-\x7e]+$/, `${label} must be printable ASCII without spaces`);

/** S3-style credentials as origins and secrets take them. */
export const credentialsBody = z
  .strictObject({ access_key_id: credentialText("access_key_id", 128), secret_access_key: credentialText("secret_access_key", 256) })
  .openapi({ description: "Encrypted at rest; never returned" });

export const regionBody = z
  .string()
  .regex(/^[a-z0-9-]{1,32}$/, "a region such as us-east-1 (or auto)")
  .optional();

export const endpointBody = z
  .string()
  .max(2048)
  .superRefine((endpoint, ctx) => {
    const problem = endpointShapeProblem(endpoint);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .optional();

const createOriginBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).openapi({ example: "Marketing bucket" }),
    provider: z.enum(originProviders).openapi({ description: "gcs uses its S3-compatible endpoint with an HMAC key" }),
    bucket: z.string().min(1).max(222),
    path: z.string().max(512).optional().openapi({ example: "videos/incoming", description: "A folder inside the bucket" }),
    region: regionBody.openapi({ description: "Default us-east-1 for s3, auto for r2 and gcs" }),
    endpoint: endpointBody.openapi({ example: "https://<account>.r2.cloudflarestorage.com", description: "Required for r2 (the account URL); https (http only outside production)" }),
    credentials: credentialsBody,
    permissions: z
      .array(z.enum(originPermissionValues))
      .min(1)
      .max(2)
      .refine((p) => new Set(p).size === p.length, "permissions must not repeat"),
  })
  .superRefine((body, ctx) => {
    const bucket = bucketProblem(body.provider, body.bucket);
    if (bucket) ctx.addIssue({ code: "custom", path: ["bucket"], message: bucket });
    const path = normalizeOriginPath(body.path);
    if (path !== null) {
      const problem = originPathProblem(path);
      if (problem) ctx.addIssue({ code: "custom", path: ["path"], message: problem });
    }
    if (body.provider === "r2" && body.endpoint === undefined) {
      ctx.addIssue({ code: "custom", path: ["endpoint"], message: "r2 needs its account endpoint, https://<account_id>.r2.cloudflarestorage.com" });
    }
  })
  .openapi("CreateOriginRequest");

const idParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "ori_a1b2c3d4e5f6g7h8j9k0" }) });

const createOrigin = createRoute({
  method: "post",
  path: "/origins",
  summary: "Connect a bucket of your own (S3, R2 or GCS)",
  description:
    "The credentials are checked with real signed requests before the origin exists: a one-key listing for `read`, a probe object written and deleted under `path` for `write`. They are encrypted at rest and never returned.",
  security: bearerSecurity,
  request: { body: { required: true, content: { "application/json": { schema: createOriginBody } } } },
  responses: { 201: { description: "The origin", content: { "application/json": { schema: originSchema } } }, ...errorResponses(400, 401, 403) },
});

const getOrigin = createRoute({
  method: "get",
  path: "/origins/{id}",
  summary: "Retrieve an origin",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: { description: "The origin", content: { "application/json": { schema: originSchema } } }, ...errorResponses(401, 403, 404) },
});

const listOriginsRoute = createRoute({
  method: "get",
  path: "/origins",
  summary: "List origins, newest first",
  security: bearerSecurity,
  request: {
    query: z.object({
      ...pageQuery,
    }),
  },
  responses: {
    200: pageResponse(originSchema, "OriginList", "A page of origins"),
    ...errorResponses(400, 401, 403),
  },
});

const deleteOriginRoute = createRoute({
  method: "delete",
  path: "/origins/{id}",
  summary: "Delete an origin and its stored credentials",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: { description: "The origin, deleted", content: { "application/json": { schema: originSchema } } }, ...errorResponses(401, 403, 404) },
});

export const originRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
})
  .openapi(createOrigin, async (c) => {
    authorize(c, "origins:create", "origins/*");
    const row = await createOriginRow(c.env, c.get("requestId"), c.get("principal").orgId, c.req.valid("json"));
    return c.json(originView(row), 201);
  })
  .openapi(listOriginsRoute, async (c) => {
    authorize(c, "origins:list", "origins/*");
    const query = c.req.valid("query");
    return c.json(await listOrigins(c.env.DB, { orgId: c.get("principal").orgId, limit: query.limit, cursor: query.cursor ?? null }), 200);
  })
  .openapi(getOrigin, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "origins:get", `origins/${id}`);
    const row = await findOrigin(c.env.DB, c.get("principal").orgId, id);
    if (!row) throw originNotFound(id);
    return c.json(originView(row), 200);
  })
  .openapi(deleteOriginRoute, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "origins:delete", `origins/${id}`);
    const row = await findOrigin(c.env.DB, c.get("principal").orgId, id);
    if (!row) throw originNotFound(id);
    await deleteOrigin(c.env.DB, row);
    return c.json(originView(row), 200);
  });
