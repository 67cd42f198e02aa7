import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OriginKeyError, decryptCredentials } from "../../worker/origins/crypto";
import { call, seedOrg } from "./helpers";

const ACCESS_KEY_ID = "AKIASECRETTEST000042";
const SECRET = "secret-test-Zq9wX7vT2sR4pL6nK8mJ-never-shown";

const secretBody = (extra: Record<string, unknown> = {}) => ({
  name: `keys-${crypto.randomUUID().slice(0, 8)}`,
  credentials: { access_key_id: ACCESS_KEY_ID, secret_access_key: SECRET },
  ...extra,
});

/** Neither half of the credentials may appear anywhere in a response. */
function expectNoCredentials(text: string) {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(ACCESS_KEY_ID);
}

async function createSecret(key: string, body: Record<string, unknown> = secretBody()) {
  const res = await call("/v1/secrets", { key, body });
  expectNoCredentials(res.text);
  expect(res.status, res.text).toBe(201);
  return res.json;
}

describe("POST /v1/secrets", () => {
  it("stores the credentials encrypted, bound to the org and secret, and shows only a hint", async () => {
    const { orgId, key } = await seedOrg();
    const body = secretBody({ region: "eu-west-1", endpoint: "https://s3.example.com/" });
    const secret = await createSecret(key, body);
    expect(secret).toEqual({
      id: expect.stringMatching(/^sec_[a-z0-9]{20}$/),
      object: "secret",
      name: body.name,
      access_key_hint: "…0042",
      region: "eu-west-1",
      endpoint: "https://s3.example.com",
      created_at: expect.any(String),
    });
    const row = (await env.DB.prepare("SELECT * FROM secrets WHERE id = ?").bind(secret.id).first<Record<string, string>>())!;
    expect(row.org_id).toBe(orgId);
    expect(JSON.stringify(row)).not.toContain(SECRET);
    expect(JSON.stringify(row)).not.toContain(ACCESS_KEY_ID);
    expect(await decryptCredentials(env, { orgId, secretId: secret.id }, row.credentials!)).toEqual({ access_key_id: ACCESS_KEY_ID, secret_access_key: SECRET });
    // Bound to its own row: not another org's, not another secret's, not an origin's of the same id.
    await expect(decryptCredentials(env, { orgId: "org_other", secretId: secret.id }, row.credentials!)).rejects.toThrow(OriginKeyError);
    await expect(decryptCredentials(env, { orgId, secretId: "sec_other" }, row.credentials!)).rejects.toThrow(OriginKeyError);
    await expect(decryptCredentials(env, { orgId, originId: secret.id }, row.credentials!)).rejects.toThrow(OriginKeyError);
  });

  it("gives a short access key id no hint at all", async () => {
    const { key } = await seedOrg();
    const secret = await createSecret(key, secretBody({ credentials: { access_key_id: "S3RVER", secret_access_key: "S3RVER" } }));
    expect(secret.access_key_hint).toBe("…");
  });

  it("keeps names unique per organization, not across organizations", async () => {
    const one = await seedOrg();
    const two = await seedOrg();
    const body = secretBody({ name: "acme-aws-access-keys" });
    await createSecret(one.key, body);
    const again = await call("/v1/secrets", { key: one.key, body });
    expectNoCredentials(again.text);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("secret_name_taken");
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM secrets WHERE org_id = ?").bind(one.orgId).first("n")).toBe(1);
    await createSecret(two.key, body);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ["no name", { name: undefined }, "name"],
    ["an empty name", { name: "" }, "name"],
    ["a name with a space", { name: "my keys" }, "name"],
    ["a name with braces", { name: "{keys}" }, "name"],
    ["a name with a slash", { name: "a/b" }, "name"],
    ["a name over 64 characters", { name: "k".repeat(65) }, "name"],
    ["no credentials", { credentials: undefined }, "credentials"],
    ["an empty access_key_id", { credentials: { access_key_id: "", secret_access_key: SECRET } }, "credentials.access_key_id"],
    ["a missing secret_access_key", { credentials: { access_key_id: ACCESS_KEY_ID } }, "credentials.secret_access_key"],
    ["a secret with a space", { credentials: { access_key_id: ACCESS_KEY_ID, secret_access_key: `${SECRET} x` } }, "credentials.secret_access_key"],
    ["an unknown credentials field", { credentials: { access_key_id: ACCESS_KEY_ID, secret_access_key: SECRET, session_token: "t" } }, "credentials"],
    ["a region with upper case", { region: "EU-WEST-1" }, "region"],
    ["an endpoint with a path", { endpoint: "https://s3.example.com/bucket" }, "endpoint"],
    ["an ftp endpoint", { endpoint: "ftp://s3.example.com" }, "endpoint"],
    ["an http endpoint in production", { endpoint: "http://s3.example.com" }, "endpoint"],
    ["a loopback endpoint in production", { endpoint: "https://127.0.0.1:9000" }, "endpoint"],
    ["an unknown field", { value: "x" }, ""],
  ];
  it.each(invalid)("rejects %s with validation_error and stores nothing", async (_label, patch, path) => {
    const { orgId, key } = await seedOrg();
    const res = await call("/v1/secrets", { key, body: secretBody(patch) });
    expectNoCredentials(res.text);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe("validation_error");
    expect(res.json.error.details.issues[0].path).toBe(path);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM secrets WHERE org_id = ?").bind(orgId).first("n")).toBe(0);
  });

  it("needs secrets:create", async () => {
    const { key } = await seedOrg([{ effect: "allow", actions: ["secrets:list", "secrets:get"], resources: ["*"] }]);
    const res = await call("/v1/secrets", { key, body: secretBody() });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("forbidden");
  });
});

describe("GET / DELETE /v1/secrets", () => {
  it("lists newest first in pages, retrieves and deletes, never returning credentials", async () => {
    const { key } = await seedOrg();
    const first = await createSecret(key);
    const second = await createSecret(key);
    const list = await call("/v1/secrets", { key });
    expectNoCredentials(list.text);
    expect(list.json).toEqual({ object: "list", data: [second, first], has_more: false, next_cursor: null });

    const page = await call("/v1/secrets?limit=1", { key });
    expect(page.json).toMatchObject({ has_more: true, data: [{ id: second.id }] });
    const rest = await call(`/v1/secrets?limit=1&cursor=${page.json.next_cursor}`, { key });
    expect(rest.json).toMatchObject({ has_more: false, next_cursor: null, data: [{ id: first.id }] });

    const got = await call(`/v1/secrets/${first.id}`, { key });
    expectNoCredentials(got.text);
    expect(got.json).toEqual(first);

    const deleted = await call(`/v1/secrets/${first.id}`, { key, method: "DELETE" });
    expectNoCredentials(deleted.text);
    expect(deleted.json).toEqual(first);
    expect(await env.DB.prepare("SELECT id FROM secrets WHERE id = ?").bind(first.id).first()).toBeNull();
    expect((await call(`/v1/secrets/${first.id}`, { key })).status).toBe(404);
    expect((await call(`/v1/secrets/${first.id}`, { key, method: "DELETE" })).status).toBe(404);
    // The name is free again.
    await createSecret(key, secretBody({ name: first.name }));
  });

  it("keeps organizations apart: another org's secret is 404 and never listed", async () => {
    const mine = await seedOrg();
    const theirs = await seedOrg();
    const secret = await createSecret(mine.key);
    for (const method of ["GET", "DELETE"]) {
      const res = await call(`/v1/secrets/${secret.id}`, { key: theirs.key, method });
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
    expect((await call("/v1/secrets", { key: theirs.key })).json.data).toEqual([]);
    expect((await call(`/v1/secrets/${secret.id}`, { key: mine.key })).status).toBe(200);
  });

  it("answers 404 for ids of the wrong shape and 400 for a bad page", async () => {
    const { key } = await seedOrg();
    expect((await call("/v1/secrets/ori_abc", { key })).status).toBe(404);
    expect((await call("/v1/secrets?limit=0", { key })).json.error.code).toBe("validation_error");
    expect((await call("/v1/secrets?cursor=nope", { key })).json.error.code).toBe("validation_error");
  });

  it("needs the matching permission for each action", async () => {
    const owner = await seedOrg();
    const secret = await createSecret(owner.key);
    const reader = await seedOrg([{ effect: "allow", actions: ["secrets:get"], resources: [`secrets/${secret.id}`] }], [owner.orgId]);
    const headers = { "x-organization-id": owner.orgId };
    expect((await call(`/v1/secrets/${secret.id}`, { key: reader.key, headers })).status).toBe(200);
    expect((await call("/v1/secrets", { key: reader.key, headers })).status).toBe(403);
    expect((await call(`/v1/secrets/${secret.id}`, { key: reader.key, headers, method: "DELETE" })).status).toBe(403);
  });
});
