import { type Context, Hono } from "hono";
import type { ZodType } from "zod";
import type { AppEnv } from "../../env";
import { ApiError, validationFailure } from "../../errors";
import { authenticate } from "../../middleware/authenticate";
import { bodyLimit } from "../../middleware/body-limit";
import { jsonOnly } from "../../middleware/json-only";
import { renderErrors } from "../../middleware/render-errors";
import { connectCodeFor, connectErrorBody, fromApiError, httpStatusFor } from "./connect";

/** One unary method: its request message's schema and what answers a checked request. */
export interface UnaryMethod<Request = any> {
  request: ZodType<Request>;
  handle(c: Context<AppEnv>, request: Request): Promise<object>;
}

/** Declares a method, tying its handler's request type to its schema. */
export const unary = <Request>(request: ZodType<Request>, handle: UnaryMethod<Request>["handle"]): UnaryMethod<Request> => ({ request, handle });

/**
 * A Connect service of unary JSON methods at `/<package>.<Service>/<Method>`: the Kiln
 * API key as a Bearer token (with X-Organization-ID), a JSON body read the way protobuf's
 * JSON reader reads one, and every failure as a Connect error at Connect's HTTP status.
 * A method the service has in Transcodely's protos but not here is `unimplemented`, with
 * the reason `unoffered` gives.
 */
export function unaryService(name: string, methods: Record<string, UnaryMethod>, unoffered: Record<string, string>) {
  const unimplemented = (method: string) =>
    new ApiError(501, "method_not_allowed", unoffered[method] ?? `${name} has no method ${method}`);
  return (
    new Hono<AppEnv>()
      .use(bodyLimit(1024 * 1024), jsonOnly(), authenticate())
      .post("/:method", async (c) => {
        const method = c.req.param("method");
        const served = Object.hasOwn(methods, method) ? methods[method]! : undefined;
        if (!served) throw unimplemented(method);
        const parsed = served.request.safeParse(protoJsonFields(await jsonBody(c)));
        if (!parsed.success) throw validationFailure(parsed.error, "json");
        return c.json(await served.handle(c, parsed.data), 200);
      })
      // Connect calls are POSTs; anything else at these paths is no method of the service.
      .all("*", (c) => {
        throw unimplemented(c.req.path.split("/").pop() ?? "");
      })
      .onError(
        renderErrors(
          (error) => connectErrorBody(fromApiError(error)),
          (error) => httpStatusFor(connectCodeFor(error)),
        ),
      )
  );
}

/** The request message as JSON; an empty body is the empty message, as Connect allows. */
async function jsonBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "Request body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new ApiError(400, "invalid_json", "Request body must be a JSON object (the request message)");
  return body as Record<string, unknown>;
}

/**
 * Field names as the protos spell them: protobuf's JSON reader accepts a field's
 * lowerCamelCase JSON name as well as its snake_case name, and reads `null` as unset.
 * (These services' messages hold no maps, whose keys would be data, not field names.)
 */
export function protoJsonFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(protoJsonFields);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), protoJsonFields(v)]),
  );
}
