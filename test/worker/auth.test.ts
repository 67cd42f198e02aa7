import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, seedBareOrg, seedOrg, videoJob } from "./helpers";

describe("authentication", () => {
  it("rejects a request without a key with token_missing", async () => {
    const res = await call("/v1/jobs");
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("token_missing");
    expect(res.json.error.request_id).toBe(res.headers.get("x-request-id"));
  });

  it.each([
    ["an unknown key", "Bearer sk_nope"],
    ["a scheme other than Bearer", "Basic dXNlcjpwYXNz"],
    ["an empty bearer", "Bearer "],
  ])("rejects %s with token_invalid", async (_label, header) => {
    const res = await call("/v1/jobs", { headers: { authorization: header } });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe("token_invalid");
  });

  it("stores keys only as SHA-256 hashes", async () => {
    const { key } = await seedOrg();
    const created = await call("/v1/keys", { key, body: { name: "ci" } });
    expect(created.status).toBe(201);
    const secret: string = created.json.secret;
    const rows = await env.DB.prepare("SELECT * FROM api_keys").all();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(secret);
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    expect(rows.results.some((r) => r.secret_hash === digest)).toBe(true);
    expect((await call("/v1/jobs", { key: secret })).status).toBe(200);
  });

  it("puts request_id on every response, success included", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  });
});

describe("organizations", () => {
  it("answers another org's job with 404, for every job route", async () => {
    const a = await seedOrg();
    const b = await seedOrg();
    const job = (await call("/v1/jobs", { key: a.key, body: videoJob() })).json;
    for (const [method, path] of [
      ["GET", `/v1/jobs/${job.id}`],
      ["POST", `/v1/jobs/${job.id}/cancel`],
      ["POST", `/v1/jobs/${job.id}/confirm`],
      ["POST", `/v1/jobs/${job.id}/restart`],
      ["POST", `/v1/jobs/${job.id}/resubmit`],
    ] as const) {
      const res = await call(path, { key: b.key, method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
    const list = await call(`/v1/jobs?search=${job.id}`, { key: b.key });
    expect(list.json.total_count).toBe(0);
    // and the job is untouched
    expect((await call(`/v1/jobs/${job.id}`, { key: a.key })).json.status).toBe("pending");
  });

  it("an idempotency key in one org does not collide with the same key in another", async () => {
    const a = await seedOrg();
    const b = await seedOrg();
    const body = videoJob({ idempotency_key: "same-key" });
    const ja = await call("/v1/jobs", { key: a.key, body });
    const jb = await call("/v1/jobs", { key: b.key, body });
    expect(ja.status).toBe(201);
    expect(jb.status).toBe(201);
    expect(ja.json.id).not.toBe(jb.json.id);
  });

  it("a key of several orgs picks one with X-Organization-ID and must pick", async () => {
    const second = await seedBareOrg();
    const { orgId, key } = await seedOrg(undefined, [second]);
    const missing = await call("/v1/jobs", { key });
    expect(missing.status).toBe(400);
    expect(missing.json.error.code).toBe("organization_required");

    const inSecond = await call("/v1/jobs", { key, body: videoJob(), headers: { "x-organization-id": second } });
    expect(inSecond.status).toBe(201);
    const inFirst = await call(`/v1/jobs/${inSecond.json.id}`, { key, headers: { "x-organization-id": orgId } });
    expect(inFirst.status).toBe(404);
    const listed = await call("/v1/jobs", { key, headers: { "x-organization-id": second } });
    expect(listed.json.data.map((j: { id: string }) => j.id)).toEqual([inSecond.json.id]);
  });

  it("refuses an organization the key does not belong to", async () => {
    const other = await seedOrg();
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, headers: { "x-organization-id": other.orgId } });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("forbidden");
  });
});

describe("key scopes", () => {
  it("allows only the actions and resources a key's statements name", async () => {
    const { key: admin } = await seedOrg();
    const owned = await call("/v1/jobs", { key: admin, body: videoJob() });
    const { key: reader } = await seedOrg([{ effect: "allow", actions: ["jobs:get", "jobs:list"], resources: ["jobs/*"] }]);
    expect((await call("/v1/jobs", { key: reader, body: videoJob() })).json.error.code).toBe("forbidden");
    expect((await call("/v1/jobs", { key: reader })).status).toBe(200);
    expect((await call(`/v1/jobs/${owned.json.id}`, { key: reader })).status).toBe(404); // other org: still a 404, not a 403
  });

  it("checks every action with a 403 forbidden", async () => {
    const { orgId, key: admin } = await seedOrg();
    const job = (await call("/v1/jobs", { key: admin, body: videoJob() })).json;
    const denied = await createKeyIn(admin, [{ effect: "allow", actions: ["jobs:list"], resources: ["*"] }]);
    const cases: [string, string, unknown?][] = [
      ["POST", "/v1/jobs", videoJob()],
      ["GET", `/v1/jobs/${job.id}`],
      ["POST", `/v1/jobs/${job.id}/cancel`],
      ["POST", `/v1/jobs/${job.id}/confirm`],
      ["POST", `/v1/jobs/${job.id}/restart`],
      ["POST", `/v1/jobs/${job.id}/resubmit`],
      ["POST", "/v1/keys", { name: "x" }],
      ["GET", "/v1/keys"],
      ["DELETE", "/v1/keys/key_whatever"],
    ];
    for (const [method, path, body] of cases) {
      const res = await call(path, { key: denied, method, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.error.code).toBe("forbidden");
    }
    expect((await call("/v1/jobs", { key: denied })).status).toBe(200);
    expect(orgId).toBeTruthy();
  });

  it("scopes a key to one job by resource pattern", async () => {
    const { key: admin } = await seedOrg();
    const mine = (await call("/v1/jobs", { key: admin, body: videoJob() })).json;
    const other = (await call("/v1/jobs", { key: admin, body: videoJob() })).json;
    const scoped = await createKeyIn(admin, [{ effect: "allow", actions: ["jobs:get", "jobs:cancel"], resources: [`jobs/${mine.id}`] }]);
    expect((await call(`/v1/jobs/${mine.id}`, { key: scoped })).status).toBe(200);
    expect((await call(`/v1/jobs/${other.id}`, { key: scoped })).status).toBe(403);
    expect((await call(`/v1/jobs/${other.id}/cancel`, { key: scoped, method: "POST" })).status).toBe(403);
    expect((await call(`/v1/jobs/${mine.id}/cancel`, { key: scoped, method: "POST" })).status).toBe(200);
  });

  it("matches action wildcards like jobs:*", async () => {
    const { key: admin } = await seedOrg();
    const jobsOnly = await createKeyIn(admin, [{ effect: "allow", actions: ["jobs:*"], resources: ["jobs/*"] }]);
    expect((await call("/v1/jobs", { key: jobsOnly, body: videoJob() })).status).toBe(201);
    expect((await call("/v1/keys", { key: jobsOnly })).status).toBe(403);
  });
});

describe("key management", () => {
  it("creates a key whose secret is shown once, lists it without the secret, and revokes it", async () => {
    const { key: admin } = await seedOrg();
    const created = await call("/v1/keys", { key: admin, body: { name: "deploy" } });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^sk_[0-9a-f]{64}$/);
    expect(created.json.secret_prefix).toBe(created.json.secret.slice(0, 11));

    const list = await call("/v1/keys", { key: admin });
    expect(list.status).toBe(200);
    const entry = list.json.data.find((k: { id: string }) => k.id === created.json.id);
    expect(entry).toMatchObject({ name: "deploy", revoked_at: null });
    expect(list.text).not.toContain(created.json.secret);

    expect((await call("/v1/jobs", { key: created.json.secret })).status).toBe(200);
    const revoked = await call(`/v1/keys/${created.json.id}`, { key: admin, method: "DELETE" });
    expect(revoked.status).toBe(200);
    const after = await call("/v1/jobs", { key: created.json.secret });
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe("token_invalid");
    const relisted = await call("/v1/keys", { key: admin });
    expect(relisted.json.data.find((k: { id: string }) => k.id === created.json.id).revoked_at).not.toBeNull();
  });

  it("cannot revoke or list another org's keys", async () => {
    const a = await seedOrg();
    const b = await seedOrg();
    const created = await call("/v1/keys", { key: a.key, body: { name: "a-key" } });
    const res = await call(`/v1/keys/${created.json.id}`, { key: b.key, method: "DELETE" });
    expect(res.status).toBe(404);
    const listed = await call("/v1/keys", { key: b.key });
    expect(listed.json.data.some((k: { id: string }) => k.id === created.json.id)).toBe(false);
    expect((await call("/v1/jobs", { key: created.json.secret })).status).toBe(200);
  });

  it("refuses to grant more than the creating key holds", async () => {
    const { key: admin } = await seedOrg();
    const limited = await createKeyIn(admin, [{ effect: "allow", actions: ["jobs:*", "keys:create"], resources: ["jobs/*", "keys/*"] }]);
    const escalate = await call("/v1/keys", {
      key: limited,
      body: { name: "root", statements: [{ effect: "allow", actions: ["*"], resources: ["*"] }] },
    });
    expect(escalate.status).toBe(403);
    expect(escalate.json.error.code).toBe("forbidden");
    const narrower = await call("/v1/keys", {
      key: limited,
      body: { name: "reader", statements: [{ effect: "allow", actions: ["jobs:get"], resources: ["jobs/*"] }] },
    });
    expect(narrower.status).toBe(201);
  });

  it("refuses organizations the creating key does not belong to", async () => {
    const { key: admin } = await seedOrg();
    const other = await seedBareOrg();
    const res = await call("/v1/keys", { key: admin, body: { name: "x", organization_ids: [other] } });
    expect(res.status).toBe(403);
  });

  it.each([
    ["no name", {}],
    ["an empty name", { name: "" }],
    ["an unknown field", { name: "x", admin: true }],
    ["a statement without actions", { name: "x", statements: [{ effect: "allow", actions: [], resources: ["*"] }] }],
    ["a deny statement", { name: "x", statements: [{ effect: "deny", actions: ["*"], resources: ["*"] }] }],
    ["a pattern with a * in the middle", { name: "x", statements: [{ effect: "allow", actions: ["jobs:*:x"], resources: ["*"] }] }],
  ])("rejects a key with %s", async (_label, body) => {
    const { key } = await seedOrg();
    const res = await call("/v1/keys", { key, body });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("validation_error");
  });

  it("answers an unknown key id with 404", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/keys/key_doesnotexist", { key, method: "DELETE" });
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("not_found");
  });
});

async function createKeyIn(adminKey: string, statements: unknown[]): Promise<string> {
  const res = await call("/v1/keys", { key: adminKey, body: { name: "scoped", statements } });
  expect(res.status).toBe(201);
  return res.json.secret;
}
