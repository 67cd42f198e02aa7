import { type CallOptions, type Transport, send } from "./transport";
import type { ApiKey, CreatedApiKey, CreateKeyRequest } from "./types";

/** The organization's API keys. A key can only grant what it holds itself. */
export class Keys {
  constructor(private readonly transport: Transport) {}

  /** Creates a key; its `secret` is in this answer only. */
  create(request: CreateKeyRequest, options: CallOptions = {}): Promise<CreatedApiKey> {
    const { transport } = this;
    return send(transport, () => transport.client.POST("/keys", { body: request, signal: options.signal }), { retry: false, signal: options.signal });
  }

  async list(options: CallOptions = {}): Promise<ApiKey[]> {
    const { transport } = this;
    const answer = await send(transport, () => transport.client.GET("/keys", { signal: options.signal }), { retry: true, signal: options.signal });
    return answer.data;
  }

  revoke(id: string, options: CallOptions = {}) {
    const { transport } = this;
    return send(transport, () => transport.client.DELETE("/keys/{id}", { params: { path: { id } }, signal: options.signal }), { retry: false, signal: options.signal });
  }
}
