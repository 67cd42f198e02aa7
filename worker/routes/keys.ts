import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { createKey, listKeys, revokeKey } from "../auth/api-keys";
import { grantsWithin, policyStatementSchema } from "../auth/policy";
import type { AppEnv } from "../env";
import { bearerSecurity, errorResponses } from "./openapi-shared";
import { ApiError, validationFailure } from "../errors";
import { authorize } from "../middleware/authenticate";

const keySchema = z
  .object({
    id: z.string(),
    object: z.literal("api_key"),
    name: z.string(),
    secret_prefix: z.string(),
    statements: z.array(policyStatementSchema),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi("ApiKey");
const createdKeySchema = keySchema
  .extend({ secret: z.string().openapi({ description: "Shown once; only its hash is stored" }), organization_ids: z.array(z.string()) })
  .openapi("CreatedApiKey");


const createKeyRoute = createRoute({
  method: "post",
  path: "/keys",
  summary: "Create an API key (its secret is shown once)",
  security: bearerSecurity,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({
            name: z.string().trim().min(1).max(128),
            statements: z.array(policyStatementSchema).min(1).max(20).optional().openapi({
              description: "Allow statements; defaults to the creating key's own. A key can grant only what it holds.",
            }),
            organization_ids: z.array(z.string().min(1).max(64)).min(1).max(20).optional().openapi({
              description: "Organizations the key belongs to; defaults to the current one. The creating key must belong to each.",
            }),
          }),
        },
      },
    },
  },
  responses: { 201: { description: "The key, with its secret", content: { "application/json": { schema: createdKeySchema } } }, ...errorResponses(400, 401, 403) },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/keys",
  summary: "List the organization's API keys",
  security: bearerSecurity,
  responses: {
    200: { description: "Keys (never their secrets)", content: { "application/json": { schema: z.object({ object: z.literal("list"), data: z.array(keySchema) }) } } },
    ...errorResponses(401, 403),
  },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/keys/{id}",
  summary: "Revoke an API key",
  security: bearerSecurity,
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: { 200: { description: "Revoked", content: { "application/json": { schema: z.object({ id: z.string(), object: z.literal("api_key"), revoked: z.literal(true) }) } } }, ...errorResponses(401, 403, 404) },
});

export const keyRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
})
  .openapi(createKeyRoute, async (c) => {
    authorize(c, "keys:create", "keys/*");
    const principal = c.get("principal");
    const body = c.req.valid("json");
    const statements = body.statements ?? principal.statements;
    if (!grantsWithin(principal.statements, statements)) {
      throw new ApiError(403, "forbidden", "A key can only grant actions and resources it is allowed itself");
    }
    const orgIds = body.organization_ids ?? [principal.orgId];
    const foreign = orgIds.filter((id) => !principal.orgIds.includes(id));
    if (foreign.length > 0) throw new ApiError(403, "forbidden", "This API key does not belong to every organization named");
    const key = await createKey(c.env.DB, { name: body.name, statements, orgIds: [...new Set(orgIds)] });
    return c.json(
      {
        id: key.id,
        object: "api_key" as const,
        name: key.name,
        secret: key.secret,
        secret_prefix: key.secretPrefix,
        statements: key.statements,
        organization_ids: key.orgIds,
        created_at: key.createdAt,
        revoked_at: null,
      },
      201,
    );
  })
  .openapi(listKeysRoute, async (c) => {
    authorize(c, "keys:list", "keys/*");
    const rows = await listKeys(c.env.DB, c.get("principal").orgId);
    return c.json(
      {
        object: "list" as const,
        data: rows.map((k) => ({
          id: k.id,
          object: "api_key" as const,
          name: k.name,
          secret_prefix: k.secretPrefix,
          statements: k.statements,
          created_at: k.createdAt,
          revoked_at: k.revokedAt,
        })),
      },
      200,
    );
  })
  .openapi(revokeKeyRoute, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "keys:revoke", `keys/${id}`);
    if (!(await revokeKey(c.env.DB, c.get("principal").orgId, id))) throw new ApiError(404, "not_found", `No API key ${id}`);
    return c.json({ id, object: "api_key" as const, revoked: true as const }, 200);
  });
