import type { Context } from "hono";
import type { ZodType } from "zod";
import type { AppEnv } from "../../env";
import { validationFailure } from "../../errors";
import type { ConnectMethod } from "./app";
import { ConnectException, invalidArgument } from "./connect";
import { parseMessageJson } from "./json-message";

/**
 * A unary method of a resource service (origins, presets): the JSON request message
 * checked against `request`, then answered with `handle`'s response message.
 *
 * Unlike the job requests (message.ts), these messages keep every field as sent: proto3
 * `optional` fields have presence here (`include_system: false`, `faststart: false`,
 * `framerate: 0` mean something), so each schema decides what counts as unset (see
 * proto-fields.ts). Only field names are normalised and `null` dropped, as protobuf's
 * JSON reader does.
 */
export function unary<Request>(request: ZodType<Request>, handle: (c: Context<AppEnv>, request: Request) => Promise<object>): ConnectMethod {
  return async (c) => {
    const parsed = request.safeParse(protoJsonFields(await jsonBody(c)));
    if (!parsed.success) throw validationFailure(parsed.error, "json");
    return c.json(await handle(c, parsed.data), 200);
  };
}

/** A method of Transcodely's service Kiln does not offer, with the reason and what to do instead. */
export function unoffered(reason: string): ConnectMethod {
  return async () => {
    throw new ConnectException({ code: "unimplemented", message: reason, detailCode: "unimplemented", violations: [] });
  };
}

/** The request message as JSON; an empty body is the empty message, as Connect allows. */
async function jsonBody(c: Context<AppEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  const body = parseMessageJson(text);
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidArgument([{ field: "", description: "the request body must be a JSON object (the request message)" }]);
  }
  return body;
}

/**
 * Field names as the protos spell them: protobuf's JSON reader accepts a field's
 * lowerCamelCase JSON name as well as its snake_case name, and reads `null` as unset.
 * (These messages hold no maps, whose keys would be data, not field names.)
 */
function protoJsonFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(protoJsonFields);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), protoJsonFields(v)]),
  );
}
