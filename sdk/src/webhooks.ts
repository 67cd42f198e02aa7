import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { type CallOptions, type Transport, send } from "./transport";
import type { Job, WebhookDelivery, WebhookEventType, WebhookSecret } from "./types";

/** What a native job's webhook POSTs (Standard Webhooks): the event and the job as it was then. */
export interface WebhookEvent {
  type: WebhookEventType;
  timestamp: string;
  data: Job;
}

/** A request's headers as a server framework has them: a Headers object, or Node's header record. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export { WebhookVerificationError };

/**
 * Checks a delivery's `webhook-signature` against the organization's secret (`whsec_…`) and
 * its `webhook-timestamp` against the clock (5 minutes either way), and answers the event.
 * Pass the body exactly as received. Throws WebhookVerificationError otherwise.
 */
export function verifyWebhook(payload: string | Uint8Array, headers: WebhookHeaders, secret: string): WebhookEvent {
  const header = (name: string): string => {
    const value = headers instanceof Headers ? headers.get(name) : headers[name];
    return (Array.isArray(value) ? value[0] : value) ?? "";
  };
  const body = typeof payload === "string" ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const signed = { "webhook-id": header("webhook-id"), "webhook-timestamp": header("webhook-timestamp"), "webhook-signature": header("webhook-signature") };
  return new Webhook(secret).verify(body, signed) as WebhookEvent;
}

/** The organization's webhook signing secret, a job's deliveries, and verifying what arrives. */
export class Webhooks {
  private cachedSecret: string | null = null;

  constructor(private readonly transport: Transport) {}

  /** The signing secret (created on first use). */
  secret(options: CallOptions = {}): Promise<WebhookSecret> {
    const { transport } = this;
    return send(transport, () => transport.client.GET("/webhooks/secret", { signal: options.signal }), { retry: true, signal: options.signal });
  }

  /** Replaces the signing secret: every attempt from now on is signed with the new one. */
  async rotateSecret(options: CallOptions = {}): Promise<WebhookSecret> {
    const { transport } = this;
    const rotated = await send(transport, () => transport.client.POST("/webhooks/secret/rotate", { signal: options.signal }), { retry: false, signal: options.signal });
    this.cachedSecret = rotated.secret;
    return rotated;
  }

  /** A job's deliveries, newest first, with every attempt. */
  async deliveries(jobId: string, options: CallOptions & { limit?: number } = {}): Promise<WebhookDelivery[]> {
    const { transport } = this;
    const query = options.limit === undefined ? {} : { limit: options.limit };
    const answer = await send(transport, () => transport.client.GET("/jobs/{id}/webhooks", { params: { path: { id: jobId }, query }, signal: options.signal }), {
      retry: true,
      signal: options.signal,
    });
    return answer.data;
  }

  /**
   * verifyWebhook with the organization's secret, fetched once and again when a delivery
   * fails to verify with it (the secret may have been rotated since).
   */
  async verify(payload: string | Uint8Array, headers: WebhookHeaders, options: CallOptions = {}): Promise<WebhookEvent> {
    if (this.cachedSecret !== null) {
      try {
        return verifyWebhook(payload, headers, this.cachedSecret);
      } catch (error) {
        if (!(error instanceof WebhookVerificationError)) throw error;
      }
    }
    this.cachedSecret = (await this.secret(options)).secret;
    return verifyWebhook(payload, headers, this.cachedSecret);
  }
}
