import { describe, expect, it } from "vitest";
import { call, seedOrg } from "./helpers";

describe("GET /v1/openapi.json", () => {
  it("is an OpenAPI 3.1 document generated from the route schemas, served without a key", async () => {
    const res = await call("/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.json;
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/jobs",
        "/jobs/{id}",
        "/jobs/{id}/cancel",
        "/jobs/{id}/confirm",
        "/jobs/{id}/restart",
        "/jobs/{id}/resubmit",
        "/jobs/{id}/tasks/{task_id}/log",
        "/jobs/{id}/watch",
        "/jobs/{id}/watch-token",
        "/jobs/{id}/webhooks",
        "/keys",
        "/keys/{id}",
        "/origins",
        "/origins/{id}",
        "/presets",
        "/presets/{id}",
        "/secrets",
        "/secrets/{id}",
        "/uploads",
        "/uploads/{id}",
        "/webhooks/secret",
        "/webhooks/secret/rotate",
      ].sort(),
    );
    const create = doc.paths["/jobs"].post;
    const body = create.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["input", "kind", "options", "outputs", "tasks", "idempotency_key", "thumbnails"]));
    expect(body.properties.kind.enum).toEqual(["video", "audio", "image", "animation", "adaptive_video"]);
    expect(Object.keys(create.responses).sort()).toEqual(["200", "201", "400", "401", "403", "409", "413", "415", "422"]);
    expect(doc.components.schemas.Job.properties.status.enum).toEqual([
      "pending",
      "probing",
      "awaiting_confirmation",
      "processing",
      "completed",
      "failed",
      "canceled",
      "partial",
    ]);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
  });
});

describe("routes outside the job API", () => {
  it("serves a static health document", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ok: true, service: "kiln" });
  });

  it("answers unknown routes with the error envelope", async () => {
    const { key } = await seedOrg();
    for (const path of ["/nope", "/v1/nope", "/v2/jobs"]) {
      const res = await call(path, { key });
      expect(res.status, path).toBe(404);
      expect(res.json.error).toMatchObject({ code: "not_found" });
      expect(res.json.error.request_id).toMatch(/^req_/);
    }
  });

  it("answers CORS preflights so browsers can call the API", async () => {
    const res = await call("/v1/jobs", { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "POST" } });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")).toContain("Idempotency-Key");
  });
});
