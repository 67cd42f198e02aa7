import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { isConnectStreaming } from "./app";
import { invalidArgument, readEnvelopes } from "./connect";
import { simplifyEnums } from "./enums";
import { parseMessageJson } from "./json-message";

export type Message = Record<string, unknown>;

/** Maps whose keys are the caller's own (`map<string, string>`): their keys are never renamed. */
const USER_MAPS = new Set(["metadata"]);

/**
 * `inputUrl` → `input_url`. Connect and protobuf clients write the protos' lowerCamelCase
 * JSON names unless told to use the field names, so both are read.
 */
const snakeCase = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();

function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => {
    const name = snakeCase(k);
    return [name, USER_MAPS.has(name) ? v : snakeKeys(v)];
  }));
}

/**
 * Fields that keep an explicit zero: proto3 `optional` scalars whose zero means something
 * (a thumbnail at 0 s is the first frame, not "pick one").
 */
const MEANINGFUL_ZERO = new Set(["timestamp"]);

/**
 * A message with its unpopulated fields removed. In proto3 a scalar at its default (`""`,
 * 0, false, an enum's `unspecified`), an empty list and an empty map mean "not set", and
 * protobuf clients (Transcodely's own SDK among them) send every field, set or not.
 */
function dropUnset(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropUnset);
  if (value === null || typeof value !== "object") return value;
  const kept: Message = {};
  for (const [key, raw] of Object.entries(value)) {
    const v = USER_MAPS.has(key) ? raw : dropUnset(raw);
    if (v === null || v === "" || v === false || v === "unspecified") continue;
    if (v === 0 && !MEANINGFUL_ZERO.has(key)) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (USER_MAPS.has(key) && typeof v === "object" && Object.keys(v as object).length === 0) continue;
    kept[key] = v;
  }
  return kept;
}

/** A request message as the dialect reads it: snake_case names, simple enum names, unset fields absent. */
export function normalizeMessage(body: unknown): Message {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidArgument([{ field: "", description: "the request body must be a JSON object" }]);
  }
  return dropUnset(simplifyEnums(snakeKeys(body))) as Message;
}

/**
 * The request message of a call: the JSON body, or under Connect's streaming framing the
 * one enveloped message the body carries.
 */
export async function readMessage(c: Context<AppEnv>): Promise<Message> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  const text = isConnectStreaming(c) ? envelopedMessage(bytes) : new TextDecoder().decode(bytes);
  return normalizeMessage(text.trim() === "" ? {} : parseMessageJson(text));
}

/** The text of the one message a server-streaming call's body carries. */
function envelopedMessage(bytes: Uint8Array): string {
  try {
    const messages = readEnvelopes(bytes);
    if (messages.length !== 1) throw new Error(`expected one message, got ${messages.length}`);
    return messages[0]!.text;
  } catch (err) {
    throw invalidArgument([{ field: "", description: `the request body is not a JSON message: ${(err as Error).message}` }]);
  }
}

/** A `{id}` request's job id. */
export function jobIdOf(message: Message): string {
  const id = message.id;
  if (typeof id !== "string" || id === "") throw invalidArgument([{ field: "id", description: "id is required" }]);
  if (!/^job_[a-zA-Z0-9_-]+$/.test(id)) throw invalidArgument([{ field: "id", description: "a job id (job_…)" }]);
  return id;
}
