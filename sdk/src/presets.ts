import { items, pages } from "./pages";
import { type CallOptions, type Transport, send } from "./transport";
import type { CreatePresetRequest, ListPresetsQuery, Preset } from "./types";

/** Output presets: the organization's own (`pst_…`, by id or slug) and the built-in slugs. */
export class Presets {
  constructor(private readonly transport: Transport) {}

  create(request: CreatePresetRequest, options: CallOptions = {}): Promise<Preset> {
    const { transport } = this;
    return send(transport, () => transport.client.POST("/presets", { body: request, signal: options.signal }), { retry: false, signal: options.signal });
  }

  /** A preset by id or slug: the organization's first, then a built-in one. */
  get(idOrSlug: string, options: CallOptions = {}): Promise<Preset> {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/presets/{id}", { params: { path: { id: idOrSlug } }, signal: options.signal }), { retry: true, signal: options.signal });
  }

  page(query: Partial<ListPresetsQuery> = {}, options: CallOptions = {}) {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/presets", { params: { query }, signal: options.signal }), { retry: true, signal: options.signal });
  }

  /** Every preset of the organization, newest first, or with `{ scope: "builtin" }` every built-in one. */
  list(query: Partial<ListPresetsQuery> = {}, options: CallOptions = {}): AsyncGenerator<Preset, void, undefined> {
    return items(pages((cursor) => this.page({ ...query, cursor }, options), query.cursor));
  }

  delete(idOrSlug: string, options: CallOptions = {}) {
    const { transport } = this;
    return send(transport, () => transport.client.DELETE("/presets/{id}", { params: { path: { id: idOrSlug } }, signal: options.signal }), { retry: false, signal: options.signal });
  }
}
