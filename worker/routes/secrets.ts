import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { ApiError, validationFailure } from "../errors";
import { newId } from "../ids";
import { authorize } from "../middleware/authenticate";
import { encryptCredentials } from "../origins/crypto";
import { SECRET_NAME } from "../origins/uri";
import { normalizeEndpoint } from "../origins/validation";
import { accessKeyHint, deleteSecret, findSecret, insertSecret, listSecrets, secretNotFound, secretView } from "../secrets/store";
import { bearerSecurity, errorResponses, pageQuery, pageResponse } from "./openapi-shared";
import { assertEndpointAllowed, originKeyOrRefuse } from "../origins/create";
import { credentialsBody, endpointBody, regionBody } from "./origins";

export const secretSchema = z
  .object({
    id: z.string().openapi({ example: "sec_a1b2c3d4e5f6g7h8j9k0" }),
    object: z.literal("secret"),
    name: z.string().openapi({ example: "acme-aws-access-keys" }),
    access_key_hint: z.string().openapi({ example: "…7XQA", description: "The access key id's last four characters (none for ids under 12 characters)" }),
    region: z.string().nullable(),
    endpoint: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("Secret");

const createSecretBody = z
  .strictObject({
    name: z.string().regex(SECRET_NAME, "1–64 letters, digits, _ or -").openapi({ example: "acme-aws-access-keys", description: "Unique in the organization; jobs name it as s3://{name}@bucket/key" }),
    credentials: credentialsBody,
    region: regionBody.openapi({ description: "Default us-east-1 for s3://, auto for gs:// and r2://" }),
    endpoint: endpointBody.openapi({
      example: "https://<account>.r2.cloudflarestorage.com",
      description: "The S3-compatible service; default AWS S3 for s3://, GCS for gs://; required for r2://. https (http only outside production)",
    }),
  })
  .openapi("CreateSecretRequest");

const idParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "sec_a1b2c3d4e5f6g7h8j9k0" }) });
const secretResponse = (description: string) => ({ description, content: { "application/json": { schema: secretSchema } } });

const createSecret = createRoute({
  method: "post",
  path: "/secrets",
  summary: "Store S3-style credentials under a name jobs can use",
  description:
    "A job names the secret in a bucket location, `s3://{name}@bucket/key` (also `gs://`, `r2://`), instead of an origin. The credentials are encrypted at rest and never returned; a name is unique in the organization.",
  security: bearerSecurity,
  request: { body: { required: true, content: { "application/json": { schema: createSecretBody } } } },
  responses: { 201: secretResponse("The secret, without its credentials"), ...errorResponses(400, 401, 403, 409) },
});

const getSecret = createRoute({
  method: "get",
  path: "/secrets/{id}",
  summary: "Retrieve a secret (never its credentials)",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: secretResponse("The secret"), ...errorResponses(401, 403, 404) },
});

const listSecretsRoute = createRoute({
  method: "get",
  path: "/secrets",
  summary: "List secrets, newest first",
  security: bearerSecurity,
  request: {
    query: z.object({
      ...pageQuery,
    }),
  },
  responses: {
    200: pageResponse(secretSchema, "SecretList", "A page of secrets"),
    ...errorResponses(400, 401, 403),
  },
});

const deleteSecretRoute = createRoute({
  method: "delete",
  path: "/secrets/{id}",
  summary: "Delete a secret; jobs naming it fail at dispatch with secret_not_found",
  security: bearerSecurity,
  request: { params: idParams },
  responses: { 200: secretResponse("The secret, deleted"), ...errorResponses(401, 403, 404) },
});

export const secretRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
})
  .openapi(createSecret, async (c) => {
    authorize(c, "secrets:create", "secrets/*");
    const body = c.req.valid("json");
    assertEndpointAllowed(body.endpoint, c.env);
    await originKeyOrRefuse(c.env, c.get("requestId"));
    const orgId = c.get("principal").orgId;
    const id = newId("sec");
    const row = {
      id,
      orgId,
      name: body.name,
      credentials: await encryptCredentials(c.env, { orgId, secretId: id }, body.credentials),
      accessKeyHint: accessKeyHint(body.credentials.access_key_id),
      region: body.region ?? null,
      endpoint: normalizeEndpoint(body.endpoint),
      createdAt: new Date().toISOString(),
    };
    if (!(await insertSecret(c.env.DB, row))) {
      throw new ApiError(409, "secret_name_taken", `This organization already has a secret named ${body.name}; delete it first to replace it`);
    }
    return c.json(secretView(row), 201);
  })
  .openapi(listSecretsRoute, async (c) => {
    authorize(c, "secrets:list", "secrets/*");
    const query = c.req.valid("query");
    return c.json(await listSecrets(c.env.DB, { orgId: c.get("principal").orgId, limit: query.limit, cursor: query.cursor ?? null }), 200);
  })
  .openapi(getSecret, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "secrets:get", `secrets/${id}`);
    const row = await findSecret(c.env.DB, c.get("principal").orgId, id);
    if (!row) throw secretNotFound(id);
    return c.json(secretView(row), 200);
  })
  .openapi(deleteSecretRoute, async (c) => {
    const { id } = c.req.valid("param");
    authorize(c, "secrets:delete", `secrets/${id}`);
    const row = await findSecret(c.env.DB, c.get("principal").orgId, id);
    if (!row) throw secretNotFound(id);
    await deleteSecret(c.env.DB, row);
    return c.json(secretView(row), 200);
  });
