/** The bucket the worker project's s3rver (test/worker/s3-server.ts) starts with. */
export const S3_TEST_BUCKET = "kiln-origin-tests";
/** s3rver's one account: it refuses any other access key id (it does not check signatures). */
export const S3_TEST_CREDENTIALS = { access_key_id: "S3RVER", secret_access_key: "S3RVER" };
