import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { keyCaller } from "../auth/caller";
import { watchTokenCaller } from "../auth/watch-token";
import type { AppEnv } from "../env";
import { validationFailure } from "../errors";
import { JobService } from "../jobs/service";
import { watchJob } from "./jobs";

/**
 * A job's Watch. Browsers cannot set headers on a WebSocket, so besides the API key it
 * takes a watch token in `?token=` (see POST /jobs/{id}/watch-token), which the handler
 * verifies once the request is valid; the sub-app mounting this skips the key for it.
 */
export const jobWatchRoutes = new OpenAPIHono<AppEnv>({
  defaultHook: (result) => {
    if (!result.success) throw validationFailure(result.error, result.target);
  },
})
  // Hidden here: routes/jobs.ts documents it among the other job routes.
  .openapi({ ...watchJob, hide: true }, async (c) => {
    const { id } = c.req.valid("param");
    const { token } = c.req.valid("query");
    const caller = token === undefined ? keyCaller(c.get("principal")) : await watchTokenCaller(c.env, id, token);
    const response = await new JobService(c.env, caller).watch(id, { upgrade: c.req.header("upgrade") });
    return response as never;
  });

/** True when the request carries a watch token: the route verifies it instead of a key. */
export const carriesWatchToken = (c: Context) => c.req.query("token") !== undefined;
