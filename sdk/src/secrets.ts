import { items, pages } from "./pages";
import { type CallOptions, type Transport, send } from "./transport";
import type { CreateSecretRequest, Secret, PageQuery } from "./types";

/** Named S3-style credentials jobs use as `s3://{name}@bucket/key`; never shown again once stored. */
export class Secrets {
  constructor(private readonly transport: Transport) {}

  /** Stores credentials under a name unique in the organization (409 secret_name_taken otherwise). */
  create(request: CreateSecretRequest, options: CallOptions = {}): Promise<Secret> {
    const { transport } = this;
    return send(transport, () => transport.client.POST("/secrets", { body: request, signal: options.signal }), { retry: false, signal: options.signal });
  }

  get(id: string, options: CallOptions = {}): Promise<Secret> {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/secrets/{id}", { params: { path: { id } }, signal: options.signal }), { retry: true, signal: options.signal });
  }

  page(query: Partial<PageQuery> = {}, options: CallOptions = {}) {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/secrets", { params: { query }, signal: options.signal }), { retry: true, signal: options.signal });
  }

  /** Every secret, newest first. */
  list(query: Partial<PageQuery> = {}, options: CallOptions = {}): AsyncGenerator<Secret, void, undefined> {
    return items(pages((cursor) => this.page({ ...query, cursor }, options), query.cursor));
  }

  delete(id: string, options: CallOptions = {}) {
    const { transport } = this;
    return send(transport, () => transport.client.DELETE("/secrets/{id}", { params: { path: { id } }, signal: options.signal }), { retry: false, signal: options.signal });
  }
}
