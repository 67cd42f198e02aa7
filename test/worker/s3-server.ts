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
  // Neither s3rver's types nor its docs name its file store; it is the property `store`.
  oneWriteAtATime((server as unknown as { store: FileStore }).store);
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

/** The writes of s3rver's file store (lib/stores/filesystem.js). */
type FileStore = Record<"putObject" | "copyObject" | "deleteObject", (...args: unknown[]) => Promise<unknown>>;

/**
 * s3rver's file store is not safe for concurrent writes: a delete removes every folder it
 * leaves empty, so a put into that folder at the same moment opens its file in a folder
 * that is gone, and the stream's unhandled error ends the whole test process (the fuzz
 * suite's concurrent origin checks, each a put and a delete in one folder, did). Puts,
 * copies and deletes here take turns; reads are untouched. Completing a multipart upload
 * is not wrapped: it writes through putObject, which takes its turn then.
 */
function oneWriteAtATime(store: FileStore): void {
  let last: Promise<unknown> = Promise.resolve();
  for (const name of ["putObject", "copyObject", "deleteObject"] as const) {
    const write = store[name].bind(store);
    store[name] = (...args) => {
      const turn = last.then(() => write(...args));
      last = turn.catch(() => undefined);
      return turn;
    };
  }
}
