import { createWriteStream } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { dashReferences } from "./dash";
import { parseErrorBody } from "./errors";
import { hlsReferences } from "./hls";
import { type CallOptions, type Transport, send } from "./transport";
import type { Output } from "./types";

export interface DownloadOptions extends CallOptions {
  /** Called after each file is written, with the totals so far. */
  onProgress?: (progress: { files: number; bytes: number }) => void;
  /** Files of a package fetched at once (default 4). */
  concurrency?: number;
}

export interface DownloadResult {
  /** The file written, or a package's master playlist (its MPD for DASH). */
  path: string;
  /** Every file written. */
  files: string[];
  bytes: number;
}

const isManifest = (url: URL) => /\.(m3u8|mpd)$/i.test(url.pathname);

/**
 * Downloads an output (or a signed URL) to this machine. A file goes to `destination`, or
 * into it when it is a directory. A package (HLS, DASH, adaptive) goes into the directory
 * `destination`: its playlists or MPD and every file they name, each at its path relative
 * to the master, so the copy plays from disk. Files a playlist names outside the package
 * (a DRM key route) are not fetched.
 */
export async function downloadOutput(transport: Transport, output: Output | string, destination: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const urls = typeof output === "string" ? [output] : [output.output_url, output.manifest_url].filter((url): url is string => url !== null);
  if (urls.length === 0) throw new Error(`Output ${(output as Output).id} has no URL (status ${(output as Output).status})`);
  const first = new URL(urls[0]!);
  const totals = { files: 0, bytes: 0 };
  const files: string[] = [];
  const written = (file: string, bytes: number) => {
    files.push(file);
    totals.files += 1;
    totals.bytes += bytes;
    options.onProgress?.({ ...totals });
  };

  if (!isManifest(first)) {
    const isDirectory = await stat(destination).then((s) => s.isDirectory(), () => false);
    const file = isDirectory ? path.join(destination, decodeURIComponent(path.posix.basename(first.pathname))) : destination;
    written(file, await saveTo(file, await get(transport, first, options)));
    return { path: file, files, bytes: totals.bytes };
  }

  const root = new URL(".", first);
  const where = (url: URL): string | null => {
    if (url.origin !== root.origin || !url.pathname.startsWith(root.pathname)) return null;
    const file = path.resolve(destination, decodeURIComponent(url.pathname.slice(root.pathname.length)));
    return file.startsWith(path.resolve(destination) + path.sep) ? file : null;
  };
  // The manifests first, one by one, for what they name; then the media files, several at once.
  const seen = new Set<string>();
  const manifests: URL[] = [];
  const media: URL[] = [];
  const add = (url: URL) => {
    if (where(url) === null || seen.has(url.href)) return;
    seen.add(url.href);
    (isManifest(url) ? manifests : media).push(url);
  };
  urls.forEach((url) => add(new URL(url)));
  for (const url of manifests) {
    const file = where(url)!;
    const text = await (await get(transport, url, options)).text();
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    written(file, Buffer.byteLength(text));
    const references = /\.mpd$/i.test(url.pathname) ? dashReferences(text) : hlsReferences(text);
    for (const reference of references) add(new URL(reference, url));
  }
  const workers = Array.from({ length: options.concurrency ?? 4 }, async () => {
    for (let url = media.shift(); url; url = media.shift()) {
      const file = where(url)!;
      written(file, await saveTo(file, await get(transport, url, options)));
    }
  });
  await Promise.all(workers);
  return { path: where(first)!, files, bytes: totals.bytes };
}

/** A GET of a signed URL, tried again on network errors and 5xx; its body is not read yet. */
function get(transport: Transport, url: URL, options: CallOptions): Promise<Response> {
  return send(
    transport,
    async () => {
      const response = await transport.fetch(new Request(url, { signal: options.signal }));
      return response.ok ? { data: response, response } : { error: parseErrorBody(await response.text()), response };
    },
    { retry: true, signal: options.signal },
  );
}

async function saveTo(file: string, response: Response): Promise<number> {
  await mkdir(path.dirname(file), { recursive: true });
  let bytes = 0;
  const body = Readable.fromWeb(response.body! as import("node:stream/web").ReadableStream<Uint8Array>);
  body.on("data", (chunk: Buffer) => (bytes += chunk.length));
  await pipeline(body, createWriteStream(file));
  return bytes;
}
