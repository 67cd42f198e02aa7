import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { AwsV4Signer } from "aws4fetch";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { app } from "../../worker/app";
import { OriginKeyError, decryptCredentials, encryptCredentials, originKey } from "../../worker/origins/crypto";
import { OriginPresignError, presignOriginUrl } from "../../worker/origins/s3";
import { findOrigin, type OriginRow } from "../../worker/origins/store";
import { endpointRefusal } from "../../worker/origins/validation";
import { call, seedOrg } from "./helpers";

/*
 * The S3 side of origins, played at the outbound fetch boundary for the fake hosts
 * only (workerd cannot run an S3 server). The fake checks what a real S3 checks first:
 * a SigV4 Authorization header naming a known access key, a signature that matches the
 * key's secret (recomputed here with the request's own x-amz-date), then the bucket;
 * s3rver, the real S3 server the other origin tests use (origin-jobs.test.ts, e2e),
 * checks no signatures, so a wrong secret is only caught here.
 */
const FAKE_ENDPOINT = "https://s3.fake-origin.test";
const FAKE_HOSTS = new Set(["s3.fake-origin.test", "storage.googleapis.com", "s3.us-east-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"]);
const ACCESS_KEY_ID = "AKIAFAKEORIGIN000001";
const SECRET = "fake-origin-secret-Zq9wX7vT2sR4pL6nK8mJ";

interface FakeBucket {
  /** Permissions the known key has on this bucket. */
  grants: Set<"read" | "write">;
  objects: Map<string, string>;
  /** Overrides every answer (a status, an S3 error code) or throws (a network failure). */
  answer?: { status: number; code?: string } | "network-error";
}
const buckets = new Map<string, FakeBucket>();
const keys = new Map([[ACCESS_KEY_ID, SECRET]]);
const seen: { method: string; url: URL; headers: Record<string, string> }[] = [];
const realFetch = globalThis.fetch;

const xmlError = (status: number, code: string) =>
  new Response(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>fake</Message></Error>`, {
    status,
    headers: { "content-type": "application/xml" },
  });

async function playS3(request: Request): Promise<Response> {
  const url = new URL(request.url);
  seen.push({ method: request.method, url, headers: Object.fromEntries(request.headers) });
  const auth = request.headers.get("authorization") ?? "";
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!match) return xmlError(403, "AccessDenied");
  const [, keyId, , region, , signature] = match;
  const secret = keys.get(keyId!);
  if (!secret) return xmlError(403, "InvalidAccessKeyId");
  const unsigned = new Headers(request.headers);
  unsigned.delete("authorization");
  const expected = await new AwsV4Signer({
    method: request.method,
    url: request.url,
    headers: unsigned,
    accessKeyId: keyId!,
    secretAccessKey: secret,
    service: "s3",
    region,
    datetime: request.headers.get("x-amz-date")!,
  }).sign();
  if (!expected.headers.get("authorization")!.endsWith(`Signature=${signature}`)) return xmlError(403, "SignatureDoesNotMatch");
  const [, bucketName, ...rest] = url.pathname.split("/");
  const bucket = buckets.get(decodeURIComponent(bucketName!));
  if (!bucket) return xmlError(404, "NoSuchBucket");
  if (bucket.answer === "network-error") throw new TypeError("Network connection lost.");
  if (bucket.answer) return bucket.answer.code ? xmlError(bucket.answer.status, bucket.answer.code) : new Response(null, { status: bucket.answer.status });
  const key = rest.map(decodeURIComponent).join("/");
  if (request.method === "GET" && key === "") {
    if (!bucket.grants.has("read")) return xmlError(403, "AccessDenied");
    return new Response("<ListBucketResult><KeyCount>0</KeyCount></ListBucketResult>", { status: 200 });
  }
  if (request.method === "PUT" || request.method === "DELETE") {
    if (!bucket.grants.has("write")) return xmlError(403, "AccessDenied");
    if (request.method === "PUT") bucket.objects.set(key, await request.text());
    else bucket.objects.delete(key);
    return new Response(null, { status: request.method === "PUT" ? 200 : 204 });
  }
  return xmlError(400, "InvalidRequest");
}

beforeAll(() => {
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (!FAKE_HOSTS.has(new URL(request.url).hostname)) return realFetch(input, init);
    return playS3(request);
  });
});
afterAll(() => {
  vi.restoreAllMocks();
});
beforeEach(() => {
  seen.length = 0;
});

function bucket(grants: ("read" | "write")[] = ["read", "write"], extra: Partial<FakeBucket> = {}): string {
  const name = `kiln-${crypto.randomUUID().slice(0, 8)}`;
  buckets.set(name, { grants: new Set(grants), objects: new Map(), ...extra });
  return name;
}

const originBody = (extra: Record<string, unknown> = {}) => ({
  name: "Marketing",
  provider: "s3",
  bucket: bucket(),
  path: "videos/in",
  endpoint: FAKE_ENDPOINT,
  credentials: { access_key_id: ACCESS_KEY_ID, secret_access_key: SECRET },
  permissions: ["read", "write"],
  ...extra,
});

/** Neither half of the credentials may appear anywhere in a response. */
function expectNoCredentials(text: string) {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(ACCESS_KEY_ID);
  expect(text).not.toContain("wrong-secret");
  expect(text).not.toContain("AKIAUNKNOWN");
}

async function createOrigin(key: string, body: Record<string, unknown> = originBody()) {
  const res = await call("/v1/origins", { key, body });
  expectNoCredentials(res.text);
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function storedRow(id: string): Promise<Record<string, unknown>> {
  return (await env.DB.prepare("SELECT * FROM origins WHERE id = ?").bind(id).first())!;
}

describe("POST /v1/origins", () => {
  it("checks read and write with SigV4-signed requests, then stores the origin with encrypted credentials", async () => {
    const { orgId, key } = await seedOrg();
    const body = originBody();
    const origin = await createOrigin(key, body);
    expect(origin).toEqual({
      id: expect.stringMatching(/^ori_[a-z0-9]{20}$/),
      object: "origin",
      name: "Marketing",
      provider: "s3",
      bucket: body.bucket,
      path: "videos/in",
      region: "us-east-1",
      endpoint: FAKE_ENDPOINT,
      permissions: ["read", "write"],
      created_at: expect.any(String),
    });

    expect(seen.map((r) => r.method)).toEqual(["GET", "PUT", "DELETE"]);
    for (const request of seen) {
      expect(request.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/\\d{8}/us-east-1/s3/aws4_request, SignedHeaders=[^ ]*host[^ ]*, Signature=[0-9a-f]{64}$`));
      expect(request.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
      expect(request.headers.authorization).not.toContain(SECRET);
    }
    const [list, put, del] = seen;
    expect(list!.url.pathname).toBe(`/${body.bucket}`);
    expect(Object.fromEntries(list!.url.searchParams)).toEqual({ "list-type": "2", "max-keys": "1", prefix: "videos/in/" });
    expect(put!.url.pathname).toMatch(new RegExp(`^/${body.bucket}/videos/in/\\.kiln-origin-check-[0-9a-f-]{36}$`));
    expect(del!.url.pathname).toBe(put!.url.pathname);
    expect(buckets.get(body.bucket as string)!.objects.size).toBe(0);

    const row = await storedRow(origin.id);
    expect(row.org_id).toBe(orgId);
    expect(JSON.stringify(row)).not.toContain(SECRET);
    expect(JSON.stringify(row)).not.toContain(ACCESS_KEY_ID);
    expect(row.credentials).toMatch(/^v1\.[A-Za-z0-9+/=]{16}\.[A-Za-z0-9+/=]+$/);
    const stored = (await findOrigin(env.DB, orgId, origin.id))!;
    expect(await decryptCredentials(env, { orgId, originId: origin.id }, stored.credentials)).toEqual({ access_key_id: ACCESS_KEY_ID, secret_access_key: SECRET });
  });

  it("checks only what is granted: read lists, write puts and deletes", async () => {
    const { key } = await seedOrg();
    await createOrigin(key, originBody({ bucket: bucket(["read"]), permissions: ["read"], path: undefined }));
    expect(seen.map((r) => r.method)).toEqual(["GET"]);
    expect(seen[0]!.url.searchParams.has("prefix")).toBe(false);
    seen.length = 0;
    await createOrigin(key, originBody({ bucket: bucket(["write"]), permissions: ["write"] }));
    expect(seen.map((r) => r.method)).toEqual(["PUT", "DELETE"]);
  });

  it("normalizes path and endpoint, and defaults the region per provider", async () => {
    const { key } = await seedOrg();
    const origin = await createOrigin(key, originBody({ path: "/a/b/", endpoint: `${FAKE_ENDPOINT}/`, region: "eu-west-1" }));
    expect(origin).toMatchObject({ path: "a/b", endpoint: FAKE_ENDPOINT, region: "eu-west-1" });
    expect(seen[0]!.headers.authorization).toContain("/eu-west-1/s3/aws4_request");
    const root = await createOrigin(key, originBody({ path: "/" }));
    expect(root.path).toBeNull();
  });

  it("reaches AWS S3 at its regional endpoint when none is given", async () => {
    const { key } = await seedOrg();
    const origin = await createOrigin(key, originBody({ endpoint: undefined, region: "eu-west-1" }));
    expect(origin.endpoint).toBeNull();
    expect(seen[0]!.url.origin).toBe("https://s3.eu-west-1.amazonaws.com");
  });

  it("reaches GCS through its S3-compatible endpoint with an HMAC key", async () => {
    const { key } = await seedOrg();
    const origin = await createOrigin(key, originBody({ provider: "gcs", bucket: bucket(), endpoint: undefined }));
    expect(origin).toMatchObject({ provider: "gcs", region: "auto", endpoint: null });
    expect(seen[0]!.url.origin).toBe("https://storage.googleapis.com");
    expect(seen[0]!.headers.authorization).toContain(`Credential=${ACCESS_KEY_ID}/`);
    expect(seen[0]!.headers.authorization).toContain("/auto/s3/aws4_request");
  });

  it("accepts an R2 origin at its account endpoint", async () => {
    const { key } = await seedOrg();
    const origin = await createOrigin(key, originBody({ provider: "r2" }));
    expect(origin).toMatchObject({ provider: "r2", region: "auto", endpoint: FAKE_ENDPOINT });
  });

  const refused: [string, () => Record<string, unknown>, string, RegExp][] = [
    ["an unknown access key id", () => originBody({ credentials: { access_key_id: "AKIAUNKNOWN000000001", secret_access_key: SECRET } }), "origin_access_denied", /InvalidAccessKeyId/],
    ["a wrong secret", () => originBody({ credentials: { access_key_id: ACCESS_KEY_ID, secret_access_key: "wrong-secret-0000000000000000000000" } }), "origin_access_denied", /SignatureDoesNotMatch/],
    ["a key that may not list", () => originBody({ bucket: bucket(["write"]) }), "origin_access_denied", /AccessDenied on list/],
    ["a key that may not write", () => originBody({ bucket: bucket(["read"]) }), "origin_access_denied", /AccessDenied on write/],
    ["a bare 403", () => originBody({ bucket: bucket(["read"], { answer: { status: 403 } }) }), "origin_access_denied", /HTTP 403/],
    ["a bucket that does not exist", () => originBody({ bucket: "kiln-no-such-bucket" }), "origin_not_found", /does not exist/],
    ["a bare 404", () => originBody({ bucket: bucket(["read"], { answer: { status: 404 } }) }), "origin_not_found", /does not exist/],
    ["a bucket in another region", () => originBody({ bucket: bucket(["read"], { answer: { status: 301, code: "PermanentRedirect" } }) }), "origin_unreachable", /another region/],
    ["a server error", () => originBody({ bucket: bucket(["read"], { answer: { status: 500, code: "InternalError" } }) }), "origin_unreachable", /InternalError/],
    ["a network failure", () => originBody({ bucket: bucket(["read"], { answer: "network-error" }) }), "origin_unreachable", /connection failed/],
  ];
  it.each(refused)("refuses %s with a 400 and stores nothing", async (_label, body, code, message) => {
    const { orgId, key } = await seedOrg();
    const res = await call("/v1/origins", { key, body: body() });
    expectNoCredentials(res.text);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe(code);
    expect(res.json.error.message).toMatch(message);
    expect(seen.length).toBeGreaterThan(0);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM origins WHERE org_id = ?").bind(orgId).first("n")).toBe(0);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ["no name", { name: undefined }, "name"],
    ["a blank name", { name: "   " }, "name"],
    ["a name over 100 characters", { name: "n".repeat(101) }, "name"],
    ["an unknown provider", { provider: "azure" }, "provider"],
    ["no provider", { provider: undefined }, "provider"],
    ["no bucket", { bucket: undefined }, "bucket"],
    ["an upper-case bucket", { bucket: "MyBucket" }, "bucket"],
    ["a two-character bucket", { bucket: "ab" }, "bucket"],
    ["a bucket with ..", { bucket: "a..b" }, "bucket"],
    ["a bucket like an IP address", { bucket: "192.168.1.1" }, "bucket"],
    ["an s3 bucket with _", { bucket: "my_bucket" }, "bucket"],
    ["a path with ..", { path: "videos/../secrets" }, "path"],
    ["a path with //", { path: "videos//in" }, "path"],
    ["a path with a backslash", { path: "videos\\in" }, "path"],
    ["a path with a control character", { path: "videos\u0001" }, "path"],
    ["a region with upper case", { region: "US-EAST-1" }, "region"],
    ["a region with a slash", { region: "us/east" }, "region"],
    ["an endpoint that is not a URL", { endpoint: "s3.example.com" }, "endpoint"],
    ["an ftp endpoint", { endpoint: "ftp://s3.example.com" }, "endpoint"],
    ["an endpoint with a path", { endpoint: "https://s3.example.com/bucket" }, "endpoint"],
    ["an endpoint with a query", { endpoint: "https://s3.example.com/?x=1" }, "endpoint"],
    ["an endpoint with user info", { endpoint: "https://user:pw@s3.example.com" }, "endpoint"],
    ["an http endpoint in production", { endpoint: "http://s3.fake-origin.test" }, "endpoint"],
    ["a loopback endpoint in production", { endpoint: "https://127.0.0.1:9000" }, "endpoint"],
    ["a localhost endpoint in production", { endpoint: "https://localhost:9000" }, "endpoint"],
    ["an r2 origin without endpoint", { provider: "r2", endpoint: undefined }, "endpoint"],
    ["no credentials", { credentials: undefined }, "credentials"],
    ["an empty access_key_id", { credentials: { access_key_id: "", secret_access_key: SECRET } }, "credentials.access_key_id"],
    ["a missing secret_access_key", { credentials: { access_key_id: ACCESS_KEY_ID } }, "credentials.secret_access_key"],
    ["a secret with a space", { credentials: { access_key_id: ACCESS_KEY_ID, secret_access_key: `${SECRET} x` } }, "credentials.secret_access_key"],
    ["a secret over 256 characters", { credentials: { access_key_id: ACCESS_KEY_ID, secret_access_key: SECRET.repeat(8) } }, "credentials.secret_access_key"],
    ["a numeric secret", { credentials: { access_key_id: ACCESS_KEY_ID, secret_access_key: 12345 } }, "credentials.secret_access_key"],
    ["an unknown credentials field", { credentials: { access_key_id: ACCESS_KEY_ID, secret_access_key: SECRET, session_token: "t" } }, "credentials"],
    ["an unknown top-level field", { acl: "public-read" }, ""],
    ["no permissions", { permissions: undefined }, "permissions"],
    ["empty permissions", { permissions: [] }, "permissions"],
    ["an unknown permission", { permissions: ["read", "admin"] }, "permissions.1"],
    ["a repeated permission", { permissions: ["read", "read"] }, "permissions"],
  ];
  it.each(invalid)("rejects %s (validation_error, no request to the bucket)", async (_label, patch, path) => {
    const { key } = await seedOrg();
    const res = await call("/v1/origins", { key, body: originBody(patch) });
    expectNoCredentials(res.text);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe("validation_error");
    expect(res.json.error.details.issues[0].path).toBe(path);
    expect(seen).toEqual([]);
  });

  it("accepts a GCS bucket name with _", async () => {
    const { key } = await seedOrg();
    const name = "kiln_gcs_bucket";
    buckets.set(name, { grants: new Set(["read", "write"]), objects: new Map() });
    expect((await createOrigin(key, originBody({ provider: "gcs", bucket: name, endpoint: undefined }))).bucket).toBe(name);
  });

  it("allows an http endpoint only outside production", () => {
    expect(endpointRefusal("http://127.0.0.1:4568", { KILN_ENV: "development" })).toBeNull();
    expect(endpointRefusal("http://127.0.0.1:4568", { KILN_ENV: "production" })).toMatch(/https/);
    expect(endpointRefusal("https://127.0.0.1:4568", { KILN_ENV: "production" })).toMatch(/loopback/);
    expect(endpointRefusal("https://abc.r2.cloudflarestorage.com", { KILN_ENV: "production" })).toBeNull();
  });

  it("refuses to operate without ORIGIN_CREDENTIALS_KEY, before contacting the bucket", async () => {
    const { key } = await seedOrg();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const request = new Request("https://kiln.test/v1/origins", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(originBody()),
      });
      const res = await app.fetch(request, { ...env, ORIGIN_CREDENTIALS_KEY: undefined }, createExecutionContext());
      const text = await res.text();
      expectNoCredentials(text);
      expect(res.status).toBe(500);
      expect(JSON.parse(text).error.message).toMatch(/ORIGIN_CREDENTIALS_KEY/);
      expect(seen).toEqual([]);
      expect(errors.mock.calls.join("\n")).toMatch(/wrangler secret put ORIGIN_CREDENTIALS_KEY/);
    } finally {
      errors.mockRestore();
    }
  });

  it("needs origins:create", async () => {
    const { key } = await seedOrg([{ effect: "allow", actions: ["origins:list", "origins:get"], resources: ["*"] }]);
    const res = await call("/v1/origins", { key, body: originBody() });
    expectNoCredentials(res.text);
    expect(res.status).toBe(403);
    expect(seen).toEqual([]);
  });
});

describe("GET / DELETE /v1/origins", () => {
  it("lists, retrieves and deletes an org's origins without ever returning credentials", async () => {
    const { key } = await seedOrg();
    const first = await createOrigin(key, originBody({ name: "first" }));
    const second = await createOrigin(key, originBody({ name: "second" }));

    const list = await call("/v1/origins", { key });
    expectNoCredentials(list.text);
    expect(list.status).toBe(200);
    expect(list.json.data.map((o: { id: string }) => o.id)).toEqual([second.id, first.id]);
    expect(list.json.data[0]).not.toHaveProperty("credentials");

    const page = await call("/v1/origins?limit=1", { key });
    expect(page.json).toMatchObject({ has_more: true, data: [{ id: second.id }] });
    const rest = await call(`/v1/origins?limit=1&cursor=${page.json.next_cursor}`, { key });
    expect(rest.json).toMatchObject({ has_more: false, next_cursor: null, data: [{ id: first.id }] });

    const got = await call(`/v1/origins/${first.id}`, { key });
    expectNoCredentials(got.text);
    expect(got.json).toEqual(first);

    const deleted = await call(`/v1/origins/${first.id}`, { key, method: "DELETE" });
    expectNoCredentials(deleted.text);
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual(first);
    expect(await env.DB.prepare("SELECT id FROM origins WHERE id = ?").bind(first.id).first()).toBeNull();
    expect((await call(`/v1/origins/${first.id}`, { key })).status).toBe(404);
    expect((await call(`/v1/origins/${first.id}`, { key, method: "DELETE" })).status).toBe(404);
    expect((await call("/v1/origins", { key })).json.data.map((o: { id: string }) => o.id)).toEqual([second.id]);
  });

  it("keeps organizations apart: another org's origin is 404 and never listed", async () => {
    const mine = await seedOrg();
    const theirs = await seedOrg();
    const origin = await createOrigin(mine.key);
    for (const method of ["GET", "DELETE"]) {
      const res = await call(`/v1/origins/${origin.id}`, { key: theirs.key, method });
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
    expect((await call("/v1/origins", { key: theirs.key })).json.data).toEqual([]);
    expect((await call(`/v1/origins/${origin.id}`, { key: mine.key })).status).toBe(200);
  });

  it("answers 404 for ids of the wrong shape and 400 for a bad page", async () => {
    const { key } = await seedOrg();
    expect((await call("/v1/origins/vid_abc", { key })).status).toBe(404);
    expect((await call("/v1/origins?limit=0", { key })).json.error.code).toBe("validation_error");
    expect((await call("/v1/origins?limit=101", { key })).json.error.code).toBe("validation_error");
    expect((await call("/v1/origins?cursor=nope", { key })).json.error.code).toBe("validation_error");
  });

  it("needs the matching permission for each action", async () => {
    const owner = await seedOrg();
    const origin = await createOrigin(owner.key);
    const reader = await seedOrg([{ effect: "allow", actions: ["origins:get"], resources: [`origins/${origin.id}`] }], [owner.orgId]);
    const headers = { "x-organization-id": owner.orgId };
    expect((await call(`/v1/origins/${origin.id}`, { key: reader.key, headers })).status).toBe(200);
    expect((await call("/v1/origins", { key: reader.key, headers })).status).toBe(403);
    expect((await call(`/v1/origins/${origin.id}`, { key: reader.key, headers, method: "DELETE" })).status).toBe(403);
  });
});

describe("origin credentials at rest", () => {
  const binding = { orgId: "org_a", originId: "ori_a" };
  const creds = { access_key_id: ACCESS_KEY_ID, secret_access_key: SECRET };

  it("round-trips through AES-GCM with a fresh IV per record", async () => {
    const one = await encryptCredentials(env, binding, creds);
    const two = await encryptCredentials(env, binding, creds);
    expect(one).not.toBe(two);
    expect(one.split(".")[1]).not.toBe(two.split(".")[1]);
    expect(atob(one.split(".")[1]!).length).toBe(12);
    expect(one).not.toContain(SECRET);
    expect(await decryptCredentials(env, binding, one)).toEqual(creds);
  });

  it("binds a record to its org and origin, and detects tampering", async () => {
    const sealed = await encryptCredentials(env, binding, creds);
    await expect(decryptCredentials(env, { orgId: "org_b", originId: "ori_a" }, sealed)).rejects.toThrow(OriginKeyError);
    await expect(decryptCredentials(env, { orgId: "org_a", originId: "ori_b" }, sealed)).rejects.toThrow(OriginKeyError);
    const [v, iv, ct] = sealed.split(".");
    const flipped = ct!.startsWith("A") ? `B${ct!.slice(1)}` : `A${ct!.slice(1)}`;
    await expect(decryptCredentials(env, binding, `${v}.${iv}.${flipped}`)).rejects.toThrow(OriginKeyError);
    const otherKey = { ORIGIN_CREDENTIALS_KEY: btoa(String.fromCharCode(...new Uint8Array(32).fill(7))) };
    await expect(decryptCredentials(otherKey, binding, sealed)).rejects.toThrow(/wrong key/);
  });

  it("refuses a missing or malformed key with a clear error that does not echo it", () => {
    expect(() => originKey({})).toThrow(/ORIGIN_CREDENTIALS_KEY is not set/);
    expect(() => originKey({ ORIGIN_CREDENTIALS_KEY: "" })).toThrow(OriginKeyError);
    expect(() => originKey({ ORIGIN_CREDENTIALS_KEY: btoa("sixteen-byte-key") })).toThrow(/exactly 32 bytes/);
    expect(() => originKey({ ORIGIN_CREDENTIALS_KEY: "not base64 !!" })).toThrow(/exactly 32 bytes/);
    try {
      originKey({ ORIGIN_CREDENTIALS_KEY: "c2hvcnQta2V5LXZhbHVl" });
    } catch (err) {
      expect(String(err)).not.toContain("c2hvcnQta2V5LXZhbHVl");
    }
  });
});

describe("presignOriginUrl", () => {
  async function storedOrigin(permissions: ("read" | "write")[] = ["read", "write"]): Promise<OriginRow> {
    const { orgId, key } = await seedOrg();
    const origin = await createOrigin(key, originBody({ permissions }));
    return (await findOrigin(env.DB, orgId, origin.id))!;
  }

  it("query-signs a GET under the origin's path", async () => {
    const origin = await storedOrigin();
    const url = new URL(await presignOriginUrl(env, origin, { method: "GET", key: "clips/in 1.mp4", expiresInSeconds: 600 }));
    expect(url.origin).toBe(FAKE_ENDPOINT);
    expect(url.pathname).toBe(`/${origin.bucket}/videos/in/clips/in%201.mp4`);
    expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("600");
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(new RegExp(`^${ACCESS_KEY_ID}/\\d{8}/us-east-1/s3/aws4_request$`));
    expect(url.toString()).not.toContain(SECRET);
  });

  it("query-signs a PUT for a writable origin", async () => {
    const origin = await storedOrigin(["write"]);
    const url = new URL(await presignOriginUrl(env, origin, { method: "PUT", key: "out/job_1/video.mp4", expiresInSeconds: 3600 }));
    expect(url.searchParams.get("X-Amz-Expires")).toBe("3600");
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses what the origin is not granted, unsafe keys and out-of-range expiry", async () => {
    const readOnly = await storedOrigin(["read"]);
    await expect(presignOriginUrl(env, readOnly, { method: "PUT", key: "a.mp4", expiresInSeconds: 60 })).rejects.toThrow(OriginPresignError);
    const writeOnly = await storedOrigin(["write"]);
    await expect(presignOriginUrl(env, writeOnly, { method: "GET", key: "a.mp4", expiresInSeconds: 60 })).rejects.toThrow(/not granted read/);
    await expect(presignOriginUrl(env, readOnly, { method: "GET", key: "../a.mp4", expiresInSeconds: 60 })).rejects.toThrow(OriginPresignError);
    await expect(presignOriginUrl(env, readOnly, { method: "GET", key: "/a.mp4", expiresInSeconds: 60 })).rejects.toThrow(OriginPresignError);
    await expect(presignOriginUrl(env, readOnly, { method: "GET", key: "a.mp4", expiresInSeconds: 0 })).rejects.toThrow(OriginPresignError);
    await expect(presignOriginUrl(env, readOnly, { method: "GET", key: "a.mp4", expiresInSeconds: 7 * 24 * 3600 + 1 })).rejects.toThrow(OriginPresignError);
  });
});
