import { session } from "./session";

/** An answer of the API that is not a success, in its error envelope's terms. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Fired when the signed-in key is refused (revoked, or the tab's key is wrong): main.ts signs out. */
export const KEY_REFUSED = "kiln:key-refused";

export interface ApiOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** A key to try instead of the session's (signing in). */
  key?: string;
  org?: string | null;
  signal?: AbortSignal;
}

/** The key's headers, for clients that make their own requests (tus). */
export function authHeaders(key = session.key(), org = session.org()): Record<string, string> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (org) headers["x-organization-id"] = org;
  return headers;
}

/** A JSON call to the native API, the key in the Authorization header (never in the URL). */
export async function api<T>(path: string, options: ApiOptions = {}): Promise<T> {
  const headers = { ...authHeaders(options.key ?? session.key(), options.org !== undefined ? options.org : session.org()), ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "network_error", "Kiln did not answer; check the connection and try again.");
  }
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below by status
  }
  if (!res.ok) {
    const error = json?.error;
    const failure = new ApiError(res.status, error?.code ?? `http_${res.status}`, error?.message ?? (res.statusText || `HTTP ${res.status}`), error?.details);
    if (res.status === 401 && options.key === undefined) window.dispatchEvent(new CustomEvent(KEY_REFUSED, { detail: failure.message }));
    throw failure;
  }
  return json as T;
}

export const jobPath = (id: string, rest = "") => `/v1/jobs/${encodeURIComponent(id)}${rest}`;
