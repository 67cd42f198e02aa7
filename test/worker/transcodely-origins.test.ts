import { env } from "cloudflare:workers";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { call, seedOrg, videoJob } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

/*
 * Transcodely's OriginService (worker/dialects/transcodely/origin-service.ts) against
 * the real Worker, D1 and the loopback S3 server (s3rver, started by vitest.config.ts):
 * every access check is a real signed request. Each test makes its own bucket.
 */

const S3 = env.TEST_ONLY_ALLOWED_S3_ENDPOINT!;
const s3 = new AwsClient({ accessKeyId: S3_TEST_CREDENTIALS.access_key_id, secretAccessKey: S3_TEST_CREDENTIALS.secret_access_key, service: "s3", region: "us-east-1", retries: 0 });

const rpc = (method: string, key: string | null, body: unknown, headers: Record<string, string> = {}) =>
  call(`/transcodely.v1.OriginService/${method}`, { key, body, headers });

async function newBucket(): Promise<string> {
  const name = `kiln-tc-${crypto.randomUUID().slice(0, 8)}`;
  expect((await s3.fetch(`${S3}/${name}`, { method: "PUT" })).status).toBe(200);
  return name;
}

const s3Config = (bucket: string) => ({ bucket, region: "us-east-1", endpoint: S3, credentials: S3_TEST_CREDENTIALS });

async function createOrigin(key: string, fields: Record<string, unknown> = {}) {
  const res = await rpc("Create", key, { name: "renders", permissions: ["read", "write"], s3: s3Config(await newBucket()), ...fields });
  expect(res.status, res.text).toBe(200);
  return res.json.origin;
}

/** Origin's fields in the protos' order; every one is present, unset ones at their zero or null. */
const ORIGIN_KEYS = [
  "id",
  "app_id",
  "name",
  "description",
  "provider",
  "permissions",
  "status",
  "base_path",
  "path_template",
  "gcs",
  "s3",
  "http",
  "last_validated_at",
  "validation_error",
  "created_at",
  "updated_at",
  "archived_at",
  "is_managed",
  "r2",
];

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** The violations a Connect error lists (ErrorDetails.debug), and its binary value decodes to the same. */
function violations(json: any): { field: string; description: string }[] {
  expect(json.details[0].type).toBe("transcodely.v1.ErrorDetails");
  expect(base64Decode(json.details[0].value).length).toBeGreaterThan(0);
  return json.details[0].debug.field_violations;
}

describe("OriginService.Create", () => {
  it("connects a bucket after a real access check and answers the whole Origin and its validation", async () => {
    const { key } = await seedOrg();
    const bucket = await newBucket();
    // Full enum names and lowerCamelCase field names are read as well as the simple forms.
    const res = await rpc(
      "Create",
      key,
      { name: "Production bucket", permissions: ["ORIGIN_PERMISSION_READ", "write"], basePath: "/videos/out/", s3: { bucket, region: "us-east-1", endpoint: S3, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } } },
      { "transcodely-version": "2026-05-03", "user-agent": "transcodely-js/0.3.7" },
    );
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const { origin, validation } = res.json;
    expect(Object.keys(res.json)).toEqual(["origin", "validation"]);
    expect(Object.keys(origin)).toEqual(ORIGIN_KEYS);
    expect(origin).toEqual({
      id: expect.stringMatching(/^ori_[a-z0-9]{20}$/),
      app_id: "",
      name: "Production bucket",
      description: "",
      provider: "s3",
      permissions: ["read", "write"],
      status: "active",
      base_path: "videos/out",
      path_template: "",
      gcs: null,
      s3: { bucket, region: "us-east-1", credentials: null, endpoint: S3 },
      http: null,
      last_validated_at: origin.created_at,
      validation_error: null,
      created_at: expect.stringMatching(RFC3339),
      updated_at: origin.created_at,
      archived_at: null,
      is_managed: false,
      r2: null,
    });
    expect(validation).toEqual({ success: true, can_read: true, can_write: true, read_error: "", write_error: "", validated_at: origin.created_at });
    expect(res.text).not.toContain("S3RVER");

    // An ordinary Kiln origin: /v1 shows it, and a /v1 job writes to it.
    const native = await call(`/v1/origins/${origin.id}`, { key });
    expect(native.json).toMatchObject({ id: origin.id, provider: "s3", bucket, path: "videos/out", permissions: ["read", "write"] });
    const job = await call("/v1/jobs", { key, body: videoJob({ output_origin_id: origin.id }) });
    expect(job.status, job.text).toBe(201);
    expect(job.json.output_origin_id).toBe(origin.id);
  });

  it("reports every violation at once, each at its field path", async () => {
    const { key } = await seedOrg();
    const res = await rpc("Create", key, {
      name: "",
      description: "ours",
      path_template: "{job_id}/",
      permissions: ["read", "execute", "read"],
      base_path: "a/../b",
      s3: { bucket: "Not_A_Bucket", region: "us east", credentials: { access_key_id: "S3RVER" } },
    });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("invalid_argument");
    expect(res.json.details[0].debug.code).toBe("validation_error");
    const fields = violations(res.json).map((v) => v.field);
    expect(fields).toEqual(
      expect.arrayContaining(["name", "description", "path_template", "permissions[1]", "s3.region", "s3.credentials.secret_access_key", "s3.bucket", "base_path"]),
    );
    expect(violations(res.json).find((v) => v.field === "permissions[1]")?.description).toBe("one of read, write");
  });

  it("refuses what Kiln cannot reach by name: service-account GCS, HTTP origins, two configs, R2 with both account and endpoint", async () => {
    const { key } = await seedOrg();
    const gcs = await rpc("Create", key, { name: "g", permissions: ["read"], gcs: { bucket: "my-bucket", credentials: { service_account_json: "{}" } } });
    expect(gcs.status).toBe(400);
    expect(violations(gcs.json)).toEqual([{ field: "gcs", description: expect.stringContaining("HMAC key") }]);

    const http = await rpc("Create", key, { name: "h", permissions: ["PERMISSION_READ"], http: { base_url: "https://cdn.example.com/" } });
    expect(violations(http.json).map((v) => v.field)).toEqual(expect.arrayContaining(["http", "permissions[0]"]));

    const both = await rpc("Create", key, { name: "b", permissions: ["read"], s3: s3Config("kiln-x"), r2: { bucket: "kiln-x", credentials: S3_TEST_CREDENTIALS } });
    expect(violations(both.json)).toEqual(expect.arrayContaining([{ field: "", description: "exactly one provider config must be set: s3 or r2" }]));

    const r2 = await rpc("Create", key, {
      name: "r",
      permissions: ["write"],
      r2: { bucket: "kiln-r2", credentials: S3_TEST_CREDENTIALS, account_id: "0123456789abcdef0123456789abcdef", endpoint: "https://x.example.com", jurisdiction: "R2_JURISDICTION_EU" },
    });
    expect(violations(r2.json)).toEqual([{ field: "r2", description: "exactly one of account_id or endpoint must be set" }]);
    const lone = await rpc("Create", key, { name: "r", permissions: ["write"], r2: { bucket: "kiln-r2", credentials: S3_TEST_CREDENTIALS, endpoint: S3, jurisdiction: "eu" } });
    expect(violations(lone.json)).toEqual([{ field: "r2.jurisdiction", description: "jurisdiction is only valid when account_id is set" }]);
  });

  it("answers a bucket that refuses the key as permission_denied, and stores nothing", async () => {
    const { key } = await seedOrg();
    const res = await rpc("Create", key, { name: "x", permissions: ["read"], s3: { ...s3Config(await newBucket()), credentials: { access_key_id: "NOT-A-KEY", secret_access_key: "S3RVER" } } });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: "permission_denied", details: [{ debug: { code: "origin_access_denied" } }] });
    expect((await rpc("List", key, {})).json.origins).toEqual([]);
  });
});

describe("OriginService reads", () => {
  it("Get, List with filters and cursor pages, Validate, Archive", async () => {
    const { key } = await seedOrg();
    const reader = await createOrigin(key, { permissions: ["read"] });
    const writer = await createOrigin(key);

    const got = await rpc("Get", key, { id: writer.id });
    expect(got.status).toBe(200);
    expect(got.json).toEqual({ origin: writer });

    const all = await rpc("List", key, {});
    expect(all.json).toEqual({ origins: [writer, reader], pagination: { next_cursor: "", total_count: null } });
    expect((await rpc("List", key, { permission: "ORIGIN_PERMISSION_WRITE" })).json.origins.map((o: any) => o.id)).toEqual([writer.id]);
    expect((await rpc("List", key, { provider: "s3", permission: "read" })).json.origins).toHaveLength(2);
    expect((await rpc("List", key, { provider: "r2" })).json.origins).toEqual([]);
    expect((await rpc("List", key, { status: "archived" })).json.origins).toEqual([]);
    const first = await rpc("List", key, { pagination: { limit: 1 } });
    expect(first.json.origins.map((o: any) => o.id)).toEqual([writer.id]);
    expect(first.json.pagination.next_cursor).not.toBe("");
    const second = await rpc("List", key, { pagination: { limit: 1, cursor: first.json.pagination.next_cursor } });
    expect(second.json).toEqual({ origins: [reader], pagination: { next_cursor: "", total_count: null } });
    const offset = await rpc("List", key, { pagination: { offset: 20 } });
    expect(violations(offset.json)).toEqual([{ field: "pagination.offset", description: expect.stringContaining("cursor") }]);

    const valid = await rpc("Validate", key, { id: writer.id });
    expect(valid.status).toBe(200);
    expect(valid.json.origin).toEqual(writer);
    expect(valid.json.validation).toEqual({ success: true, can_read: true, can_write: true, read_error: "", write_error: "", validated_at: expect.stringMatching(RFC3339) });
    // Only the declared permission is checked.
    expect((await rpc("Validate", key, { id: reader.id })).json.validation).toMatchObject({ success: true, can_read: true, can_write: false, write_error: "" });

    // Permission drift: the bucket is gone, and Validate says so without changing the origin.
    expect((await s3.fetch(`${S3}/${reader.s3.bucket}`, { method: "DELETE" })).status).toBe(204);
    const drift = await rpc("Validate", key, { id: reader.id });
    expect(drift.status).toBe(200);
    expect(drift.json.validation).toMatchObject({ success: false, can_read: false, can_write: false, read_error: expect.stringContaining(reader.s3.bucket) });

    const archived = await rpc("Archive", key, { id: writer.id });
    expect(archived.status).toBe(200);
    expect(archived.json.origin).toEqual({ ...writer, status: "archived", updated_at: expect.stringMatching(RFC3339), archived_at: archived.json.origin.updated_at });
    // Archiving deletes: the origin and its credentials are gone from Kiln, in both APIs.
    expect((await rpc("Get", key, { id: writer.id })).status).toBe(404);
    expect((await call(`/v1/origins/${writer.id}`, { key })).status).toBe(404);
    expect((await rpc("Archive", key, { id: writer.id })).json.code).toBe("not_found");
    expect((await rpc("List", key, {})).json.origins.map((o: any) => o.id)).toEqual([reader.id]);
  });

  it("answers Connect errors: not_found, another org's origin, a malformed id, no key, Update and unknown methods", async () => {
    const owner = await seedOrg();
    const other = await seedOrg();
    const origin = await createOrigin(owner.key);

    const missing = await rpc("Get", owner.key, { id: "ori_aaaaaaaaaaaaaaaaaaaa" });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: "not_found", message: "No origin ori_aaaaaaaaaaaaaaaaaaaa" });
    for (const method of ["Get", "Validate", "Archive"]) {
      const res = await rpc(method, other.key, { id: origin.id });
      expect(res.status, method).toBe(404);
      expect(res.json.code).toBe("not_found");
    }
    expect((await rpc("List", other.key, {})).json.origins).toEqual([]);
    expect((await rpc("Get", owner.key, { id: origin.id })).status).toBe(200);

    const malformed = await rpc("Get", owner.key, { id: "job_abc" });
    expect(malformed.status).toBe(400);
    expect(violations(malformed.json)).toEqual([{ field: "id", description: "an origin id (ori_…)" }]);
    expect(violations((await rpc("Get", owner.key, {})).json)).toEqual([{ field: "id", description: "id is required" }]);

    const anonymous = await rpc("Get", null, { id: origin.id });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.code).toBe("unauthenticated");
    expect((await rpc("Get", "sk_test_nope", { id: origin.id })).json.code).toBe("unauthenticated");
    // X-Organization-ID naming an organization the key does not belong to.
    const foreign = await rpc("Get", owner.key, { id: origin.id }, { "x-organization-id": other.orgId });
    expect(foreign.status).toBe(403);
    expect(foreign.json.code).toBe("permission_denied");

    const update = await rpc("Update", owner.key, { id: origin.id, name: "new" });
    expect(update.status).toBe(501);
    expect(update.json).toMatchObject({ code: "unimplemented", message: expect.stringContaining("Archive") });
    expect((await rpc("Delete", owner.key, { id: origin.id })).json.code).toBe("unimplemented");
    expect((await call(`/transcodely.v1.OriginService/Get`, { key: owner.key })).status).toBe(501);

    const notJson = await call("/transcodely.v1.OriginService/Get", { key: owner.key, rawBody: "{not json" });
    expect(notJson.status).toBe(400);
    expect(notJson.json.code).toBe("invalid_argument");
    // The depth guard every Transcodely service reads its message through (json-message.ts).
    const deep = await call("/transcodely.v1.OriginService/Get", { key: owner.key, rawBody: `{"id":${"[".repeat(20_000)}${"]".repeat(20_000)}}` });
    expect(deep.status).toBe(400);
    expect(deep.json).toMatchObject({ code: "invalid_argument", message: "the request message nests more than 32 levels deep" });
  });

  it("keeps an organization's key to what its statements allow", async () => {
    const reader = await seedOrg([{ effect: "allow", actions: ["origins:get", "origins:list"], resources: ["*"] }]);
    const res = await rpc("Create", reader.key, { name: "x", permissions: ["read"], s3: s3Config(await newBucket()) });
    expect(res.status).toBe(403);
    expect(res.json.code).toBe("permission_denied");
    expect((await rpc("List", reader.key, {})).status).toBe(200);
  });
});
