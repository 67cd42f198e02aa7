import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { newId } from "../ids";

/** Every response carries the id of its request, as a header and inside any error. */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const id = newId("req");
  c.set("requestId", id);
  c.header("X-Request-ID", id);
  await next();
});
