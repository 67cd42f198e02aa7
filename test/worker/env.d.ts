import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../../worker/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** s3rver on loopback (test/worker/s3-server.ts). */
      S3_TEST_ENDPOINT: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../../worker/index");
    }
  }
}
