import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  S3MultipartError,
  type S3MultipartTarget,
  abortOriginMultipartUpload,
  completeOriginMultipartUpload,
  createOriginMultipartUpload,
  presignOriginPartUrl,
} from "../../worker/origins/s3-multipart";
import { S3_TEST_BUCKET, S3_TEST_CREDENTIALS } from "./s3-bucket";

/**
 * S3 multipart upload for origins against a real S3-protocol server: s3rver on
 * loopback (started by this project's vitest config). s3rver checks the access key id
 * but not SigV4 signatures, and answers AbortMultipartUpload with MethodNotAllowed;
 * what it does check is the protocol: the subresources (uploads, uploadId, partNumber),
 * the XML in both directions, the parts' ETags and the assembled object.
 */
const MIB = 1024 * 1024;

function target(extra: Partial<S3MultipartTarget["origin"]> = {}, credentials = S3_TEST_CREDENTIALS): S3MultipartTarget {
  return { origin: { provider: "s3", bucket: S3_TEST_BUCKET, path: "exports", region: "us-east-1", endpoint: env.TEST_ONLY_ALLOWED_S3_ENDPOINT!, ...extra }, credentials };
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

const sha256 = async (bytes: ArrayBuffer | Uint8Array) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

const objectAt = (key: string) => fetch(`${env.TEST_ONLY_ALLOWED_S3_ENDPOINT!}/${S3_TEST_BUCKET}/exports/${key}`);

/** Uploads `data` in parts of `partSize` through presigned UploadPart URLs, as the encoder does. */
async function uploadParts(t: S3MultipartTarget, key: string, uploadId: string, data: Uint8Array, partSize: number) {
  const parts: { part_number: number; etag: string }[] = [];
  for (let offset = 0, n = 1; offset < data.length; offset += partSize, n++) {
    const url = await presignOriginPartUrl(t, key, uploadId, n, 600);
    const body = data.subarray(offset, Math.min(offset + partSize, data.length));
    const res = await fetch(url, { method: "PUT", body, headers: { "content-length": String(body.length) } });
    expect(res.status, await res.clone().text()).toBe(200);
    parts.push({ part_number: n, etag: res.headers.get("etag")! });
  }
  return parts;
}

describe("S3 multipart upload for origins (s3rver)", () => {
  it("creates an upload, PUTs parts to presigned URLs and completes an object with the same bytes", async () => {
    const t = target();
    const key = `big-${crypto.randomUUID()}.mp4`;
    const data = randomBytes(11 * MIB + 777);
    const uploadId = await createOriginMultipartUpload(t, key, "video/mp4");
    expect(uploadId).toMatch(/^\w+$/);

    const url = new URL(await presignOriginPartUrl(t, key, uploadId, 2, 900));
    expect(url.pathname).toBe(`/${S3_TEST_BUCKET}/exports/${key}`);
    expect(url.searchParams.get("partNumber")).toBe("2");
    expect(url.searchParams.get("uploadId")).toBe(uploadId);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(/^S3RVER\/\d{8}\/us-east-1\/s3\/aws4_request$/);
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);

    const parts = await uploadParts(t, key, uploadId, data, 5 * MIB);
    expect(parts).toHaveLength(3);
    // Completion takes the parts in any order and answers the object's ETag.
    const done = await completeOriginMultipartUpload(t, key, uploadId, [parts[2]!, parts[0]!, parts[1]!]);
    expect(done.etag).toMatch(/\S/);

    const stored = await objectAt(key);
    expect(stored.status).toBe(200);
    expect(stored.headers.get("content-type")).toBe("video/mp4");
    const bytes = await stored.arrayBuffer();
    expect(bytes.byteLength).toBe(data.length);
    expect(await sha256(bytes)).toBe(await sha256(data));
  });

  it("fails completion of an upload the server never began, leaving no object", async () => {
    // (s3rver cannot be asked to assemble a part it lacks: it crashes reading the file.)
    const t = target();
    const key = `unknown-${crypto.randomUUID()}.mp4`;
    const failed = completeOriginMultipartUpload(t, key, "0123456789abcdef0123456789abcdef", [{ part_number: 1, etag: '"00000000000000000000000000000000"' }]);
    await expect(failed).rejects.toBeInstanceOf(S3MultipartError);
    await expect(failed).rejects.toMatchObject({ operation: "CompleteMultipartUpload", status: expect.any(Number) });
    expect((await objectAt(key)).status).toBe(404);
  });

  it("aborts through the upload's subresource (DELETE ?uploadId), never the object itself", async () => {
    const t = target();
    const key = `kept-${crypto.randomUUID()}.mp4`;
    const uploadId = await createOriginMultipartUpload(t, key, "video/mp4");
    const parts = await uploadParts(t, key, uploadId, randomBytes(MIB), MIB);
    await completeOriginMultipartUpload(t, key, uploadId, parts);
    // s3rver routes DELETE ?uploadId to AbortMultipartUpload, which it does not implement:
    // the error comes back with its code, and the object (what a DELETE without the
    // subresource would remove) is still there.
    await expect(abortOriginMultipartUpload(t, key, uploadId)).rejects.toMatchObject({ operation: "AbortMultipartUpload", status: 405, s3Code: "MethodNotAllowed" });
    expect((await objectAt(key)).status).toBe(200);
  });

  it("reports S3's refusals with their codes: an unknown access key, a missing bucket", async () => {
    await expect(createOriginMultipartUpload(target({}, { access_key_id: "AKIAUNKNOWN", secret_access_key: "x" }), "a.mp4", "video/mp4")).rejects.toMatchObject({
      status: 403,
      s3Code: "InvalidAccessKeyId",
    });
    await expect(createOriginMultipartUpload(target({ bucket: "no-such-bucket" }), "a.mp4", "video/mp4")).rejects.toMatchObject({ status: 404, s3Code: "NoSuchBucket" });
  });

  it("refuses bad keys, part numbers and expiries before any request", async () => {
    const t = target();
    await expect(createOriginMultipartUpload(t, "../escape.mp4", "video/mp4")).rejects.toThrow(TypeError);
    for (const n of [0, 10_001, 1.5]) await expect(presignOriginPartUrl(t, "a.mp4", "id", n, 60)).rejects.toThrow(RangeError);
    for (const s of [0, 7 * 24 * 3600 + 1]) await expect(presignOriginPartUrl(t, "a.mp4", "id", 1, s)).rejects.toThrow(RangeError);
    await expect(presignOriginPartUrl(t, "a.mp4", "", 1, 60)).rejects.toThrow(TypeError);
    await expect(completeOriginMultipartUpload(t, "a.mp4", "id", [])).rejects.toThrow(RangeError);
  });
});
