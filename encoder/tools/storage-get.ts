import { rm } from "node:fs/promises";
import path from "node:path";
import { networkAccess } from "../net/guarded-fetch";
import { importInput } from "../pipeline/import";
import type { StepContext, StepEnd, StepOf } from "./step";
import { ensureDir } from "./workdir-files";

/** Where a URL points, for the log: scheme, host and path, never its query (a presigned URL's signature). */
export const shownUrl = (url: string): string => {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
};

/**
 * storage:get — each file through the guarded import (the order's limits, no private
 * networks unless allowed), into base_dir; ends with the bytes it wrote, the job's input.
 */
export async function getFiles(step: StepOf<"storage:get">, { order, runtime, place, log, progress }: StepContext): Promise<StepEnd> {
  const target = await ensureDir(place.dir, step.base_dir ?? "");
  let written = 0;
  for (const [i, file] of step.files.entries()) {
    const dest = path.join(target, file.name);
    // A name fetched again replaces the file; rm never follows a symlink.
    await rm(dest, { force: true });
    log.add(`fetching ${shownUrl(file.url)} to ${path.relative(place.dir, dest)}`);
    const started = Date.now();
    const { bytes } = await importInput(file.url, dest, {
      maxBytes: order.limits.max_input_bytes,
      connectTimeoutMs: order.limits.connect_timeout_ms,
      readTimeoutMs: order.limits.read_timeout_ms,
      ...networkAccess(runtime),
      signal: runtime.signal,
      onProgress: (got, total) => {
        if (total) progress((i + got / total) / step.files.length);
      },
    });
    written += bytes;
    log.add(`fetched ${file.name}: ${bytes} bytes in ${Date.now() - started} ms`);
  }
  return { bytes_in: written };
}
