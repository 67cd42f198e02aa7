import createClient, { type Client } from "openapi-fetch";
import { KilnError, errorFromResponse } from "./errors";
import type { paths } from "./generated/openapi";
import { type RetryPolicy, isNetworkError, retryDelayMs, retryableStatus, sleep } from "./retry";
import type { WebSocketConstructor } from "./watch-socket";

export type Fetch = (input: Request) => Promise<Response>;

/** What every resource shares: the typed client and how to reach and authenticate to the API. */
export interface Transport {
  client: Client<paths>;
  /** The deployment's root, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** The native API's root: `${baseUrl}/v1`. */
  apiUrl: string;
  /** Authorization (and X-Organization-ID) for requests made outside the typed client: tus, Watch. */
  headers: Record<string, string>;
  fetch: Fetch;
  retry: RetryPolicy;
  /** Null when no WebSocket implementation is available: Watch reads the NDJSON stream instead. */
  WebSocket: WebSocketConstructor | null;
}

export interface TransportOptions {
  baseUrl: string;
  apiKey: string;
  organizationId?: string;
  fetch?: Fetch;
  retry: RetryPolicy;
  WebSocket: WebSocketConstructor | null;
}

export function createTransport(options: TransportOptions): Transport {
  // Either the deployment's root or its /v1 is accepted: both name the same API.
  const baseUrl = options.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
  const apiUrl = `${baseUrl}/v1`;
  const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}` };
  if (options.organizationId) headers["x-organization-id"] = options.organizationId;
  const fetch: Fetch = options.fetch ?? ((request) => globalThis.fetch(request));
  const client = createClient<paths>({ baseUrl: apiUrl, headers, fetch });
  return { client, baseUrl, apiUrl, headers, fetch, retry: options.retry, WebSocket: options.WebSocket };
}

/** What an openapi-fetch call resolves to. */
interface Answer {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** What every call takes: a signal that abandons it (and any wait before a retry). */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface SendOptions {
  /** Whether the call may be repeated: reads, and creates carrying an idempotency key. */
  retry: boolean;
  signal?: AbortSignal;
}

/**
 * Makes the call and answers its data, or throws a KilnError for any non-2xx answer. A call
 * safe to repeat is tried again on a network error, 408, 429 and 5xx, after the answer's
 * Retry-After when it has one.
 */
export async function send<A extends Answer>(transport: Transport, call: () => Promise<A>, options: SendOptions): Promise<Exclude<A["data"], undefined>> {
  const policy = transport.retry;
  for (let attempt = 0; ; attempt++) {
    const more = options.retry && attempt < policy.retries && !options.signal?.aborted;
    let answer: A;
    try {
      answer = await call();
    } catch (error) {
      if (!more || !isNetworkError(error)) throw error;
      await sleep(retryDelayMs(policy, attempt, null), options.signal);
      continue;
    }
    if (answer.response.ok) return answer.data as Exclude<A["data"], undefined>;
    const error: KilnError = errorFromResponse(answer.response, answer.error);
    const waitable = error.retryAfter === null || error.retryAfter <= policy.maxRetryAfterSeconds;
    if (!more || !retryableStatus(error.status) || !waitable) throw error;
    await sleep(retryDelayMs(policy, attempt, error.retryAfter), options.signal);
  }
}
