import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { parseMetadata, partSizeFor } from "../../worker/uploads/tus";
import { call, seedOrg, videoJob } from "./helpers";

const MIB = 1024 * 1024;
const TUS = "https://kiln.test/v1/uploads/tus";

const bytes = (n: number, seed = 3) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed + (i >> 12)) & 0xff;
  return out;
};
const b64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

function tus(url: string, key: string | null, init: { method: string; headers?: Record<string, string>; body?: BodyInit | null }) {
  const headers: Record<string, string> = { "tus-resumable": "1.0.0", ...init.headers };
  if (key) headers.authorization = `Bearer ${key}`;
  return exports.default.fetch(new Request(url, { method: init.method, headers, body: init.body ?? null }));
}

async function create(key: string, length: number, metadata = `filename ${b64("clip.mp4")},filetype ${b64("video/mp4")}`) {
  const res = await tus(TUS, key, { method: "POST", headers: { "upload-length": String(length), "upload-metadata": metadata } });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.headers.get("location")!;
}

function patch(url: string, key: string, offset: number, body: Uint8Array, headers: Record<string, string> = {}) {
  return tus(url, key, {
    method: "PATCH",
    headers: { "content-type": "application/offset+octet-stream", "upload-offset": String(offset), "content-length": String(body.byteLength), ...headers },
    body,
  });
}

const head = (url: string, key: string) => tus(url, key, { method: "HEAD" });

async function storedBytes(key: string, id: string): Promise<Uint8Array> {
  const row = await env.DB.prepare("SELECT key FROM uploads WHERE id = ?").bind(id).first<{ key: string }>();
  const object = await env.MEDIA.get(row!.key);
  return new Uint8Array(await object!.arrayBuffer());
}

const idOf = (location: string) => location.split("/").pop()!;

/** Large byte arrays are compared by digest: a failing toEqual would print millions of elements. */
async function digest(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return `${data.byteLength}:${[...hash].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

describe("tus discovery", () => {
  it("OPTIONS answers the versions, extensions and max size without a key", async () => {
    for (const url of [TUS, `${TUS}/vid_anything`]) {
      const res = await exports.default.fetch(new Request(url, { method: "OPTIONS" }));
      expect(res.status).toBe(204);
      expect(res.headers.get("tus-resumable")).toBe("1.0.0");
      expect(res.headers.get("tus-version")).toBe("1.0.0");
      expect(res.headers.get("tus-extension")).toBe("creation,creation-with-upload,termination,expiration");
      expect(res.headers.get("tus-max-size")).toBe(String(50 * 1024 ** 3));
    }
  });

  it("a browser preflight allows and exposes the tus headers", async () => {
    const res = await exports.default.fetch(
      new Request(`${TUS}/vid_x`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "PATCH", "access-control-request-headers": "upload-offset,tus-resumable" } }),
    );
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-headers")).toMatch(/Upload-Offset/);
    const get = await tus(TUS, null, { method: "POST", headers: { origin: "https://app.example" } });
    expect(get.headers.get("access-control-expose-headers")).toMatch(/Upload-Offset/);
  });

  it("refuses another protocol version with 412 and Tus-Version", async () => {
    const { key } = await seedOrg();
    const res = await exports.default.fetch(new Request(TUS, { method: "POST", headers: { authorization: `Bearer ${key}`, "tus-resumable": "0.2.2", "upload-length": "5" } }));
    expect(res.status).toBe(412);
    expect(res.headers.get("tus-version")).toBe("1.0.0");
    expect(((await res.json()) as any).error.code).toBe("tus_version_unsupported");
  });

  it("needs the API key", async () => {
    expect((await tus(TUS, null, { method: "POST", headers: { "upload-length": "5" } })).status).toBe(401);
    const { key } = await seedOrg([{ effect: "allow", actions: ["uploads:get"], resources: ["*"] }]);
    expect((await tus(TUS, key, { method: "POST", headers: { "upload-length": "5" } })).status).toBe(403);
  });
});

describe("tus creation", () => {
  it("creates an upload with Location and Upload-Expires; HEAD reports offset, length and metadata", async () => {
    const { key } = await seedOrg();
    const metadata = `filename ${b64("my clip.mp4")},filetype ${b64("video/mp4")},empty`;
    const res = await tus(TUS, key, { method: "POST", headers: { "upload-length": "1234", "upload-metadata": metadata } });
    expect(res.status).toBe(201);
    expect(res.headers.get("tus-resumable")).toBe("1.0.0");
    const location = res.headers.get("location")!;
    expect(location).toMatch(/^https:\/\/kiln\.test\/v1\/uploads\/tus\/vid_[a-z0-9]{20}$/);
    const expires = Date.parse(res.headers.get("upload-expires")!);
    expect(expires).toBeGreaterThan(Date.now() + 23 * 3600_000);

    const h = await head(location, key);
    expect(h.status).toBe(200);
    expect(h.headers.get("upload-offset")).toBe("0");
    expect(h.headers.get("upload-length")).toBe("1234");
    expect(h.headers.get("upload-metadata")).toBe(metadata);
    expect(h.headers.get("cache-control")).toBe("no-store");
    expect(h.headers.get("upload-expires")).toBeTruthy();

    const json = await call(`/v1/uploads/${idOf(location)}`, { key });
    expect(json.json).toMatchObject({ protocol: "tus", status: "waiting", filename: "my clip.mp4", content_type: "video/mp4", max_bytes: 1234, bytes_received: 0 });
  });

  it.each([
    ["no Upload-Length", {}, 400],
    ["a negative Upload-Length", { "upload-length": "-1" }, 400],
    ["a non-numeric Upload-Length", { "upload-length": "12abc" }, 400],
    ["Upload-Length over Tus-Max-Size", { "upload-length": String(50 * 1024 ** 3 + 1) }, 413],
    ["Upload-Defer-Length", { "upload-defer-length": "1" }, 400],
    ["malformed Upload-Metadata", { "upload-length": "5", "upload-metadata": "filename not base64!" }, 400],
    ["Upload-Metadata with a repeated key", { "upload-length": "5", "upload-metadata": `a ${b64("x")},a ${b64("y")}` }, 400],
    ["Upload-Metadata that is not UTF-8", { "upload-length": "5", "upload-metadata": "filename //79" }, 400],
    ["Upload-Metadata over 4 KiB", { "upload-length": "5", "upload-metadata": `k ${"A".repeat(5000)}` }, 400],
    ["a body that is not an offset stream", { "upload-length": "5", "content-type": "application/json", "content-length": "2" }, 415],
  ])("refuses %s", async (_name, headers, status) => {
    const { key } = await seedOrg();
    const body = (headers as Record<string, string>)["content-length"] ? "{}" : null;
    const res = await tus(TUS, key, { method: "POST", headers: headers as Record<string, string>, body });
    expect(res.status).toBe(status);
    expect(((await res.json()) as any).error.code).toEqual(expect.any(String));
  });

  it("makes unsafe file names safe and ignores a bad filetype", async () => {
    const { key } = await seedOrg();
    const location = await create(key, 10, `filename ${b64("../../etc/passwd")},filetype ${b64("text/html")}`);
    const got = (await call(`/v1/uploads/${idOf(location)}`, { key })).json;
    expect(got.filename).toBe(".._.._etc_passwd");
    expect(got.content_type).toBe("application/octet-stream");
  });

  it("creation-with-upload stores the first chunk", async () => {
    const { key } = await seedOrg();
    const data = bytes(3000);
    const res = await tus(TUS, key, {
      method: "POST",
      headers: { "upload-length": "3000", "content-type": "application/offset+octet-stream", "content-length": "1000" },
      body: data.subarray(0, 1000),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("upload-offset")).toBe("1000");
    const location = res.headers.get("location")!;
    const done = await patch(location, key, 1000, data.subarray(1000));
    expect(done.status).toBe(204);
    expect(done.headers.get("upload-offset")).toBe("3000");
    expect(await digest(await storedBytes(key, idOf(location)))).toBe(await digest(data));
  });

  it("an empty upload is ready at once", async () => {
    const { key } = await seedOrg();
    const location = await create(key, 0);
    expect((await call(`/v1/uploads/${idOf(location)}`, { key })).json).toMatchObject({ status: "ready", size_bytes: 0 });
  });
});

describe("tus PATCH", () => {
  it("appends chunks of any size across R2 part boundaries and completes the object", async () => {
    const { key } = await seedOrg();
    const total = 11 * MIB + 12345;
    const data = bytes(total);
    const location = await create(key, total);
    // 3 MiB chunks: every part is assembled from a staged tail plus the next chunk.
    let offset = 0;
    for (const size of [3 * MIB, 3 * MIB, 1, 3 * MIB - 1, 3 * MIB]) {
      const chunk = data.subarray(offset, Math.min(total, offset + size));
      const res = await patch(location, key, offset, chunk);
      expect(res.status, await res.clone().text()).toBe(204);
      offset += chunk.byteLength;
      expect(res.headers.get("upload-offset")).toBe(String(offset));
      expect((await head(location, key)).headers.get("upload-offset")).toBe(String(offset));
    }
    expect(offset).toBe(total);
    const id = idOf(location);
    const got = (await call(`/v1/uploads/${id}`, { key })).json;
    expect(got).toMatchObject({ status: "ready", size_bytes: total, bytes_received: total, content_type: "video/mp4", filename: "clip.mp4" });
    expect(await digest(await storedBytes(key, id))).toBe(await digest(data));
    expect(await env.MEDIA.head(`tus-staging/${id}`)).toBeNull();
    expect((await env.DB.prepare("SELECT count(*) AS n FROM upload_parts WHERE upload_id = ?").bind(id).first<{ n: number }>())!.n).toBe(0);
    // Complete: HEAD has no Upload-Expires, and a further byte is refused.
    const h = await head(location, key);
    expect(h.headers.get("upload-offset")).toBe(String(total));
    expect(h.headers.get("upload-expires")).toBeNull();
    expect((await patch(location, key, total, bytes(1))).status).toBe(413);

    // The upload is a job input now.
    const job = await call("/v1/jobs", { key, body: videoJob({ input: id }) });
    expect(job.status, job.text).toBe(201);
  });

  it("takes the whole file in one PATCH (tus-js-client's default)", async () => {
    const { key } = await seedOrg();
    const data = bytes(6 * MIB + 7, 9);
    const location = await create(key, data.byteLength);
    const res = await patch(location, key, 0, data);
    expect(res.status).toBe(204);
    expect(await digest(await storedBytes(key, idOf(location)))).toBe(await digest(data));
  });

  it("refuses a wrong offset with 409, a wrong content type with 415, no offset with 400", async () => {
    const { key } = await seedOrg();
    const location = await create(key, 100);
    const wrong = await patch(location, key, 5, bytes(10));
    expect(wrong.status).toBe(409);
    expect(wrong.headers.get("tus-resumable")).toBe("1.0.0");
    expect(((await wrong.json()) as any).error).toMatchObject({ code: "upload_offset_mismatch", details: { offset: 0 } });
    const type = await patch(location, key, 0, bytes(10), { "content-type": "application/octet-stream" });
    expect(type.status).toBe(415);
    const noOffset = await tus(location, key, { method: "PATCH", headers: { "content-type": "application/offset+octet-stream" }, body: bytes(10) });
    expect(noOffset.status).toBe(400);
    const badOffset = await patch(location, key, 0, bytes(10), { "upload-offset": "-3" });
    expect(badOffset.status).toBe(400);
    const tooMuch = await patch(location, key, 0, bytes(101));
    expect(tooMuch.status).toBe(413);
    expect((await head(location, key)).headers.get("upload-offset")).toBe("0");
  });

  it("an empty PATCH at the right offset changes nothing", async () => {
    const { key } = await seedOrg();
    const location = await create(key, 100);
    const res = await patch(location, key, 0, new Uint8Array(0));
    expect(res.status).toBe(204);
    expect(res.headers.get("upload-offset")).toBe("0");
  });

  it("resumes from the HEAD offset after an interrupted PATCH", async () => {
    const { key } = await seedOrg();
    const total = 9 * MIB;
    const data = bytes(total, 5);
    const location = await create(key, total);
    const sent = 6 * MIB + 4321; // one whole part and a staged tail, then the connection drops
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= sent) return controller.error(new Error("connection reset"));
        controller.enqueue(data.slice(at, Math.min(sent, at + 512 * 1024)));
        at += 512 * 1024;
      },
    });
    const ctx = createExecutionContext();
    const interrupted = await app.fetch(
      new Request(location, {
        method: "PATCH",
        headers: { authorization: `Bearer ${key}`, "tus-resumable": "1.0.0", "content-type": "application/offset+octet-stream", "upload-offset": "0", "content-length": String(total) },
        body,
        duplex: "half",
      } as RequestInit),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(interrupted.status).toBe(400);

    const h = await head(location, key);
    expect(h.headers.get("upload-offset")).toBe(String(sent));
    expect((await call(`/v1/uploads/${idOf(location)}`, { key })).json).toMatchObject({ status: "uploading", bytes_received: sent });
    // A client that retries from its own idea of the offset is told where to resume.
    expect((await patch(location, key, 0, data)).status).toBe(409);
    const rest = await patch(location, key, sent, data.subarray(sent));
    expect(rest.status).toBe(204);
    expect(rest.headers.get("upload-offset")).toBe(String(total));
    expect(await digest(await storedBytes(key, idOf(location)))).toBe(await digest(data));
  });

  it("a body shorter than its Content-Length keeps what arrived", async () => {
    const { key } = await seedOrg();
    const location = await create(key, 1000);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes(300));
        controller.close();
      },
    });
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request(location, {
        method: "PATCH",
        headers: { authorization: `Bearer ${key}`, "tus-resumable": "1.0.0", "content-type": "application/offset+octet-stream", "upload-offset": "0", "content-length": "500" },
        body,
        duplex: "half",
      } as RequestInit),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(400);
    expect((await head(location, key)).headers.get("upload-offset")).toBe("300");
  });

  it("a PATCH while another holds the upload is 423", async () => {
    const { key } = await seedOrg();
    const location = await create(key, 100);
    await env.DB.prepare("UPDATE uploads SET lock_token = 'other', lock_expires_at = ? WHERE id = ?").bind(Date.now() + 60_000, idOf(location)).run();
    const res = await patch(location, key, 0, bytes(10));
    expect(res.status).toBe(423);
    // A lease whose holder died lapses.
    await env.DB.prepare("UPDATE uploads SET lock_expires_at = ? WHERE id = ?").bind(Date.now() - 1, idOf(location)).run();
    expect((await patch(location, key, 0, bytes(10))).status).toBe(204);
  });

  it("honours X-HTTP-Method-Override", async () => {
    const { key } = await seedOrg();
    const location = await create(key, 10);
    const res = await tus(location, key, {
      method: "POST",
      headers: { "x-http-method-override": "PATCH", "content-type": "application/offset+octet-stream", "upload-offset": "0", "content-length": "10" },
      body: bytes(10),
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("upload-offset")).toBe("10");
  });
});

describe("tus termination, expiration and isolation", () => {
  it("DELETE terminates: 204, then 404 for HEAD and PATCH, and the parts are gone", async () => {
    const { key } = await seedOrg();
    const location = await create(key, 6 * MIB);
    expect((await patch(location, key, 0, bytes(5 * MIB + 10))).status).toBe(204);
    const id = idOf(location);
    expect(await env.MEDIA.head(`tus-staging/${id}`)).not.toBeNull();
    const del = await tus(location, key, { method: "DELETE" });
    expect(del.status).toBe(204);
    expect(del.headers.get("tus-resumable")).toBe("1.0.0");
    expect((await head(location, key)).status).toBe(404);
    expect((await patch(location, key, 5 * MIB + 10, bytes(10))).status).toBe(404);
    expect(await env.MEDIA.head(`tus-staging/${id}`)).toBeNull();
    expect((await call(`/v1/uploads/${id}`, { key })).json.status).toBe("deleted");
    expect((await call("/v1/jobs", { key, body: videoJob({ input: id }) })).json.error.code).toBe("upload_not_found");
  });

  it("an upload past Upload-Expires is gone (410) and cannot be a job input", async () => {
    const { key } = await seedOrg();
    const location = await create(key, 100);
    const first = await patch(location, key, 0, bytes(10));
    expect(Date.parse(first.headers.get("upload-expires")!)).toBeGreaterThan(Date.now());
    await env.DB.prepare("UPDATE uploads SET expires_at = ? WHERE id = ?").bind(new Date(Date.now() - 1000).toISOString(), idOf(location)).run();
    expect((await head(location, key)).status).toBe(410);
    expect((await patch(location, key, 10, bytes(10))).status).toBe(410);
    expect((await call(`/v1/uploads/${idOf(location)}`, { key })).json.status).toBe("expired");
    expect((await call("/v1/jobs", { key, body: videoJob({ input: idOf(location) }) })).json.error.code).toBe("upload_not_ready");
  });

  it("another organization cannot see, write or terminate an upload", async () => {
    const { key } = await seedOrg();
    const other = await seedOrg();
    const location = await create(key, 100);
    expect((await head(location, other.key)).status).toBe(404);
    expect((await patch(location, other.key, 0, bytes(10))).status).toBe(404);
    expect((await tus(location, other.key, { method: "DELETE" })).status).toBe(404);
    expect((await head(location, key)).status).toBe(200);
  });

  it("a direct (PUT) upload is not a tus upload", async () => {
    const { key } = await seedOrg();
    const upload = (await call("/v1/uploads", { key, body: { content_type: "video/mp4" } })).json;
    expect((await head(`${TUS}/${upload.id}`, key)).status).toBe(404);
  });
});

describe("helpers", () => {
  it("part sizes stay ≥ 5 MiB and within 10,000 parts", () => {
    expect(partSizeFor(1)).toBe(5 * MIB);
    expect(partSizeFor(50 * 1024 * MIB)).toBe(6 * MIB);
    expect(Math.ceil((50 * 1024 * MIB) / partSizeFor(50 * 1024 * MIB))).toBeLessThanOrEqual(10_000);
  });

  it("parses Upload-Metadata", () => {
    expect(parseMetadata(`filename ${b64("a b.mp4")},is_confidential`)).toEqual({ filename: "a b.mp4", is_confidential: "" });
    expect(parseMetadata("")).toEqual({});
  });
});
