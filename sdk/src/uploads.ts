import { openAsBlob } from "node:fs";
import path from "node:path";
import { parseErrorBody } from "./errors";
import { mediaTypeFor } from "./media-types";
import { items, pages } from "./pages";
import { type CallOptions, type Transport, send } from "./transport";
import { type TusUploadOptions, type TusUploadResult, tusUpload } from "./tus";
import type { CreateUploadRequest, ListUploadsQuery, Upload } from "./types";

/** A file to upload: a path on this machine, or its bytes. */
export type UploadSource = string | Uint8Array | Blob;

export interface PutUploadOptions extends CallOptions {
  /** The stored object's name; a path's base name by default. */
  filename?: string;
  /** By default, from the file name's extension. */
  contentType?: string;
}

export class Uploads {
  constructor(private readonly transport: Transport) {}

  /** Records a direct upload and answers it with its signed, size-capped `upload_url`; `put()` does the rest too. */
  create(request: CreateUploadRequest, options: CallOptions = {}): Promise<Upload> {
    const { transport } = this;
    return send(transport, () => transport.client.POST("/uploads", { body: request, signal: options.signal }), { retry: false, signal: options.signal });
  }

  /**
   * Uploads a file in one PUT (`POST /v1/uploads`, then the PUT) and answers the upload,
   * `ready`: its id is a job `input`. For large files or flaky networks, `tus()` resumes.
   */
  async put(source: UploadSource, options: PutUploadOptions = {}): Promise<Upload> {
    const filename = options.filename ?? (typeof source === "string" ? path.basename(source) : undefined);
    const body = typeof source === "string" ? await openAsBlob(source) : source instanceof Blob ? source : new Blob([source]);
    const contentType = options.contentType ?? (filename ? mediaTypeFor(filename) : body.type || "application/octet-stream");
    const created = await this.create({ ...(filename ? { filename } : {}), content_type: contentType, max_bytes: Math.max(1, body.size) }, options);
    const { transport } = this;
    // A PUT of the same bytes to the same URL is safe to repeat.
    await send(
      transport,
      async () => {
        const response = await transport.fetch(new Request(created.upload_url!, { method: "PUT", body, headers: { "content-type": contentType }, signal: options.signal }));
        const text = await response.text();
        return { data: true as const, error: response.ok ? undefined : parseErrorBody(text), response };
      },
      { retry: true, signal: options.signal },
    );
    return this.get(created.id, options);
  }

  /**
   * Uploads a file with tus, in chunks, resuming where an earlier run stopped when given a
   * `store` (see FileResumeStore). Answers the upload and the offset it resumed from.
   */
  tus(source: string | Uint8Array, options: TusUploadOptions = {}): Promise<TusUploadResult> {
    return tusUpload(this.transport, (id) => this.get(id, options), source, options);
  }

  get(id: string, options: CallOptions = {}): Promise<Upload> {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/uploads/{id}", { params: { path: { id } }, signal: options.signal }), { retry: true, signal: options.signal });
  }

  page(query: Partial<ListUploadsQuery> = {}, options: CallOptions = {}) {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/uploads", { params: { query }, signal: options.signal }), { retry: true, signal: options.signal });
  }

  /** Every upload, newest first, fetching pages as the loop needs them. */
  list(query: Partial<ListUploadsQuery> = {}, options: CallOptions = {}): AsyncGenerator<Upload, void, undefined> {
    return items(pages((cursor) => this.page({ ...query, cursor }, options), query.cursor));
  }

  /** Deletes the upload and its stored object. */
  delete(id: string, options: CallOptions = {}): Promise<Upload> {
    const { transport } = this;
    return send(transport, () => transport.client.DELETE("/uploads/{id}", { params: { path: { id } }, signal: options.signal }), { retry: false, signal: options.signal });
  }
}
