import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";

export interface S3Server {
  /** `http://127.0.0.1:<port>`, the endpoint origins and secrets name. */
  url: string;
  close(): Promise<void>;
  /** Lets the process exit while the server still runs (for a server a config file starts and never stops). */
  unref(): void;
}

/**
 * A real S3-protocol server on loopback (s3rver, files in a temp dir) with the given
 * buckets: the origin side of the Worker and e2e tests.
 */
export async function startS3Server(buckets: string[] = []): Promise<S3Server> {
  const directory = mkdtempSync(path.join(os.tmpdir(), "kiln-s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const { port } = await server.run();
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
    // s3rver keeps its http.Server as an undeclared property.
    unref: () => (server as unknown as { httpServer: Server }).httpServer.unref(),
  };
}
