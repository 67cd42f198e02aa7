import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { ensureDashboard } from "../../scripts/build-dashboard.mjs";
import { startEncoderDouble } from "./encoder-double";
import { S3_TEST_BUCKET } from "./s3-bucket";
import { startConnectionCounter } from "./connection-counter";
import { startS3Server } from "./s3-server";

const root = path.resolve(import.meta.dirname, "../..");

export default defineConfig(async () => {
  // wrangler.toml's [assets] directory must exist before the pool reads it; the pool runs no custom build.
  await ensureDashboard();
  const encoderUrl = await startEncoderDouble();
  // A second encoder of an ENCODER_URL list, for the pool tests (encoder-client.test.ts).
  const secondEncoderUrl = await startEncoderDouble();
  // A real S3 server for origins, secrets and multipart; tests make their own buckets in it.
  const s3 = await startS3Server([S3_TEST_BUCKET]);
  s3.unref();
  // The SSRF suite's targets: counts every connection the Worker makes to them.
  const ssrfCounter = await startConnectionCounter();
  return {
  plugins: [
    cloudflareTest({
      wrangler: { configPath: path.join(root, "wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
          // Tests flush the index through the alarm explicitly instead of waiting on the clock.
          PROGRESS_MIRROR_INTERVAL_MS: "3600000",
          ENCODER_URL: encoderUrl,
          TEST_SECOND_ENCODER_URL: secondEncoderUrl,
          // Tests run in production mode, so they need a real secret, not the dev default.
          STORAGE_SIGNING_SECRET: "test-storage-signing-secret-0123456789abcdef",
          // base64 of 32 bytes: the AES-GCM key for origin credentials at rest.
          ORIGIN_CREDENTIALS_KEY: "a2lsbi10ZXN0LW9yaWdpbi1jcmVkZW50aWFscy1rZXk=",
          ENCODER_TOKEN: "test-encoder-token-0123456789",
          // The one loopback endpoint production mode lets origins and secrets use: the S3 server above.
          TEST_ONLY_ALLOWED_S3_ENDPOINT: s3.url,
          // Many tests keep several jobs of one organization on the encoder double at once;
          // rate-limits.test.ts lowers each limit for its own organizations (org_limits).
          MAX_RUNNING_JOBS_PER_ORG: "1000",
          // Clipzy's upload limit, small enough for a test to go past it in memory.
          CLIPZY_MAX_FILE_SIZE_MB: "1",
          TEST_SSRF_PORT: String(ssrfCounter.port),
          TEST_SSRF_COUNT_URL: ssrfCounter.countUrl,
        },
      },
    }),
  ],
  test: {
    name: "worker",
    root: import.meta.dirname,
    include: ["**/*.test.ts"],
    setupFiles: ["./setup.ts"],
    // The queue consumer logs every dispatch decision as structured info; tests assert on
    // those decisions directly, so the lines are noise here. Errors still print.
    onConsoleLog: (log: string) => !log.includes('"level":"info"'),
  },
  };
});
