import { AwsClient } from "aws4fetch";
import { keyProblem } from "../storage/keys";
import type { OriginCredentials } from "./crypto";
import { MAX_PRESIGN_SECONDS, type OriginLocation, objectUrl, resolvedEndpoint } from "./s3";

/**
 * S3 multipart upload for outputs written to a user's bucket, signed with aws4fetch
 * (SigV4): the Worker creates the upload, hands the encoder one query-signed UploadPart
 * URL per part (bound to `partNumber` and `uploadId`), and completes or aborts it with
 * the parts' ETags the encoder reports. The encoder never holds the credentials. Keys
 * are relative to the origin's `path`, as in ./s3.ts.
 */

export interface S3MultipartTarget {
  origin: OriginLocation;
  credentials: OriginCredentials;
}

export type S3MultipartOperation = "CreateMultipartUpload" | "CompleteMultipartUpload" | "AbortMultipartUpload" | "HeadObject";

/** An S3 answer that was not a success: the operation, HTTP status and S3 `<Code>`. */
export class S3MultipartError extends Error {
  override name = "S3MultipartError";
  constructor(
    readonly operation: S3MultipartOperation,
    readonly status: number,
    readonly s3Code: string | null,
    message: string,
  ) {
    super(message);
  }
}

const REQUEST_TIMEOUT_MS = 30_000;
/** Completion assembles up to 10,000 parts; S3 may take minutes for large objects. */
const COMPLETE_TIMEOUT_MS = 10 * 60_000;
const MAX_PART_NUMBER = 10_000;

function client(target: S3MultipartTarget): AwsClient {
  return new AwsClient({
    accessKeyId: target.credentials.access_key_id,
    secretAccessKey: target.credentials.secret_access_key,
    service: "s3",
    region: target.origin.region,
    // The caller decides what a failure means (the encoder retries parts, the export aborts).
    retries: 0,
  });
}

function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new TypeError(`invalid object key ${JSON.stringify(key)}: ${problem}`);
}

function uploadUrl(target: S3MultipartTarget, key: string, uploadId: string): URL {
  checkKey(key);
  if (uploadId.length === 0) throw new TypeError("uploadId is empty");
  const url = objectUrl(target.origin, key);
  url.searchParams.set("uploadId", uploadId);
  return url;
}

const xmlText = (text: string) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const xmlDecode = (text: string) =>
  text.replaceAll("&quot;", '"').replaceAll("&apos;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
const element = (xml: string, name: string) => {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match ? xmlDecode(match[1]!) : null;
};

/**
 * One signed request. S3 answers CompleteMultipartUpload with 200 and an `<Error>` body
 * when assembly fails after it began, so an error body fails the request whatever the status.
 */
async function send(target: S3MultipartTarget, operation: S3MultipartOperation, url: URL, init: { method: string; body?: string; headers?: Record<string, string> }, timeoutMs = REQUEST_TIMEOUT_MS): Promise<string> {
  const request = await client(target).sign(url.toString(), init);
  // A redirect (wrong region) is an answer; a signed request never follows one elsewhere.
  const response = await fetch(request, { redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.text();
  if (response.ok && !/<Error>/.test(body)) return body;
  const code = element(body, "Code");
  throw new S3MultipartError(
    operation,
    response.status,
    code,
    `${operation} on bucket ${target.origin.bucket} at ${resolvedEndpoint(target.origin)} was answered ${code ?? `HTTP ${response.status}`}`,
  );
}

/** Begins a multipart upload of `key`; the object will have `contentType`. Returns the upload id. */
export async function createOriginMultipartUpload(target: S3MultipartTarget, key: string, contentType: string): Promise<string> {
  checkKey(key);
  const url = objectUrl(target.origin, key);
  url.searchParams.set("uploads", "");
  const body = await send(target, "CreateMultipartUpload", url, { method: "POST", headers: { "content-type": contentType } });
  const uploadId = element(body, "UploadId");
  if (!uploadId) throw new S3MultipartError("CreateMultipartUpload", 200, null, `CreateMultipartUpload on bucket ${target.origin.bucket} answered without an UploadId`);
  return uploadId;
}

/** A query-signed UploadPart URL (PUT) for part `partNumber` (1…10,000), valid for `expiresInSeconds`. */
export async function presignOriginPartUrl(target: S3MultipartTarget, key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<string> {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) throw new RangeError(`partNumber must be 1…${MAX_PART_NUMBER}`);
  const expires = Math.floor(expiresInSeconds);
  if (!(expires >= 1 && expires <= MAX_PRESIGN_SECONDS)) throw new RangeError(`expiresInSeconds must be 1…${MAX_PRESIGN_SECONDS}`);
  const url = uploadUrl(target, key, uploadId);
  url.searchParams.set("partNumber", String(partNumber));
  url.searchParams.set("X-Amz-Expires", String(expires));
  const signed = await client(target).sign(url.toString(), { method: "PUT", aws: { signQuery: true } });
  return signed.url;
}

/** Assembles the object from its parts (numbered 1…n, with the ETags their PUTs answered). */
export async function completeOriginMultipartUpload(
  target: S3MultipartTarget,
  key: string,
  uploadId: string,
  parts: { part_number: number; etag: string }[],
): Promise<{ etag: string | null }> {
  if (parts.length === 0) throw new RangeError("a multipart upload needs at least one part");
  const sorted = [...parts].sort((a, b) => a.part_number - b.part_number);
  const xml = `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${sorted
    .map((p) => `<Part><PartNumber>${p.part_number}</PartNumber><ETag>${xmlText(p.etag)}</ETag></Part>`)
    .join("")}</CompleteMultipartUpload>`;
  const body = await send(target, "CompleteMultipartUpload", uploadUrl(target, key, uploadId), { method: "POST", body: xml, headers: { "content-type": "application/xml" } }, COMPLETE_TIMEOUT_MS);
  return { etag: element(body, "ETag") };
}

/** Drops an unfinished upload and its parts; an upload already gone (NoSuchUpload) is fine. */
export async function abortOriginMultipartUpload(target: S3MultipartTarget, key: string, uploadId: string): Promise<void> {
  try {
    await send(target, "AbortMultipartUpload", uploadUrl(target, key, uploadId), { method: "DELETE" });
  } catch (err) {
    if (err instanceof S3MultipartError && err.s3Code === "NoSuchUpload") return;
    throw err;
  }
}

/** The stored size of `key`, so completion can be checked against the file the encoder has. */
export async function originObjectSize(target: S3MultipartTarget, key: string): Promise<number> {
  checkKey(key);
  const request = await client(target).sign(objectUrl(target.origin, key).toString(), { method: "HEAD" });
  const response = await fetch(request, { redirect: "manual", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const size = Number(response.headers.get("content-length"));
  if (!response.ok || !Number.isSafeInteger(size)) {
    throw new S3MultipartError("HeadObject", response.status, null, `HeadObject on bucket ${target.origin.bucket} was answered HTTP ${response.status}`);
  }
  return size;
}
