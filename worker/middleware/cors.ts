import type { MiddlewareHandler } from "hono";
import { cors as honoCors } from "hono/cors";

export interface CorsOptions {
  allowHeaders: string[];
  exposeHeaders: string[];
  /**
   * A plain OPTIONS (no Access-Control-Request-Method, so no preflight) goes on to the
   * routes instead of being answered here: tus clients discover the server with one.
   */
  discovery?: boolean;
}

/** CORS for any origin: the API is called with keys in headers, never with cookies. */
export function cors(options: CorsOptions): MiddlewareHandler {
  const handler = honoCors({ origin: "*", allowHeaders: options.allowHeaders, exposeHeaders: options.exposeHeaders });
  if (!options.discovery) return handler;
  return (c, next) => (c.req.method === "OPTIONS" && !c.req.header("access-control-request-method") ? next() : handler(c, next));
}
