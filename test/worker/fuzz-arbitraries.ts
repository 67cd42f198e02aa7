import fc from "fast-check";

/*
 * Request bodies for the fuzz suite: bodies generated from the JSON Schemas the OpenAPI
 * document publishes (zod's schemas, as @hono/zod-openapi renders them), and mutations
 * of valid bodies — fields dropped, duplicated and retyped, huge strings, deep nesting,
 * broken JSON, awkward Unicode, wrong content types.
 */

/** One request body as sent: raw text or bytes (so that broken JSON and duplicate keys survive), and its content type. */
export interface FuzzBody {
  body: string | Uint8Array;
  contentType: string | null;
  /** What made it, for a failure's report. */
  how: string;
}

type JsonSchema = Record<string, any>;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const MAX_DEPTH = 6;

/** Any JSON value, small. */
export const jsonValue: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;

/** Strings no schema expects: empty, control characters, lone surrogates, bidi overrides, emoji, combining marks, long. */
export const awkwardString = fc.oneof(
  fc.constantFrom("", " ", "\u0000", "\ud800", "\udfff", "\u202e", "\ufeff", "👩‍👩‍👧‍👦", "e\u0301\u0301\u0301", "../../etc/passwd", "${X}", "%00", "null", "🎬".repeat(300)),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ maxLength: 2000 }),
);

/** A value for a JSON Schema (OpenAPI 3.1), with `$ref`s resolved against `components`. */
export function fromSchema(schema: JsonSchema, components: Record<string, JsonSchema>, depth = 0): fc.Arbitrary<Json> {
  const byDepth = built.get(schema) ?? new Map<number, fc.Arbitrary<Json>>();
  built.set(schema, byDepth);
  const known = byDepth.get(depth);
  if (known) return known;
  const arbitrary = buildFromSchema(schema, components, depth);
  byDepth.set(depth, arbitrary);
  return arbitrary;
}

/** Arbitraries already built, per schema node and depth: building them (regexes above all) costs more than sampling. */
const built = new WeakMap<JsonSchema, Map<number, fc.Arbitrary<Json>>>();

function buildFromSchema(schema: JsonSchema, components: Record<string, JsonSchema>, depth: number): fc.Arbitrary<Json> {
  if (depth > MAX_DEPTH) return fc.constant(null);
  const next = (s: JsonSchema) => fromSchema(s, components, depth + 1);
  if (schema.$ref) {
    const name = String(schema.$ref).replace(/^#\/components\/schemas\//, "");
    const target = components[name];
    return target ? fromSchema(target, components, depth + 1) : jsonValue;
  }
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as Json[]));
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alternatives) && alternatives.length > 0) return fc.oneof(...alternatives.map(next));
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    // zod-openapi uses allOf for a $ref with annotations; the object parts are merged.
    const parts = schema.allOf.map(next);
    return fc.tuple(...parts).map((values) => values.reduce<Json>((merged, v) => (isObject(merged) && isObject(v) ? { ...merged, ...v } : v), {}));
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string":
      return stringFor(schema);
    case "integer":
      return fc.integer({ min: bound(schema.minimum, -1e9), max: bound(schema.maximum, 1e9) });
    case "number":
      return fc.double({ min: bound(schema.minimum, -1e9), max: bound(schema.maximum, 1e9), noNaN: true });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(schema.items ? next(schema.items) : jsonValue, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) });
    case "object":
      return objectFor(schema, next);
    default:
      return jsonValue;
  }
}

function bound(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const maxLength = Math.min(schema.maxLength ?? 64, 256);
  const minLength = Math.min(schema.minLength ?? 0, maxLength);
  if (typeof schema.pattern === "string") {
    try {
      const matching = fc.stringMatching(new RegExp(schema.pattern));
      return fc.oneof({ weight: 4, arbitrary: matching }, { weight: 1, arbitrary: fc.string({ minLength, maxLength }) });
    } catch {
      // A pattern fast-check cannot generate from (lookarounds): plain strings then.
    }
  }
  if (schema.format === "uri" || schema.format === "url") return fc.webUrl();
  if (schema.format === "date-time") return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === "email") return fc.emailAddress();
  return fc.string({ minLength, maxLength });
}

function objectFor(schema: JsonSchema, next: (s: JsonSchema) => fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  const properties: Record<string, JsonSchema> = schema.properties ?? {};
  const required = new Set<string>(schema.required ?? []);
  const record: Record<string, fc.Arbitrary<Json>> = {};
  for (const [name, property] of Object.entries(properties)) record[name] = next(property);
  const known = fc.record(record, { requiredKeys: [...required].filter((k) => k in record) });
  if (Object.keys(properties).length === 0 && schema.additionalProperties) {
    const values = typeof schema.additionalProperties === "object" ? next(schema.additionalProperties) : jsonValue;
    return fc.dictionary(fc.string({ minLength: 1, maxLength: 16 }), values, { maxKeys: 4 });
  }
  return known as fc.Arbitrary<Json>;
}

function isObject(value: unknown): value is Record<string, Json> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Every path to a node of `value` (the root is `[]`). */
function paths(value: Json, at: (string | number)[] = []): (string | number)[][] {
  const found = [at];
  if (Array.isArray(value)) value.forEach((v, i) => found.push(...paths(v, [...at, i])));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) found.push(...paths(v, [...at, k]));
  return found;
}

/** `value` with the node at `path` replaced (or removed, for `undefined`). */
function replaceAt(value: Json, path: (string | number)[], replacement: Json | undefined): Json {
  if (path.length === 0) return replacement === undefined ? null : replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (rest.length === 0 && replacement === undefined) copy.splice(Number(head), 1);
    else copy[Number(head)] = replaceAt(copy[Number(head)]!, rest, replacement);
    return copy;
  }
  if (isObject(value)) {
    const copy = { ...value };
    if (rest.length === 0 && replacement === undefined) delete copy[String(head)];
    else copy[String(head)] = replaceAt(copy[String(head)]!, rest, replacement);
    return copy;
  }
  return value;
}

function getAt(value: Json, path: (string | number)[]): Json {
  return path.reduce<Json>((node, key) => (node as any)?.[key] ?? null, value);
}

const nodeOf = (valid: Json) => fc.nat().map((i) => { const all = paths(valid); return all[i % all.length]!; });
const leafStringOf = (valid: Json) =>
  fc.nat().map((i) => {
    const strings = paths(valid).filter((p) => typeof getAt(valid, p) === "string");
    return strings.length > 0 ? strings[i % strings.length]! : [];
  });

const json = (value: Json, how: string): FuzzBody => ({ body: JSON.stringify(value), contentType: "application/json", how });

/** A different type from the node's, or an awkward one of the same. */
const retyped = fc.oneof(jsonValue, awkwardString, fc.constantFrom<Json>(null, true, 0, -1, 1e308, -0, 2 ** 53 + 1, [], {}, "", [[]], { "": null }));

/** Nesting far deeper than any schema: `[[[…]]]` or `{"a":{"a":…}}`, written as text. */
function deeplyNested(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "null" + "}".repeat(depth);
}

/** Mutations of a valid body (a JSON object), each a FuzzBody. */
export function mutationsOf(valid: Json): fc.Arbitrary<FuzzBody> {
  const text = JSON.stringify(valid);
  const drop = nodeOf(valid).filter((p) => p.length > 0).map((p) => json(replaceAt(valid, p, undefined), `drop ${p.join(".")}`));
  const retype = fc.tuple(nodeOf(valid), retyped).map(([p, v]) => json(replaceAt(valid, p, v), `retype ${p.join(".")}`));
  const unicode = fc.tuple(leafStringOf(valid), awkwardString).map(([p, s]) => json(replaceAt(valid, p, s), `unicode at ${p.join(".")}`));
  const huge = fc.tuple(leafStringOf(valid), fc.constantFrom(70_000, 400_000, 1_100_000), fc.constantFrom("x", "é", "/", "0", "😀")).map(([p, n, ch]) => json(replaceAt(valid, p, ch.repeat(Math.ceil(n / ch.length))), `huge string (${n}) at ${p.join(".")}`));
  const deep = fc.tuple(nodeOf(valid), fc.constantFrom(64, 1000, 20_000), fc.constantFrom<"array" | "object">("array", "object")).map(([p, depth, kind]) => {
    const marker = "\u0000DEEP\u0000";
    const withMarker = JSON.stringify(replaceAt(valid, p, marker));
    return { body: withMarker.replace(JSON.stringify(marker), deeplyNested(depth, kind)), contentType: "application/json", how: `deep ${kind} ${depth} at ${p.join(".")}` };
  });
  const duplicate = fc.tuple(fc.constantFrom(...(isObject(valid) ? Object.keys(valid) : ["x"])), retyped).map(([key, v]) => ({
    body: `{${JSON.stringify(key)}:${JSON.stringify(v)},${text.slice(1)}`,
    contentType: "application/json",
    how: `duplicate ${key}`,
  }));
  const extraField = fc.tuple(fc.string({ maxLength: 20 }), jsonValue).map(([k, v]) => json(isObject(valid) ? { ...valid, [k]: v } : valid, `extra field ${JSON.stringify(k)}`));
  const broken = fc.oneof(
    fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => ({ body: text.slice(0, cut), contentType: "application/json", how: `truncated at ${cut}` })),
    fc.constantFrom("", "null", "[]", "0", '"text"', "{", "}", "{}{}", "\ufeff{}", "{'a':1}", "{a:1}", "[1,]", "NaN", "undefined", '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{}}}').map((b) => ({ body: b, contentType: "application/json", how: `literal ${JSON.stringify(b)}` })),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ body: bytes, contentType: "application/json", how: "random bytes" })),
    fc.string({ maxLength: 30 }).map((garbage) => ({ body: text + garbage, contentType: "application/json", how: "trailing garbage" })),
  );
  const contentType = fc.constantFrom(null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/json; charset=utf-16", "application/proto", "application/JSON", "application/json;;").map((type) => ({ body: text, contentType: type, how: `content type ${type}` }));
  // Huge and deep bodies cost the most to send and parse: a few of each find what they find.
  return fc.oneof(
    { weight: 4, arbitrary: drop },
    { weight: 4, arbitrary: retype },
    { weight: 3, arbitrary: unicode },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: deep },
    { weight: 2, arbitrary: duplicate },
    { weight: 2, arbitrary: extraField },
    { weight: 3, arbitrary: broken },
    { weight: 2, arbitrary: contentType },
  );
}

/** Bodies for a route that takes none: nothing, JSON of any shape, broken JSON, binary. */
export const anyBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  fc.constant<FuzzBody>({ body: "", contentType: null, how: "empty" }),
  jsonValue.map((v) => json(v, "any JSON")),
  fc.constantFrom("{", "\u0000", deeplyNested(20_000, "array")).map((b) => ({ body: b, contentType: "application/json", how: "broken or deep" })),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ body: bytes, contentType: "application/octet-stream", how: "random bytes" })),
);

/** Schema-generated bodies: the value the schema describes, sent as JSON. */
export function generatedFrom(schema: JsonSchema, components: Record<string, JsonSchema>): fc.Arbitrary<FuzzBody> {
  return fromSchema(schema, components).map((v) => json(v, "generated from the schema"));
}

/** Protobuf-ish bytes for a Connect method: random, a valid varint-framed field, or truncated. */
export const protoBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.integer({ min: 1, max: 30 }), fc.string({ maxLength: 50 })).map(([field, s]) => {
    const bytes = new TextEncoder().encode(s);
    return new Uint8Array([(field << 3) | 2, bytes.length, ...bytes]);
  }),
  fc.constant(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])),
).chain((bytes) => fc.constantFrom("application/proto", "application/connect+proto", "application/grpc", "application/grpc-web+proto").map((type) => ({ body: bytes, contentType: type, how: `binary as ${type}` })));
