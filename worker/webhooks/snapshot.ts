import type { JobView } from "../jobs/job-state";

/**
 * The job as it was at a webhook's transition, kept in the delivery's D1 row for every
 * attempt to render. Gzipped (a view repeats its keys and spec per output, so it shrinks
 * several times) and base64'd into a text column; unsigned, since its URLs are signed at
 * each attempt and would be stale by a late retry anyway.
 */
export async function packSnapshot(view: JobView): Promise<string> {
  const stream = new Blob([JSON.stringify(view)]).stream().pipeThrough(new CompressionStream("gzip"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export async function unpackSnapshot(packed: string): Promise<JobView> {
  const bytes = Uint8Array.from(atob(packed), (ch) => ch.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text()) as JobView;
}
