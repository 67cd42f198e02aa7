/** The bucket of the S3-protocol tests (test/worker/s3-server.ts); s3rver's own account signs as S3RVER / S3RVER. */
export const S3_TEST_BUCKET = "kiln-origin-tests";
export const S3_TEST_CREDENTIALS = { access_key_id: "S3RVER", secret_access_key: "S3RVER" };
