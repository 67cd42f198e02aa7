import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { signResponseSchema } from "../../encoder/contract";
import { app } from "../../worker/app";
import type { Env } from "../../worker/env";
import { contentTypeFor } from "../../worker/storage/content-types";
import { parseRange } from "../../worker/storage/routes";
import { DEVELOPMENT_SIGNING_SECRET, StorageSigningError, signingSecret } from "../../worker/storage/hmac";
import { keyProblem } from "../../worker/storage/keys";
import { signStorageUrl, verifyStorageUrl } from "../../worker/storage/signed-urls";
import { signUploads } from "../../worker/storage/upload-urls";

/**
 * Most tests drive the app with the real bindings (R2 included) and a secret of their
 * own, so they can also vary KILN_ENV and the secret; the deployed entry point
 * (`exports.default.fetch`, with the vitest config's secret) is exercised as well.
 */
const SECRET = "test-only-storage-secret-0123456789abcdefghij";
const testEnv: Env = { ...env, STORAGE_SIGNING_SECRET: SECRET };
const BASE = "https://kiln.test";

async function send(request: Request, bindings: Env = testEnv): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(request, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const uniqueKey = (name: string) => `tests/${crypto.randomUUID()}/${name}`;
const bytes = (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
};

function signGet(key: string, extra: { expiresInSeconds?: number } = {}) {
  return signStorageUrl(testEnv, { method: "GET", key, expiresInSeconds: extra.expiresInSeconds ?? 600 }, BASE);
}

function put(url: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  const data = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return send(new Request(url, { method: "PUT", body: data, headers: { "content-length": String(data.length), ...headers } }));
}

/** Stores `body` at `key` through a signed PUT and returns a signed GET URL for it. */
async function store(key: string, body: Uint8Array | string, contentType?: string): Promise<string> {
  const url = await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 600 }, BASE);
  const res = await put(url, body, contentType ? { "content-type": contentType } : {});
  expect(res.status).toBe(201);
  return signGet(key);
}

/** The body as text, without workerd's warning about reading media types as text. */
async function text(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}

async function errorCode(res: Response): Promise<string> {
  const json = (await res.json()) as { error: { code: string; request_id: string } };
  expect(json.error.request_id).toMatch(/^req_/);
  return json.error.code;
}

describe("signed URLs", () => {
  it("have the documented shape", async () => {
    const url = new URL(
      await signStorageUrl(testEnv, { method: "PUT", key: "jobs/j 1/out/a b.mp4", expiresInSeconds: 60, maxBytes: 10, contentType: "video/mp4" }, `${BASE}/`, 1_700_000_000_000),
    );
    expect(url.pathname).toBe("/storage/jobs/j%201/out/a%20b.mp4");
    expect(url.searchParams.get("method")).toBe("PUT");
    expect(url.searchParams.get("expires")).toBe(String(1_700_000_000 + 60));
    expect(url.searchParams.get("max")).toBe("10");
    expect(url.searchParams.get("ctype")).toBe("video/mp4");
    expect(url.searchParams.get("sig")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("verify for their own key and method and return the claims", async () => {
    const url = await signStorageUrl(testEnv, { method: "PUT", key: "a/b.mp4", expiresInSeconds: 60, maxBytes: 5, contentType: "video/mp4" }, BASE);
    const result = await verifyStorageUrl(testEnv, new Request(url, { method: "PUT" }));
    expect(result).toMatchObject({ ok: true, claims: { method: "PUT", scope: "object", key: "a/b.mp4", maxBytes: 5, contentType: "video/mp4" } });
  });

  it("do not verify under another secret", async () => {
    const url = await signGet("a/b.mp4");
    const other = { ...testEnv, STORAGE_SIGNING_SECRET: `${SECRET}-other` };
    expect(await verifyStorageUrl(other, new Request(url))).toMatchObject({ ok: false, reason: "signature_invalid" });
  });

  it("reject invalid keys at signing", async () => {
    for (const key of ["../etc/passwd", "a/../b", "a/./b", "/abs/key", "a//b", "a/", "", "a\nb", "a\u0000b", "a\\b", "x".repeat(1025)]) {
      await expect(signStorageUrl(testEnv, { method: "GET", key, expiresInSeconds: 60 }, BASE), JSON.stringify(key)).rejects.toThrow(StorageSigningError);
    }
    expect(keyProblem("x".repeat(1024))).toBeNull();
    expect(keyProblem("é".repeat(513))).toMatch(/1024 bytes/);
    expect(keyProblem("jobs/job_1/out/v0/seg 1.m4s")).toBeNull();
  });

  it("reject an encoded slash or dot-dot smuggled into a path segment", async () => {
    const url = new URL(await signGet("a/b/c.mp4"));
    url.pathname = "/storage/a%2Fb/c.mp4";
    expect(await verifyStorageUrl(testEnv, new Request(url))).toMatchObject({ ok: false, reason: "signature_invalid" });
    const res = await send(new Request(`${BASE}/storage/a/%2E%2E%2Fsecret?method=GET&expires=9999999999&sig=${"A".repeat(43)}`));
    expect(res.status).toBe(403);
  });

  it("refuse bad expiries and constraints at signing", async () => {
    await expect(signStorageUrl(testEnv, { method: "GET", key: "a", expiresInSeconds: 0 }, BASE)).rejects.toThrow(/expiresInSeconds/);
    await expect(signStorageUrl(testEnv, { method: "GET", key: "a", expiresInSeconds: 8 * 86400 }, BASE)).rejects.toThrow(/expiresInSeconds/);
    await expect(signStorageUrl(testEnv, { method: "GET", key: "a", expiresInSeconds: 60, maxBytes: 1 }, BASE)).rejects.toThrow(/uploads only/);
    await expect(signStorageUrl(testEnv, { method: "PUT", key: "a/b", expiresInSeconds: 60, scope: "prefix" }, BASE)).rejects.toThrow(/GET only/);
  });
});

describe("the signing secret", () => {
  it("is refused when it is the development default and KILN_ENV is production", async () => {
    const prod = { ...testEnv, KILN_ENV: "production", STORAGE_SIGNING_SECRET: DEVELOPMENT_SIGNING_SECRET };
    expect(() => signingSecret(prod)).toThrow(/development default/);
    await expect(signStorageUrl(prod, { method: "GET", key: "a", expiresInSeconds: 60 }, BASE)).rejects.toThrow(StorageSigningError);
    // Nor is a URL forged with the public default accepted.
    const dev = { ...prod, KILN_ENV: "development" };
    const forged = await signStorageUrl(dev, { method: "GET", key: "a", expiresInSeconds: 60 }, BASE);
    await expect(verifyStorageUrl(prod, new Request(forged))).rejects.toThrow(/development default/);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await send(new Request(forged), prod);
      expect(res.status).toBe(500);
      expect(await errorCode(res)).toBe("internal_error");
      expect(String(logged.mock.calls[0]?.[0])).toContain("development default");
    } finally {
      logged.mockRestore();
    }
  });

  it("may be the development default outside production", async () => {
    const dev = { ...testEnv, KILN_ENV: "development", STORAGE_SIGNING_SECRET: DEVELOPMENT_SIGNING_SECRET };
    const url = await signStorageUrl(dev, { method: "GET", key: "a", expiresInSeconds: 60 }, BASE);
    expect(await verifyStorageUrl(dev, new Request(url))).toMatchObject({ ok: true });
  });

  it("must be at least 32 characters", async () => {
    for (const secret of [undefined, "", "x".repeat(31)]) {
      const weak = { ...testEnv, KILN_ENV: "development", STORAGE_SIGNING_SECRET: secret as unknown as string };
      await expect(signStorageUrl(weak, { method: "GET", key: "a", expiresInSeconds: 60 }, BASE)).rejects.toThrow(/shorter than 32/);
    }
    expect(signingSecret({ KILN_ENV: "production", STORAGE_SIGNING_SECRET: "x".repeat(32) })).toHaveLength(32);
  });
});

describe("PUT /storage/*", () => {
  it("stores the body and GET returns it byte for byte", async () => {
    const key = uniqueKey("video.mp4");
    const data = bytes(300_000);
    const putUrl = await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 600, maxBytes: data.length, contentType: "video/mp4" }, BASE);
    const res = await put(putUrl, data, { "content-type": "video/mp4" });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { key: string; size: number; etag: string };
    expect(body).toMatchObject({ key, size: data.length });
    expect(body.etag).toMatch(/^".+"$/);

    const get = await send(new Request(await signGet(key)));
    expect(get.status).toBe(200);
    expect(get.headers.get("content-type")).toBe("video/mp4");
    expect(get.headers.get("content-length")).toBe(String(data.length));
    expect(get.headers.get("etag")).toBe(body.etag);
    expect(get.headers.get("accept-ranges")).toBe("bytes");
    expect(get.headers.get("x-content-type-options")).toBe("nosniff");
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(data);
  });

  it("round-trips through the deployed entry point with the Worker's own secret", async () => {
    const key = uniqueKey("entry.mp4");
    const data = bytes(1000);
    const putUrl = await signStorageUrl(env, { method: "PUT", key, expiresInSeconds: 60, maxBytes: 1000 }, BASE);
    const res = await exports.default.fetch(new Request(putUrl, { method: "PUT", body: data, headers: { "content-length": "1000" } }));
    expect(res.status).toBe(201);
    await res.arrayBuffer();
    const get = await exports.default.fetch(new Request(await signStorageUrl(env, { method: "GET", key, expiresInSeconds: 60 }, BASE), { headers: { range: "bytes=-10" } }));
    expect(get.status).toBe(206);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(data.slice(-10));
  });

  it("requires Content-Length (411)", async () => {
    const key = uniqueKey("a.bin");
    const url = await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 600 }, BASE);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("hello"));
        controller.close();
      },
    });
    const res = await send(new Request(url, { method: "PUT", body: stream }));
    expect(res.status).toBe(411);
    expect(await errorCode(res)).toBe("length_required");
    expect(await env.MEDIA.head(key)).toBeNull();
  });

  it("refuses more than the signed size (413) and stores nothing", async () => {
    const key = uniqueKey("big.bin");
    const url = await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 600, maxBytes: 10 }, BASE);
    const res = await put(url, bytes(11));
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe("payload_too_large");
    expect(await env.MEDIA.head(key)).toBeNull();
    expect((await put(url, bytes(10))).status).toBe(201);
  });

  it("refuses a body that does not match its Content-Length and stores nothing", async () => {
    const key = uniqueKey("liar.bin");
    const url = await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 600, maxBytes: 10 }, BASE);
    const res = await send(new Request(url, { method: "PUT", body: bytes(100), headers: { "content-length": "10" } }));
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("validation_error");
    expect(await env.MEDIA.head(key)).toBeNull();
  });

  it("refuses another Content-Type than the signed one (415)", async () => {
    const key = uniqueKey("master.m3u8");
    const url = await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 600, contentType: "application/vnd.apple.mpegurl" }, BASE);
    const res = await put(url, "#EXTM3U\n", { "content-type": "text/html" });
    expect(res.status).toBe(415);
    expect(await errorCode(res)).toBe("unsupported_media_type");
    expect(await env.MEDIA.head(key)).toBeNull();
    expect((await put(url, "#EXTM3U\n", { "content-type": "application/vnd.apple.mpegurl" })).status).toBe(201);
  });

  it("stores an empty body", async () => {
    const key = uniqueKey("empty.txt");
    const url = await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 600, maxBytes: 0 }, BASE);
    const res = await send(new Request(url, { method: "PUT", headers: { "content-length": "0" } }));
    expect(res.status).toBe(201);
    expect((await env.MEDIA.head(key))?.size).toBe(0);
  });
});

describe("signature failures → 403", () => {
  it("a tampered signature", async () => {
    const key = uniqueKey("a.mp4");
    const url = new URL(await store(key, "data"));
    const sig = url.searchParams.get("sig")!;
    url.searchParams.set("sig", (sig[0] === "A" ? "B" : "A") + sig.slice(1));
    const res = await send(new Request(url));
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("signature_invalid");
  });

  it("a changed key", async () => {
    const key = uniqueKey("a.mp4");
    await store(key, "secret-a");
    const other = uniqueKey("b.mp4");
    await store(other, "secret-b");
    const url = new URL(await signGet(key));
    url.pathname = `/storage/${other}`;
    const res = await send(new Request(url));
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("signature_invalid");
  });

  it("a changed method: a GET URL used to PUT, or the method parameter rewritten", async () => {
    const key = uniqueKey("a.mp4");
    await store(key, "original");
    const getUrl = await signGet(key);
    const res = await put(getUrl, "overwrite");
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("signature_invalid");

    const putUrl = new URL(await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 600 }, BASE));
    expect((await send(new Request(putUrl))).status).toBe(403); // a PUT URL does not read
    putUrl.searchParams.set("method", "GET");
    const rewritten = await send(new Request(putUrl));
    expect(rewritten.status).toBe(403);
    expect(await errorCode(rewritten)).toBe("signature_invalid");

    const get = await send(new Request(getUrl));
    expect(await text(get)).toBe("original");
  });

  it("a changed expiry", async () => {
    const key = uniqueKey("a.mp4");
    const url = new URL(await store(key, "data"));
    url.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 3600));
    const res = await send(new Request(url));
    expect(await errorCode(res)).toBe("signature_invalid");
  });

  it("a raised size limit", async () => {
    const key = uniqueKey("a.bin");
    const url = new URL(await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 600, maxBytes: 4 }, BASE));
    url.searchParams.set("max", "1000");
    const res = await put(url.toString(), bytes(100));
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("signature_invalid");
    expect(await env.MEDIA.head(key)).toBeNull();
  });

  it("an expired URL", async () => {
    const key = uniqueKey("a.mp4");
    await store(key, "data");
    const past = Date.now() - 3600_000;
    const url = await signStorageUrl(testEnv, { method: "GET", key, expiresInSeconds: 60 }, BASE, past);
    const res = await send(new Request(url));
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("signature_expired");
    const putUrl = await signStorageUrl(testEnv, { method: "PUT", key, expiresInSeconds: 60 }, BASE, past);
    const putRes = await put(putUrl, "x");
    expect(await errorCode(putRes)).toBe("signature_expired");
  });

  it("expires at the second named in the URL", async () => {
    const url = await signGet("a/b.mp4", { expiresInSeconds: 10 });
    const expires = Number(new URL(url).searchParams.get("expires")) * 1000;
    expect(await verifyStorageUrl(testEnv, new Request(url), expires - 1)).toMatchObject({ ok: true });
    expect(await verifyStorageUrl(testEnv, new Request(url), expires)).toMatchObject({ ok: false, reason: "signature_expired" });
  });

  it("no signature at all, through the deployed entry point and without an API key", async () => {
    const res = await exports.default.fetch(new Request(`${BASE}/storage/jobs/x/out.mp4`));
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(await errorCode(res)).toBe("signature_invalid");
  });
});

describe("GET /storage/*", () => {
  const data = new TextEncoder().encode("0123456789abcdefghijklmnopqrstuvwxyz");

  it("answers 404 for a signed URL to a missing object", async () => {
    const res = await send(new Request(await signGet(uniqueKey("nothing.mp4"))));
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("not_found");
  });

  it("serves ranges with 206 and Content-Range", async () => {
    const url = await store(uniqueKey("r.mp4"), data, "video/mp4");
    const cases: [string, string, string][] = [
      ["bytes=0-9", "0123456789", "bytes 0-9/36"],
      ["bytes=-5", "vwxyz", "bytes 31-35/36"],
      ["bytes=30-", "uvwxyz", "bytes 30-35/36"],
      ["bytes=34-1000", "yz", "bytes 34-35/36"],
      ["bytes=-100", new TextDecoder().decode(data), "bytes 0-35/36"],
    ];
    for (const [range, body, contentRange] of cases) {
      const res = await send(new Request(url, { headers: { range } }));
      expect(res.status, range).toBe(206);
      expect(res.headers.get("content-range"), range).toBe(contentRange);
      expect(res.headers.get("content-length"), range).toBe(String(body.length));
      expect(res.headers.get("content-type")).toBe("video/mp4");
      expect(await text(res), range).toBe(body);
    }
  });

  it("answers 416 for an unsatisfiable range", async () => {
    const url = await store(uniqueKey("r.mp4"), data);
    for (const range of ["bytes=36-", "bytes=100-200", "bytes=-0"]) {
      const res = await send(new Request(url, { headers: { range } }));
      expect(res.status, range).toBe(416);
      expect(res.headers.get("content-range")).toBe("bytes */36");
      await text(res);
    }
  });

  it("serves the whole object for a Range it ignores, or an If-Range that no longer matches", async () => {
    const url = await store(uniqueKey("r.mp4"), data);
    const variants: Record<string, string>[] = [{ range: "bytes=0-1,4-5" }, { range: "items=0-1" }, { range: "bytes=0-1", "if-range": '"stale"' }];
    for (const headers of variants) {
      const res = await send(new Request(url, { headers }));
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(36);
    }
  });

  it("answers If-None-Match with 304 when the ETag matches", async () => {
    const url = await store(uniqueKey("e.mp4"), data);
    const first = await send(new Request(url));
    const etag = first.headers.get("etag")!;
    await first.arrayBuffer();
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await send(new Request(url, { headers: { "if-none-match": inm } }));
      expect(res.status, inm).toBe(304);
      expect(res.headers.get("etag")).toBe(etag);
      expect(await text(res)).toBe("");
    }
    const miss = await send(new Request(url, { headers: { "if-none-match": '"other"' } }));
    expect(miss.status).toBe(200);
    expect(await text(miss)).toBe(new TextDecoder().decode(data));
  });

  it("answers HEAD with the headers of GET and no body", async () => {
    const url = await store(uniqueKey("h.webm"), data);
    const res = await send(new Request(url, { method: "HEAD" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("36");
    expect(res.headers.get("content-type")).toBe("video/webm");
    expect(res.headers.get("etag")).toMatch(/^".+"$/);
    expect(await text(res)).toBe("");
    const ranged = await send(new Request(url, { method: "HEAD", headers: { range: "bytes=0-3" } }));
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe("bytes 0-3/36");
    expect(ranged.headers.get("content-length")).toBe("4");
  });

  it("names the Content-Type by extension when the upload gave none", async () => {
    const expected: Record<string, string> = {
      "a.mp4": "video/mp4",
      "a.webm": "video/webm",
      "a.mov": "video/quicktime",
      "a.mkv": "video/x-matroska",
      "master.m3u8": "application/vnd.apple.mpegurl",
      "a.mpd": "application/dash+xml",
      "seg1.m4s": "video/iso.segment",
      "seg1.ts": "video/mp2t",
      "subs.vtt": "text/vtt",
      "a.JPG": "image/jpeg",
      "a.jpeg": "image/jpeg",
      "a.png": "image/png",
      "a.webp": "image/webp",
      "a.avif": "image/avif",
      "a.gif": "image/gif",
      "a.mp3": "audio/mpeg",
      "a.m4a": "audio/mp4",
      "a.aac": "audio/aac",
      "a.ogg": "audio/ogg",
      "a.opus": "audio/ogg",
      "a.wav": "audio/wav",
      "a.flac": "audio/flac",
      "noext": "application/octet-stream",
    };
    for (const [name, type] of Object.entries(expected)) expect(contentTypeFor(`x/${name}`), name).toBe(type);
    const dir = uniqueKey("");
    for (const name of ["master.m3u8", "seg1.m4s", "a.avif", "a.mp3"]) {
      const res = await send(new Request(await store(`${dir}${name}`, "x")));
      expect(res.headers.get("content-type"), name).toBe(expected[name]);
      await text(res);
    }
    // A specific stored type wins; a generic one loses to the extension.
    const typed = await send(new Request(await store(uniqueKey("a.bin"), "x", "video/mp4")));
    expect(typed.headers.get("content-type")).toBe("video/mp4");
    await text(typed);
    const generic = await send(new Request(await store(uniqueKey("master.m3u8"), "x", "application/octet-stream")));
    expect(generic.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    await text(generic);
  });

  it("makes players ask again for a playlist, which grows in place while its package is published", async () => {
    const key = uniqueKey("index.m3u8");
    const url = await store(key, "#EXTM3U\n#EXTINF:2,\nseg_000.m4s\n");
    const first = await send(new Request(url));
    expect(first.headers.get("cache-control")).toBe("private, no-cache");
    const etag = first.headers.get("etag")!;
    await text(first);
    expect((await send(new Request(url, { headers: { "if-none-match": etag } }))).status).toBe(304);
    await store(key, "#EXTM3U\n#EXTINF:2,\nseg_000.m4s\n#EXTINF:2,\nseg_001.m4s\n");
    const grown = await send(new Request(url, { headers: { "if-none-match": etag } }));
    expect(grown.status).toBe(200);
    expect(await text(grown)).toContain("seg_001.m4s");
  });

  it("caches privately until the URL expires", async () => {
    const url = await store(uniqueKey("c.mp4"), data);
    const short = await signGet(new URL(url).pathname.slice("/storage/".length), { expiresInSeconds: 120 });
    const res = await send(new Request(short));
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(res.headers.get("cache-control") ?? "")?.[1]);
    expect(maxAge).toBeGreaterThan(100);
    expect(maxAge).toBeLessThanOrEqual(120);
    await text(res);
  });
});

describe("CORS", () => {
  it("answers a preflight without a signature", async () => {
    const res = await exports.default.fetch(
      new Request(`${BASE}/storage/jobs/x/master.m3u8`, {
        method: "OPTIONS",
        headers: { origin: "https://player.example", "access-control-request-method": "GET", "access-control-request-headers": "range" },
      }),
    );
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toContain("GET");
    expect(res.headers.get("access-control-allow-methods")).toContain("PUT");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("range");
  });

  it("lets a browser read ranges, lengths and ETags", async () => {
    const url = await store(uniqueKey("c.mp4"), "0123456789");
    const res = await send(new Request(url, { headers: { origin: "https://player.example", range: "bytes=0-1" } }));
    expect(res.status).toBe(206);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(",");
    for (const name of ["content-range", "content-length", "etag", "accept-ranges"]) expect(exposed).toContain(name);
    await text(res);
    const denied = await send(new Request(`${url}x`, { headers: { origin: "https://player.example" } }));
    expect(denied.status).toBe(403);
    expect(denied.headers.get("access-control-allow-origin")).toBe("*");
    await text(denied);
  });
});

describe("prefix-scoped GET URLs (HLS)", () => {
  it("reach every key under the prefix through relative resolution", async () => {
    const dir = `${uniqueKey("out")}/`;
    await store(`${dir}master.m3u8`, "#EXTM3U\nv0/index.m3u8\n");
    await store(`${dir}v0/index.m3u8`, "#EXTM3U\nseg1.m4s\n");
    await store(`${dir}v0/seg1.m4s`, "segment-bytes");
    const master = await signStorageUrl(testEnv, { method: "GET", key: `${dir}master.m3u8`, expiresInSeconds: 600, scope: "prefix" }, BASE);
    expect(new URL(master).search).toBe("");

    const masterRes = await send(new Request(master));
    expect(masterRes.status).toBe(200);
    expect(masterRes.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(await text(masterRes)).toContain("v0/index.m3u8");

    const variant = new URL("v0/index.m3u8", master);
    const verified = await verifyStorageUrl(testEnv, new Request(variant));
    expect(verified).toMatchObject({ ok: true, claims: { scope: "prefix", key: `${dir}v0/index.m3u8`, prefix: dir } });
    const segment = new URL("seg1.m4s", variant);
    const segRes = await send(new Request(segment, { headers: { range: "bytes=0-6" } }));
    expect(segRes.status).toBe(206);
    expect(segRes.headers.get("content-type")).toBe("video/iso.segment");
    expect(await text(segRes)).toBe("segment");
    expect((await verifyStorageUrl(testEnv, new Request(new URL("v0/seg1.m4s", master)))).ok).toBe(true);
  });

  it("do not reach keys outside the prefix", async () => {
    const parent = uniqueKey("job");
    await store(`${parent}/secret.mp4`, "secret");
    await store(`${parent}/out/master.m3u8`, "#EXTM3U\n");
    const master = await signStorageUrl(testEnv, { method: "GET", key: `${parent}/out/master.m3u8`, expiresInSeconds: 600, scope: "prefix" }, BASE);
    for (const relative of ["../secret.mp4", "../../../../../secret.mp4", "/storage/tests/secret.mp4"]) {
      const url = new URL(relative, master);
      const res = await send(new Request(url));
      expect(res.status, relative).toBe(403);
      expect(await errorCode(res)).toBe("signature_invalid");
    }
    // Claiming a shallower prefix (fewer signed segments) breaks the signature too.
    const parts = new URL(master).pathname.split("/");
    const depth = Number(parts[4]);
    parts[4] = String(depth - 1);
    const shallower = new URL(master);
    shallower.pathname = parts.join("/");
    expect(await verifyStorageUrl(testEnv, new Request(shallower))).toMatchObject({ ok: false, reason: "signature_invalid" });
  });

  it("are GET only and expire", async () => {
    const master = await signStorageUrl(testEnv, { method: "GET", key: "a/b/master.m3u8", expiresInSeconds: 60, scope: "prefix" }, BASE, Date.now() - 3600_000);
    const res = await send(new Request(master));
    expect(await errorCode(res)).toBe("signature_expired");
    const fresh = await signStorageUrl(testEnv, { method: "GET", key: "a/b/master.m3u8", expiresInSeconds: 60, scope: "prefix" }, BASE);
    const putRes = await put(new URL("x.m4s", fresh).toString(), "x");
    expect(putRes.status).toBe(403);
    expect(await errorCode(putRes)).toBe("signature_invalid");
  });

  it("need a non-empty prefix that holds the key", async () => {
    await expect(signStorageUrl(testEnv, { method: "GET", key: "master.m3u8", expiresInSeconds: 60, scope: "prefix" }, BASE)).rejects.toThrow(/prefix/);
    await expect(signStorageUrl(testEnv, { method: "GET", key: "a/master.m3u8", expiresInSeconds: 60, scope: "prefix", prefix: "b/" }, BASE)).rejects.toThrow(/not under/);
  });

  it("leave object keys that begin with p/ addressable", async () => {
    const key = `p/${crypto.randomUUID()}/x.mp4`;
    const res = await send(new Request(await store(key, "plain")));
    expect(await text(res)).toBe("plain");
  });
});

describe("signUploads", () => {
  it("signs one PUT per file under jobs/<id>/ in the encoder contract's shape", async () => {
    const jobId = `job_${crypto.randomUUID().replaceAll("-", "")}`;
    const files = [
      { output_id: "out_1", path: "out_1/master.m3u8", content_type: "application/vnd.apple.mpegurl", size_bytes: 8 },
      { output_id: "out_1", path: "out_1/v0/seg 1.m4s", content_type: "video/iso.segment", size_bytes: 5 },
    ];
    const signed = await signUploads(testEnv, BASE, jobId, files);
    expect(signResponseSchema.parse(signed)).toEqual(signed);
    const singles = signed.uploads.flatMap((u) => (u.kind === "put" ? [u] : []));
    expect(singles.map((u) => [u.path, u.method, u.headers])).toEqual(files.map((f) => [f.path, "PUT", {}]));
    expect(new URL(singles[1]!.url).pathname).toBe(`/storage/jobs/${jobId}/out_1/v0/seg%201.m4s`);

    // Uploaded the way encoder/pipeline/export.ts does it.
    const [master, segment] = singles;
    const upload = (url: string, body: string, type: string) => put(url, body, { "content-type": type });
    expect((await upload(master!.url, "#EXTM3U\n", files[0]!.content_type)).status).toBe(201);
    expect((await upload(segment!.url, "segment-too-long", files[1]!.content_type)).status).toBe(413);
    expect((await upload(segment!.url, "segmt", "video/mp4")).status).toBe(415);
    expect((await upload(segment!.url, "segmt", files[1]!.content_type)).status).toBe(201);
    const stored = await env.MEDIA.get(`jobs/${jobId}/out_1/v0/seg 1.m4s`);
    expect(await stored?.text()).toBe("segmt");
    expect(stored?.httpMetadata?.contentType).toBe("video/iso.segment");
  });

  it("rejects paths that are absolute, climb out, or repeat", async () => {
    for (const path of ["../other_job/x.mp4", "a/../../x", "/etc/passwd", "a//b", ""]) {
      await expect(signUploads(testEnv, BASE, "job_1", [{ output_id: "out_1", path, content_type: "video/mp4", size_bytes: 1 }]), path).rejects.toMatchObject({
        status: 400,
        code: "validation_error",
      });
    }
    const twice = { output_id: "out_1", path: "a.mp4", content_type: "video/mp4", size_bytes: 1 };
    await expect(signUploads(testEnv, BASE, "job_1", [twice, twice])).rejects.toThrow(/twice/);
    await expect(signUploads(testEnv, BASE, "../job", [twice])).rejects.toThrow(/job id/);
  });
});

describe("parseRange", () => {
  it("resolves the three forms against the size", () => {
    expect(parseRange("bytes=0-0", 10)).toEqual({ offset: 0, length: 1 });
    expect(parseRange("bytes=5-", 10)).toEqual({ offset: 5, length: 5 });
    expect(parseRange("bytes=-3", 10)).toEqual({ offset: 7, length: 3 });
    expect(parseRange("bytes=9-5", 10)).toBeNull();
    expect(parseRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=-1", 0)).toBe("unsatisfiable");
  });
});
