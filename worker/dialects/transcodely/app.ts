import type { Context } from "hono";
import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { authenticate } from "../../middleware/authenticate";
import { bodyLimit } from "../../middleware/body-limit";
import { cors } from "../../middleware/cors";
import { withRetryAfter } from "../../limits/rate-limited";
import { toApiError } from "../../middleware/render-errors";
import { type ConnectError, ConnectException, connectErrorBody, endStream, fromApiError, httpStatusFor } from "./connect";

export type ConnectMethod = (c: Context<AppEnv>) => Promise<Response>;

const MAX_BODY_BYTES = 1024 * 1024;

/** Connect's server-streaming framing; unary calls and the NDJSON Watch are plain JSON. */
export const CONNECT_STREAMING = "application/connect+json";

export const isConnectStreaming = (c: Context) => (c.req.header("content-type") ?? "").toLowerCase().startsWith(CONNECT_STREAMING);

const corsOptions = {
  allowHeaders: ["Authorization", "Content-Type", "X-Organization-ID", "Idempotency-Key", "Transcodely-Version", "Connect-Protocol-Version", "Connect-Timeout-Ms"],
  exposeHeaders: ["X-Request-ID"],
};

/**
 * One Connect service of the Transcodely dialect, mounted at `/transcodely.v1.<Service>`:
 * each method is `POST /<Method>` with the Bearer API key (and `X-Organization-ID` for
 * a key of several organizations, as /v1 reads it). Every failure, its own and the
 * native ones, is a Connect error; anything that is not a POST to a method is
 * `unimplemented`, as Connect answers. The SDK's `Transcodely-Version`, `User-Agent` and
 * Connect's protocol headers are accepted and read by nothing.
 */
export function connectService(methods: Record<string, ConnectMethod>): Hono<AppEnv> {
  const service = new Hono<AppEnv>();
  // Set before the routes are added: Hono wraps each handler with the error handler it finds then.
  service.onError(connectErrors);
  service.use(cors(corsOptions), bodyLimit(MAX_BODY_BYTES), authenticate());
  for (const [name, handler] of Object.entries(methods)) service.post(`/${name}`, handler);
  service.all("*", (c) => {
    throw new ConnectException({ code: "unimplemented", message: `${c.req.method} ${c.req.path} is not a method Kiln serves`, detailCode: "unimplemented", violations: [] });
  });
  return service;
}

/** Any failure as the Connect error it is. */
export function toConnectError(err: Error, requestId: string): ConnectError {
  return err instanceof ConnectException ? err.error : fromApiError(toApiError(err, requestId));
}

/**
 * A unary call's error is a JSON body with the code's HTTP status. A streaming call
 * (Connect's framing) always answers 200 and reports the error in the end-of-stream
 * envelope, which is what a Connect client reads.
 */
function connectErrors(err: Error, c: Context<AppEnv>): Response {
  const error = toConnectError(err, c.get("requestId"));
  if (isConnectStreaming(c)) {
    return c.body(endStream(error), 200, { "content-type": CONNECT_STREAMING });
  }
  return withRetryAfter(err, c.json(connectErrorBody(error), httpStatusFor(error.code)));
}
