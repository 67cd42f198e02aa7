import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../../worker/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** The port of the SSRF suite's connection counter (connection-counter.ts), and where its count is read. */
      TEST_SSRF_PORT: string;
      TEST_SSRF_COUNT_URL: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../../worker/index");
    }
  }
}
