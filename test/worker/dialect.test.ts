import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createJobRequestSchema } from "../../worker/api/schemas/create-job";
import { keyCaller } from "../../worker/auth/caller";
import type { AppEnv } from "../../worker/env";
import { ApiError, noRoute, validationFailure } from "../../worker/errors";
import { JobService } from "../../worker/jobs/service";
import { type Credential, apiKeyPrincipal, authenticate } from "../../worker/middleware/authenticate";
import { bodyLimit } from "../../worker/middleware/body-limit";
import { jsonOnly } from "../../worker/middleware/json-only";
import { renderErrors } from "../../worker/middleware/render-errors";
import { requestId } from "../../worker/middleware/request-id";
import { v1 } from "../../worker/routes/v1";
import { seedOrg, videoJob } from "./helpers";

// A made-up dialect: its own credential (the API key in X-Api-Key), its own body limit,
// its own error shape, its own job shape; jobs through the same service as /v1.
const headerKey: Credential = async (c) => {
  const secret = c.req.header("x-api-key");
  if (!secret) throw new ApiError(401, "token_missing", "Send the API key in X-Api-Key");
  return apiKeyPrincipal(c.env.DB, secret, undefined);
};
const jobs = (c: { env: AppEnv["Bindings"]; get(key: "principal"): AppEnv["Variables"]["principal"] }) => new JobService(c.env, keyCaller(c.get("principal")));
const render = (job: { id: string; status: string }) => ({ uid: job.id, state: job.status });

const dialect = new Hono<AppEnv>()
  .use(bodyLimit(512), jsonOnly(), authenticate({ credential: headerKey }))
  .post("/jobs", async (c) => {
    const parsed = createJobRequestSchema.safeParse(await c.req.json());
    if (!parsed.success) throw validationFailure(parsed.error, "json");
    const { job, created } = await jobs(c).create(parsed.data);
    return c.json(render(job), created ? 201 : 200);
  })
  .get("/jobs/:id", async (c) => c.json(render(await jobs(c).get(c.req.param("id")))))
  // The root's not-found answer is the native one: a front-end owning a prefix answers its own.
  .all("*", (c) => {
    throw noRoute(c);
  })
  .onError(renderErrors((error) => ({ message: error.message, code: error.code })));

// Mounted beside the native API, as app.ts would mount a dialect.
const root = new Hono<AppEnv>().use(requestId).route("/dialect", dialect).route("/v1", v1);

async function send(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const res = await root.request(path, { method: init.method ?? (init.body === undefined ? "GET" : "POST"), headers: init.headers, body: init.body }, env);
  return { status: res.status, json: (await res.json()) as any, requestId: res.headers.get("x-request-id") };
}

describe("a dialect mounts the middleware with its own options", () => {
  it("takes its own credential and renders errors in its own shape", async () => {
    const { key } = await seedOrg();
    const json = { "content-type": "application/json" };

    const missing = await send("/dialect/jobs", { headers: json, body: JSON.stringify(videoJob()) });
    expect(missing).toMatchObject({ status: 401, json: { message: "Send the API key in X-Api-Key", code: "token_missing" } });
    expect(missing.json.error).toBeUndefined();
    // The native credential is not this dialect's.
    const bearer = await send("/dialect/jobs", { headers: { ...json, authorization: `Bearer ${key}` }, body: JSON.stringify(videoJob()) });
    expect(bearer.json).toEqual({ message: "Send the API key in X-Api-Key", code: "token_missing" });

    const headers = { ...json, "x-api-key": key };
    expect((await send("/dialect/jobs", { headers: { ...headers, "content-type": "text/plain" }, body: "hi" })).json).toMatchObject({ code: "unsupported_media_type" });
    const big = await send("/dialect/jobs", { headers, body: JSON.stringify(videoJob({ metadata: { note: "x".repeat(600) } })) });
    expect(big).toMatchObject({ status: 413, json: { code: "payload_too_large" } });
    expect((await send("/dialect/jobs", { headers, body: JSON.stringify({ kind: "video" }) })).json).toMatchObject({ code: "input_required" });
    expect(await send("/dialect/nope", { headers })).toMatchObject({ status: 404, json: { code: "not_found", message: "No route GET /dialect/nope" } });

    const created = await send("/dialect/jobs", { headers, body: JSON.stringify(videoJob()) });
    expect(created).toMatchObject({ status: 201, json: { state: "pending" } });
    expect(await send(`/dialect/jobs/${created.json.uid}`, { headers })).toMatchObject({ status: 200, json: { uid: created.json.uid, state: "pending" } });
    expect(await send("/dialect/jobs/job_aaaaaaaaaaaaaaaaaaaa", { headers })).toMatchObject({ status: 404, json: { code: "not_found" } });

    // The native API beside it is unchanged: same job, its own credential, its own envelope and limit.
    const native = await send(`/v1/jobs/${created.json.uid}`, { headers: { authorization: `Bearer ${key}` } });
    expect(native).toMatchObject({ status: 200, json: { id: created.json.uid, object: "job" } });
    const refused = await send(`/v1/jobs/${created.json.uid}`, { headers: { "x-api-key": key } });
    expect(refused.status).toBe(401);
    expect(refused.json).toEqual({ error: { code: "token_missing", message: expect.any(String), request_id: refused.requestId } });
    const large = await send("/v1/jobs", {
      headers: { ...json, authorization: `Bearer ${key}` },
      body: JSON.stringify(videoJob({ metadata: { note: "x".repeat(600) } })),
    });
    expect(large.status).toBe(201);
  });
});
