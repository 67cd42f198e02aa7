import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { TranscodeOrderInput } from "../../encoder/contract";
import { buildWorkOrder } from "../../worker/dispatch/work-order";
import type { JobState } from "../../worker/jobs/job-state";
import { call, jobDO, seedOrg, videoJob } from "./helpers";

const bytes = (n: number, seed = 1) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
};

async function raw(url: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(url, init));
}

async function putFile(url: string, data: Uint8Array, contentType = "video/mp4"): Promise<Response> {
  return raw(url, { method: "PUT", body: data, headers: { "content-type": contentType, "content-length": String(data.byteLength) } });
}

async function createUpload(key: string, body: Record<string, unknown> = { content_type: "video/mp4", filename: "clip.mp4", max_bytes: 1024 * 1024 }) {
  const res = await call("/v1/uploads", { key, body });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function readyUpload(key: string, data = bytes(4096)) {
  const upload = await createUpload(key);
  expect((await putFile(upload.upload_url, data)).status).toBe(201);
  const got = await call(`/v1/uploads/${upload.id}`, { key });
  expect(got.json.status).toBe("ready");
  return { upload: got.json, data };
}

function stateOf(jobId: string): Promise<JobState> {
  return runInDurableObject(jobDO(jobId), (_instance, state) => {
    const row = state.storage.sql.exec<{ body: string }>("SELECT body FROM doc WHERE name = 'job'").one();
    return JSON.parse(row.body) as JobState;
  });
}

describe("POST /v1/uploads", () => {
  it("creates a waiting upload with a signed, constrained PUT URL", async () => {
    const { orgId, key } = await seedOrg();
    const upload = await createUpload(key, { content_type: "Video/MP4", filename: "my clip.mp4", max_bytes: 2048 });
    expect(upload).toMatchObject({ object: "upload", protocol: "put", status: "waiting", filename: "my clip.mp4", content_type: "video/mp4", size_bytes: null, max_bytes: 2048 });
    expect(upload.id).toMatch(/^vid_[a-z0-9]{20}$/);
    expect(Date.parse(upload.expires_at)).toBeGreaterThan(Date.now());
    const url = new URL(upload.upload_url);
    expect(url.origin).toBe("https://kiln.test");
    expect(url.pathname).toBe(`/storage/uploads/${orgId}/${upload.id}/my%20clip.mp4`);
    expect(url.searchParams.get("method")).toBe("PUT");
    expect(url.searchParams.get("max")).toBe("2048");
    expect(url.searchParams.get("ctype")).toBe("video/mp4");
  });

  it("defaults max_bytes to 5 GiB and the file name to 'file'", async () => {
    const { orgId, key } = await seedOrg();
    const upload = await createUpload(key, { content_type: "video/quicktime" });
    expect(upload.max_bytes).toBe(5 * 1024 ** 3);
    expect(upload.filename).toBeNull();
    expect(new URL(upload.upload_url).pathname).toBe(`/storage/uploads/${orgId}/${upload.id}/file`);
  });

  it("accepts max_bytes of exactly 50 GiB", async () => {
    const { key } = await seedOrg();
    expect((await createUpload(key, { content_type: "video/mp4", max_bytes: 50 * 1024 ** 3 })).max_bytes).toBe(50 * 1024 ** 3);
  });

  const invalid: [string, unknown, string][] = [
    ["no content_type", { filename: "a.mp4" }, "validation_error"],
    ["a text/html content_type", { content_type: "text/html" }, "validation_error"],
    ["a content_type with parameters", { content_type: "video/mp4; codecs=avc1" }, "validation_error"],
    ["a content_type that is not a type", { content_type: "mp4" }, "validation_error"],
    ["a numeric content_type", { content_type: 4 }, "validation_error"],
    ["max_bytes 0", { content_type: "video/mp4", max_bytes: 0 }, "validation_error"],
    ["negative max_bytes", { content_type: "video/mp4", max_bytes: -1 }, "validation_error"],
    ["fractional max_bytes", { content_type: "video/mp4", max_bytes: 1.5 }, "validation_error"],
    ["max_bytes over 50 GiB", { content_type: "video/mp4", max_bytes: 50 * 1024 ** 3 + 1 }, "validation_error"],
    ["max_bytes as a string", { content_type: "video/mp4", max_bytes: "10" }, "validation_error"],
    ["a filename with a slash", { content_type: "video/mp4", filename: "a/b.mp4" }, "validation_error"],
    ["a filename of ..", { content_type: "video/mp4", filename: ".." }, "validation_error"],
    ["a filename of .", { content_type: "video/mp4", filename: "." }, "validation_error"],
    ["a filename with a control character", { content_type: "video/mp4", filename: "a\nb.mp4" }, "validation_error"],
    ["a filename with a backslash", { content_type: "video/mp4", filename: "a\\b.mp4" }, "validation_error"],
    // Found by the fuzz suite: no URL path can carry it, and signing the upload URL threw (a 500).
    ["a filename with a lone surrogate", { content_type: "video/mp4", filename: "a\ud800.mp4" }, "validation_error"],
    ["an empty filename", { content_type: "video/mp4", filename: "" }, "validation_error"],
    ["a filename over 200 characters", { content_type: "video/mp4", filename: `${"a".repeat(201)}` }, "validation_error"],
    ["an unknown field", { content_type: "video/mp4", size: 3 }, "validation_error"],
    ["an array body", [], "validation_error"],
  ];
  it.each(invalid)("rejects %s", async (_name, body, code) => {
    const { key } = await seedOrg();
    const res = await call("/v1/uploads", { key, body });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe(code);
  });

  it("rejects a body that is not JSON, or not declared as JSON", async () => {
    const { key } = await seedOrg();
    expect((await call("/v1/uploads", { key, rawBody: "{nope" })).json.error.code).toBe("invalid_json");
    const res = await call("/v1/uploads", { key, rawBody: "content_type=video/mp4", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(415);
  });

  it("needs an API key allowed uploads:create", async () => {
    expect((await call("/v1/uploads", { body: { content_type: "video/mp4" } })).status).toBe(401);
    const { key } = await seedOrg([{ effect: "allow", actions: ["jobs:*", "uploads:get"], resources: ["*"] }]);
    const res = await call("/v1/uploads", { key, body: { content_type: "video/mp4" } });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("forbidden");
  });
});

describe("the direct upload lifecycle", () => {
  it("PUT through the signed URL, then GET shows ready with size and etag", async () => {
    const { key } = await seedOrg();
    const upload = await createUpload(key);
    const data = bytes(300_000);
    const put = await putFile(upload.upload_url, data);
    expect(put.status).toBe(201);
    const got = await call(`/v1/uploads/${upload.id}`, { key });
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: upload.id, status: "ready", size_bytes: 300_000, bytes_received: 300_000, content_type: "video/mp4" });
    expect(got.json.etag).toMatch(/^".+"$/);
    expect(got.json.completed_at).toEqual(expect.any(String));
    expect(got.json.upload_url).toBeUndefined();
  });

  it("stays waiting until the PUT lands", async () => {
    const { key } = await seedOrg();
    const upload = await createUpload(key);
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json).toMatchObject({ status: "waiting", size_bytes: null });
  });

  it("refuses a PUT with another Content-Type, over max_bytes, or with a tampered URL", async () => {
    const { key } = await seedOrg();
    const upload = await createUpload(key, { content_type: "video/mp4", max_bytes: 1000 });
    const wrongType = await putFile(upload.upload_url, bytes(10), "video/webm");
    expect(wrongType.status).toBe(415);
    const tooBig = await putFile(upload.upload_url, bytes(1001));
    expect(tooBig.status).toBe(413);
    const tampered = new URL(upload.upload_url);
    tampered.searchParams.set("max", "999999999");
    expect((await putFile(tampered.toString(), bytes(2000))).status).toBe(403);
    const elsewhere = new URL(upload.upload_url);
    elsewhere.pathname = elsewhere.pathname.replace(/[^/]+$/, "other.mp4");
    expect((await putFile(elsewhere.toString(), bytes(10))).status).toBe(403);
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.status).toBe("waiting");
    expect((await putFile(upload.upload_url, bytes(1000))).status).toBe(201);
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json).toMatchObject({ status: "ready", size_bytes: 1000 });
  });

  it("expires when nothing was uploaded in time", async () => {
    const { key } = await seedOrg();
    const upload = await createUpload(key);
    await env.DB.prepare("UPDATE uploads SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), upload.id).run();
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.status).toBe("expired");
  });

  it("DELETE removes the object and marks the upload deleted", async () => {
    const { key } = await seedOrg();
    const { upload } = await readyUpload(key);
    const row = await env.DB.prepare("SELECT key FROM uploads WHERE id = ?").bind(upload.id).first<{ key: string }>();
    expect(await env.MEDIA.head(row!.key)).not.toBeNull();
    const deleted = await call(`/v1/uploads/${upload.id}`, { key, method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toMatchObject({ status: "deleted", deleted_at: expect.any(String) });
    expect(await env.MEDIA.head(row!.key)).toBeNull();
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.status).toBe("deleted");
    expect((await call(`/v1/uploads/${upload.id}`, { key, method: "DELETE" })).status).toBe(404);
  });
});

describe("GET /v1/uploads", () => {
  it("lists newest first with a cursor, hiding deleted uploads unless asked", async () => {
    const { key } = await seedOrg();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await createUpload(key, { content_type: "video/mp4" })).id);
      await new Promise((r) => setTimeout(r, 2));
    }
    await call(`/v1/uploads/${ids[0]}`, { key, method: "DELETE" });
    const first = await call("/v1/uploads?limit=2", { key });
    expect(first.status).toBe(200);
    expect(first.json.data.map((u: { id: string }) => u.id)).toEqual([ids[4], ids[3]]);
    expect(first.json.has_more).toBe(true);
    const second = await call(`/v1/uploads?limit=2&cursor=${first.json.next_cursor}`, { key });
    expect(second.json.data.map((u: { id: string }) => u.id)).toEqual([ids[2], ids[1]]);
    expect(second.json.has_more).toBe(false);
    expect(second.json.next_cursor).toBeNull();
    const deleted = await call("/v1/uploads?status=deleted", { key });
    expect(deleted.json.data.map((u: { id: string }) => u.id)).toEqual([ids[0]]);
  });

  it.each([
    ["limit=0", "validation_error"],
    ["limit=101", "validation_error"],
    ["limit=abc", "validation_error"],
    ["status=done", "validation_error"],
    ["cursor=not-a-cursor", "validation_error"],
  ])("rejects %s", async (query, code) => {
    const { key } = await seedOrg();
    const res = await call(`/v1/uploads?${query}`, { key });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(code);
  });
});

describe("isolation", () => {
  it("another organization's upload is not found, for every route", async () => {
    const { key } = await seedOrg();
    const other = await seedOrg();
    const { upload } = await readyUpload(key);
    expect((await call(`/v1/uploads/${upload.id}`, { key: other.key })).status).toBe(404);
    expect((await call(`/v1/uploads/${upload.id}`, { key: other.key, method: "DELETE" })).status).toBe(404);
    expect((await call("/v1/uploads", { key: other.key })).json.data).toEqual([]);
    const job = await call("/v1/jobs", { key: other.key, body: videoJob({ input: upload.id }) });
    expect(job.status).toBe(400);
    expect(job.json.error.code).toBe("upload_not_found");
    expect((await call(`/v1/uploads/${upload.id}`, { key })).json.status).toBe("ready");
  });

  it("a malformed id is a 404", async () => {
    const { key } = await seedOrg();
    for (const id of ["vid_", "vid_UPPER", "job_aaaaaaaaaaaaaaaaaaaa", "x".repeat(300)]) {
      expect((await call(`/v1/uploads/${id}`, { key })).status, id).toBe(404);
    }
  });

  it("a key limited to some uploads is refused the others", async () => {
    const { key, orgId } = await seedOrg();
    const { upload } = await readyUpload(key);
    const limited = await seedOrg([{ effect: "allow", actions: ["uploads:get"], resources: ["uploads/vid_nothing"] }], [orgId]);
    const res = await call(`/v1/uploads/${upload.id}`, { key: limited.key, headers: { "x-organization-id": orgId } });
    expect(res.status).toBe(403);
  });
});

describe("an upload as a job input", () => {
  it("is refused at creation when missing, not ready, expired or deleted", async () => {
    const { key } = await seedOrg();
    const missing = await call("/v1/jobs", { key, body: videoJob({ input: "vid_doesnotexist" }) });
    expect(missing.status).toBe(400);
    expect(missing.json.error.code).toBe("upload_not_found");

    const waiting = await createUpload(key);
    const notReady = await call("/v1/jobs", { key, body: videoJob({ input: waiting.id }) });
    expect(notReady.status).toBe(400);
    expect(notReady.json.error.code).toBe("upload_not_ready");

    await env.DB.prepare("UPDATE uploads SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), waiting.id).run();
    expect((await call("/v1/jobs", { key, body: videoJob({ input: waiting.id }) })).json.error.code).toBe("upload_not_ready");

    const { upload } = await readyUpload(key);
    await call(`/v1/uploads/${upload.id}`, { key, method: "DELETE" });
    expect((await call("/v1/jobs", { key, body: videoJob({ input: upload.id }) })).json.error.code).toBe("upload_not_found");
  });

  it("is refused at resubmission once the upload is gone, before any job is made", async () => {
    const { key } = await seedOrg();
    const { upload } = await readyUpload(key);
    const job = await call("/v1/jobs", { key, body: videoJob({ input: upload.id }) });
    expect(job.status).toBe(201);
    await call(`/v1/uploads/${upload.id}`, { key, method: "DELETE" });
    const before = (await call("/v1/jobs", { key })).json.data.length;
    const again = await call(`/v1/jobs/${job.json.id}/resubmit`, { key, method: "POST" });
    expect(again.status).toBe(400);
    expect(again.json.error).toMatchObject({ code: "upload_not_found", details: { input: upload.id } });
    expect((await call("/v1/jobs", { key })).json.data.length).toBe(before);
  });

  it("becomes a signed /storage GET URL in the work order that serves the bytes with Range", async () => {
    const { key } = await seedOrg();
    const data = bytes(100_000, 7);
    const upload = await createUpload(key);
    expect((await putFile(upload.upload_url, data)).status).toBe(201);
    // Created straight after the PUT: the create route itself sees the object and accepts it.
    const job = await call("/v1/jobs", { key, body: videoJob({ input: upload.id }) });
    expect(job.status, job.text).toBe(201);
    expect(job.json.input).toBe(upload.id);

    const orders = await vi.waitFor(
      async () => {
        const list = (await (await fetch(`${env.ENCODER_URL}/orders/${job.json.id}`)).json()) as { input: { url: string } }[];
        expect(list.length).toBe(1);
        return list;
      },
      { timeout: 5000, interval: 50 },
    );
    const inputUrl = new URL(orders[0]!.input.url);
    expect(inputUrl.origin).toBe(new URL(env.PUBLIC_URL).origin);
    expect(inputUrl.pathname).toMatch(new RegExp(`^/storage/uploads/org_[a-z0-9]+/${upload.id}/clip\\.mp4$`));
    expect(inputUrl.searchParams.get("method")).toBe("GET");

    const local = `https://kiln.test${inputUrl.pathname}${inputUrl.search}`;
    const whole = await raw(local);
    expect(whole.status).toBe(200);
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(data);
    const ranged = await raw(local, { headers: { range: "bytes=1000-1999" } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes 1000-1999/${data.byteLength}`);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(data.subarray(1000, 2000));
    const tampered = new URL(local);
    tampered.pathname = tampered.pathname.replace("clip.mp4", "other.mp4");
    expect((await raw(tampered.toString())).status).toBe(403);
  });

  it("fails the job at dispatch when the upload is gone or of another organization", async () => {
    const { key, orgId } = await seedOrg();
    const { upload } = await readyUpload(key);
    const job = await call("/v1/jobs", { key, body: videoJob({ input: upload.id }) });
    expect(job.status).toBe(201);
    const state = await stateOf(job.json.id);
    const lease = { attempt: 1, token: "t" };
    const order = (await buildWorkOrder(state, lease, env.PUBLIC_URL, env)) as TranscodeOrderInput;
    expect(order.input.url).toContain(`/storage/uploads/${orgId}/${upload.id}/`);

    const other = await seedOrg();
    await expect(buildWorkOrder({ ...state, org_id: other.orgId }, lease, env.PUBLIC_URL, env)).rejects.toMatchObject({ code: "upload_not_found" });

    const waiting = await createUpload(key);
    await expect(buildWorkOrder({ ...state, spec: { ...state.spec, input: waiting.id } }, lease, env.PUBLIC_URL, env)).rejects.toMatchObject({
      code: "upload_not_ready",
    });

    await call(`/v1/uploads/${upload.id}`, { key, method: "DELETE" });
    await expect(buildWorkOrder(state, lease, env.PUBLIC_URL, env)).rejects.toMatchObject({ code: "upload_not_found" });
  });

  it("a job whose upload was deleted before dispatch fails with upload_not_found", async () => {
    const { key } = await seedOrg();
    const { upload } = await readyUpload(key);
    // Hold dispatch off with a busy encoder, delete the upload, then let the retry run.
    const job = await call("/v1/jobs", { key, body: videoJob({ input: upload.id, delayed_start: false }) });
    expect(job.status).toBe(201);
    await vi.waitFor(async () => expect((await stateOf(job.json.id)).dispatched_attempt).toBe(1), { timeout: 5000, interval: 50 });
    await call(`/v1/uploads/${upload.id}`, { key, method: "DELETE" });
    await call(`/v1/jobs/${job.json.id}/cancel`, { key, method: "POST" });
    await call(`/v1/jobs/${job.json.id}/restart`, { key, method: "POST" });
    await vi.waitFor(
      async () => {
        const got = await call(`/v1/jobs/${job.json.id}`, { key });
        expect(got.json.status).toBe("failed");
        expect(JSON.stringify(got.json)).toContain("upload_not_found");
      },
      { timeout: 5000, interval: 50 },
    );
  });
});
