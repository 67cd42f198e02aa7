import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { S3_TEST_BUCKET } from "./s3-bucket";

/**
 * A real S3-protocol server (s3rver, on disk in a temp dir) on loopback for the origin
 * tests, started by the worker project's config (in Node) beside the encoder double.
 * Returns its endpoint. s3rver checks the access key id but not SigV4 signatures, and does not
 * implement AbortMultipartUpload.
 */
export async function startS3Server(): Promise<string> {
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: mkdtempSync(path.join(os.tmpdir(), "kiln-s3rver-")),
    configureBuckets: [{ name: S3_TEST_BUCKET }],
  });
  const { port } = await server.run();
  // Like the encoder double: it lives as long as the test run, never holding it open.
  server.httpServer.unref();
  return `http://127.0.0.1:${port}`;
}
