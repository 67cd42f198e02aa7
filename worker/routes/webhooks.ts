import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { bearerSecurity, errorResponses } from "./openapi-shared";
import { validationFailure } from "../errors";
import { authorize } from "../middleware/authenticate";
import { webhookEventTypes } from "../webhooks/message";
import { orgWebhookSecret, rotateWebhookSecret } from "../webhooks/secrets";
import { jobService } from "./job-service";


const secretSchema = z
  .object({
    object: z.literal("webhook_secret"),
    secret: z.string().openapi({
      description: "Standard Webhooks signing secret (whsec_ + base64). Verify `webhook-signature` with it.",
      example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }),
    created_at: z.string(),
  })
  .openapi("WebhookSecret");

const attemptSchema = z.object({
  attempt: z.number().int(),
  status_code: z.number().int().nullable().openapi({ description: "Null when no HTTP answer came (timeout, network error, refused URL)" }),
  latency_ms: z.number().int().nullable(),
  error: z.string().nullable(),
  attempted_at: z.string(),
  next_attempt_at: z.string().nullable(),
});

const deliverySchema = z
  .object({
    id: z.string().openapi({ description: "whd_…, sent as `webhook-id` on every attempt", example: "whd_a1b2c3d4e5f6g7h8j9k0" }),
    object: z.literal("webhook_delivery"),
    job_id: z.string(),
    event_type: z.enum(webhookEventTypes),
    url: z.string(),
    status: z.enum(["pending", "delivered", "failed"]),
    attempt: z.number().int().openapi({ description: "Attempts made so far; the fields below are the last one's" }),
    status_code: z.number().int().nullable(),
    latency_ms: z.number().int().nullable(),
    error: z.string().nullable(),
    attempted_at: z.string().nullable(),
    delivered_at: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    created_at: z.string(),
    attempts: z.array(attemptSchema),
  })
  .openapi("WebhookDelivery");

const getSecret = createRoute({
  method: "get",
  path: "/webhooks/secret",
  summary: "The organization's webhook signing secret (created on first use)",
  security: bearerSecurity,
  responses: { 200: { description: "The secret", content: { "application/json": { schema: secretSchema } } }, ...errorResponses(401, 403) },
});

const rotateSecret = createRoute({
  method: "post",
  path: "/webhooks/secret/rotate",
  summary: "Replace the webhook signing secret; every attempt from now on is signed with the new one",
  security: bearerSecurity,
  responses: { 200: { description: "The new secret", content: { "application/json": { schema: secretSchema } } }, ...errorResponses(401, 403) },
});

const listDeliveries = createRoute({
  method: "get",
  path: "/jobs/{id}/webhooks",
  summary: "A job's webhook deliveries, newest first, with every attempt",
  security: bearerSecurity,
  request: {
    params: z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "job_a1b2c3d4e5f6g7h8j9k0" }) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) }),
  },
  responses: {
    200: {
      description: "Deliveries",
      content: { "application/json": { schema: z.object({ object: z.literal("list"), data: z.array(deliverySchema) }) } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

export const webhookRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
})
  .openapi(getSecret, async (c) => {
    authorize(c, "webhooks:read_secret", "webhooks/secret");
    const secret = await orgWebhookSecret(c.env, c.get("principal").orgId);
    return c.json({ object: "webhook_secret" as const, ...secret }, 200);
  })
  .openapi(rotateSecret, async (c) => {
    authorize(c, "webhooks:rotate_secret", "webhooks/secret");
    const secret = await rotateWebhookSecret(c.env, c.get("principal").orgId);
    return c.json({ object: "webhook_secret" as const, ...secret }, 200);
  })
  .openapi(listDeliveries, async (c) => {
    const data = await jobService(c).webhookDeliveries(c.req.valid("param").id, c.req.valid("query").limit);
    return c.json({ object: "list" as const, data: data as z.infer<typeof deliverySchema>[] }, 200);
  });
