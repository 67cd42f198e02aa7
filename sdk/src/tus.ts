import { createReadStream } from "node:fs";
import path from "node:path";
import { DetailedError, Upload as TusUpload, type UrlStorage } from "tus-js-client";
import { errorFromAnswer, parseErrorBody } from "./errors";
import { mediaTypeFor } from "./media-types";
import type { CallOptions, Transport } from "./transport";
import type { Upload } from "./types";

export interface TusUploadOptions extends CallOptions {
  /** The stored object's name; a path's base name by default. */
  filename?: string;
  /** By default, from the file name's extension. */
  contentType?: string;
  /**
   * Bytes per PATCH (default 50 MiB): a Worker takes bodies up to 100 MB, and an interrupted
   * PATCH is resumed from the server's offset whatever its size.
   */
  chunkSize?: number;
  /** Bytes the server has, of the total: resumed bytes count from the start. */
  onProgress?: (bytesSent: number, bytesTotal: number) => void;
  /** Called once, before any byte is sent, when this run resumes an earlier one's upload: the server's offset. */
  onResume?: (offset: number) => void;
  /** Remembers the upload's URL so a later run resumes it (a FileResumeStore); without one, only this run can. */
  store?: UrlStorage;
  /** Waits before each retry of a failed PATCH or HEAD (tus-js-client's; default 0, 1, 3, 5 s). */
  retryDelays?: number[];
}

export interface TusUploadResult {
  upload: Upload;
  /** The offset the server reported when this run resumed an earlier one's upload; null for a fresh upload. */
  resumedFrom: number | null;
}

const DEFAULT_CHUNK_BYTES = 50 * 1024 * 1024;

/** Uploads `source` to /v1/uploads/tus with tus-js-client and answers the finished upload. */
export async function tusUpload(transport: Transport, getUpload: (id: string) => Promise<Upload>, source: string | Uint8Array, options: TusUploadOptions): Promise<TusUploadResult> {
  const filename = options.filename ?? (typeof source === "string" ? path.basename(source) : undefined);
  const contentType = options.contentType ?? mediaTypeFor(filename);
  // A file read as a stream of its path can be re-read from any offset, and fingerprints by path, size and mtime.
  const input = typeof source === "string" ? createReadStream(source) : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  let resumedFrom: number | null = null;
  let resuming = false;
  let abort: () => void = () => undefined;

  const url = await new Promise<string>((resolve, reject) => {
    const upload = new TusUpload(input, {
      endpoint: `${transport.apiUrl}/uploads/tus`,
      headers: transport.headers,
      metadata: { ...(filename ? { filename } : {}), filetype: contentType },
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK_BYTES,
      ...(options.retryDelays ? { retryDelays: options.retryDelays } : {}),
      ...(options.store ? { urlStorage: options.store, storeFingerprintForResuming: true, removeFingerprintOnSuccess: true } : { storeFingerprintForResuming: false }),
      onProgress: options.onProgress ?? null,
      onAfterResponse: (request, response) => {
        // Resuming starts with a HEAD; its Upload-Offset is where this run begins.
        if (resuming && request.getMethod() === "HEAD" && response.getStatus() === 200) {
          resumedFrom = Number(response.getHeader("Upload-Offset"));
          resuming = false;
          options.onResume?.(resumedFrom);
        }
      },
      onSuccess: () => resolve(upload.url!),
      onError: (error) => reject(tusError(error)),
    });
    abort = () => {
      void upload.abort(false);
      reject(options.signal!.reason);
    };
    if (options.signal?.aborted) return abort();
    options.signal?.addEventListener("abort", abort, { once: true });
    void (async () => {
      const previous = options.store ? await upload.findPreviousUploads() : [];
      const latest = previous.sort((a, b) => b.creationTime.localeCompare(a.creationTime))[0];
      if (latest) {
        resuming = true;
        upload.resumeFromPreviousUpload(latest);
      }
      upload.start();
    })().catch(reject);
  }).finally(() => {
    options.signal?.removeEventListener("abort", abort);
    if (!Buffer.isBuffer(input)) input.destroy();
  });

  const id = new URL(url).pathname.split("/").pop()!;
  return { upload: await getUpload(id), resumedFrom };
}

/** A tus failure the API answered becomes the KilnError its envelope names. */
function tusError(error: Error): Error {
  const response = error instanceof DetailedError ? error.originalResponse : null;
  if (!response) return error;
  return errorFromAnswer(response.getStatus(), (name) => response.getHeader(name), parseErrorBody(response.getBody()));
}
