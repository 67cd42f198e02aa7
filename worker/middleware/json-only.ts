import { createMiddleware } from "hono/factory";
import { ApiError } from "../errors";

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * A write that carries a body must declare it JSON (`application/json` or `…+json`):
 * anything else is 415 `unsupported_media_type` before a route reads it.
 */
export function jsonOnly() {
  return createMiddleware(async (c, next) => {
    const method = c.req.method;
    if ((method === "POST" || method === "PUT" || method === "PATCH") && c.req.header("content-length") !== "0") {
      const type = c.req.header("content-type");
      const hasBody = type !== undefined || c.req.header("transfer-encoding") !== undefined || Number(c.req.header("content-length") ?? 0) > 0;
      if (hasBody && !JSON_TYPE.test(type ?? "")) {
        throw new ApiError(415, "unsupported_media_type", "Send the request body as application/json");
      }
    }
    await next();
  });
}
