import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { EncoderOptions } from "../../encoder/app";
import type { EncoderEvent } from "../../encoder/contract";
import { startEncoder, startMediaServer, startSink } from "./harness";

export interface EncoderSuite {
  /** The encoder's work root for this file (KILN_WORK_DIR): what a job leaves behind is found here. */
  workDir: string;
  /** Where the file makes its own media. */
  scratch: string;
  /** The media server, the sink and the encoder exist from the file's beforeAll on. */
  media: Awaited<ReturnType<typeof startMediaServer>>;
  sink: Awaited<ReturnType<typeof startSink>>;
  encoder: Awaited<ReturnType<typeof startEncoder>>;
  /** The events the sink received of one job, in order. */
  eventsOf(jobId: string): EncoderEvent[];
}

/**
 * One encoder test file's parts, started before its tests and closed after them: the
 * files `serve` makes (in `scratch`) on a loopback media server, the sink standing in
 * for the Worker, and an encoder app (two slots and 200 ms heartbeats unless `options`
 * say otherwise) working in a work root of the file's own.
 */
export function encoderSuite(
  name: string,
  serve: (scratch: string) => Record<string, string> | Promise<Record<string, string>>,
  options: Partial<EncoderOptions> = {},
): EncoderSuite {
  const workDir = mkdtempSync(path.join(os.tmpdir(), `kiln-${name}-work-`));
  process.env.KILN_WORK_DIR = workDir;
  const scratch = mkdtempSync(path.join(os.tmpdir(), `kiln-${name}-media-`));
  const suite = { workDir, scratch, eventsOf: (jobId: string) => suite.sink.events.filter((e) => e.job_id === jobId) } as EncoderSuite;
  beforeAll(async () => {
    suite.media = await startMediaServer(await serve(scratch));
    suite.sink = await startSink();
    suite.encoder = await startEncoder({ concurrency: 2, heartbeatMs: 200, ...options });
  });
  afterAll(async () => {
    await suite.encoder.close();
    await suite.sink.close();
    await suite.media.close();
  });
  return suite;
}
