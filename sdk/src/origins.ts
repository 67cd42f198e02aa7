import { items, pages } from "./pages";
import { type CallOptions, type Transport, send } from "./transport";
import type { CreateOriginRequest, Origin, PageQuery } from "./types";

/** Users' own buckets (S3, R2, GCS) jobs read inputs from and write outputs to. */
export class Origins {
  constructor(private readonly transport: Transport) {}

  /** Connects a bucket; Kiln proves the permissions asked for with real requests first. */
  create(request: CreateOriginRequest, options: CallOptions = {}): Promise<Origin> {
    const { transport } = this;
    return send(transport, () => transport.client.POST("/origins", { body: request, signal: options.signal }), { retry: false, signal: options.signal });
  }

  get(id: string, options: CallOptions = {}): Promise<Origin> {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/origins/{id}", { params: { path: { id } }, signal: options.signal }), { retry: true, signal: options.signal });
  }

  page(query: Partial<PageQuery> = {}, options: CallOptions = {}) {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/origins", { params: { query }, signal: options.signal }), { retry: true, signal: options.signal });
  }

  /** Every origin, newest first. */
  list(query: Partial<PageQuery> = {}, options: CallOptions = {}): AsyncGenerator<Origin, void, undefined> {
    return items(pages((cursor) => this.page({ ...query, cursor }, options), query.cursor));
  }

  delete(id: string, options: CallOptions = {}) {
    const { transport } = this;
    return send(transport, () => transport.client.DELETE("/origins/{id}", { params: { path: { id } }, signal: options.signal }), { retry: false, signal: options.signal });
  }
}
