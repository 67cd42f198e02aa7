import type { Env } from "../env";
import { findSecretByName } from "../secrets/store";
import { type OriginCredentials, decryptCredentials } from "./crypto";
import { type OriginLocation, defaultRegion, originPermissions, presignObjectUrl } from "./s3";
import type { S3MultipartTarget } from "./s3-multipart";
import { type OriginPermission, type OriginRow, findOrigin, findOriginsForBucket } from "./store";
import {
  type BucketScheme,
  type BucketUri,
  formatBucketUri,
  isBucketUri,
  parseInputUri,
  parseOutputUri,
  parseToolLocation,
  providerOf,
  providersFor,
  schemeOf,
} from "./uri";

/**
 * Which credentials reach a bucket a job reads from or writes to: an origin of the org
 * (by id, or found by bucket for `s3://bucket/…`), or an org secret named in
 * `s3://{secret}@bucket/…`. Stored in the job (no credentials, only names), resolved at
 * creation and opened again at dispatch, export and on read, so a deleted origin or
 * secret stops being usable at once.
 */
export type BucketRef =
  | { via: "origin"; origin_id: string; scheme: BucketScheme; bucket: string; path: string | null }
  | { via: "secret"; secret: string; scheme: BucketScheme; bucket: string };

/** One object, `key` from the bucket's root. */
export interface BucketObject {
  bucket: BucketRef;
  key: string;
}

/** Where a job's outputs go: a folder (`key` "" or ending in /) or one exact key; `key` may hold path-template variables. */
export interface BucketTarget {
  bucket: BucketRef;
  key: string;
}

export interface JobStorage {
  input: BucketObject | null;
  output: BucketTarget | null;
  /** Subtitle files given as bucket URIs, by the URI as written (absent in jobs made before subtitles could be). */
  subtitles?: Record<string, BucketObject>;
  /**
   * A tool pipeline's bucket folders (`key` ends in / and may hold `{job_id}`), by the
   * location as written: `get` read from, `put` written to (absent in jobs made before
   * tool pipelines ran).
   */
  tool_locations?: { get: Record<string, BucketTarget>; put: Record<string, BucketTarget> };
}

export class BucketRefError extends Error {
  constructor(
    readonly code: "origin_not_found" | "secret_not_found" | "origin_permission_denied" | "validation_error",
    message: string,
  ) {
    super(message);
  }
}

type Db = Pick<Env, "DB">;

/** Asks the caller's API key for the right to use an origin or secret; throws when it may not. */
export type UseCheck = (action: "origins:get" | "secrets:get", resource: string) => void;

const originRef = (origin: OriginRow): BucketRef => ({
  via: "origin",
  origin_id: origin.id,
  scheme: schemeOf(origin.provider),
  bucket: origin.bucket,
  path: origin.path,
});

const covers = (origin: Pick<OriginRow, "path">, key: string) => origin.path === null || key.startsWith(`${origin.path}/`);

async function originById(env: Db, orgId: string, id: string, need: OriginPermission, use?: UseCheck): Promise<OriginRow> {
  use?.("origins:get", `origins/${id}`);
  const origin = await findOrigin(env.DB, orgId, id);
  if (!origin) throw new BucketRefError("origin_not_found", `No origin ${id} in this organization`);
  if (!originPermissions(origin).includes(need)) {
    throw new BucketRefError("origin_permission_denied", `Origin ${id} is not granted ${need}; ${need === "read" ? "inputs" : "outputs"} need it`);
  }
  return origin;
}

/**
 * The origin for `scheme://bucket/key`: one of the org's origins for that bucket whose
 * provider speaks the scheme and whose path holds the key; of several, the one with the
 * deepest path that has the permission.
 */
async function originForUri(env: Db, orgId: string, uri: BucketUri, need: OriginPermission, use: UseCheck): Promise<OriginRow> {
  const providers = providersFor(uri.scheme);
  const candidates = (await findOriginsForBucket(env.DB, orgId, uri.bucket)).filter((o) => providers.includes(o.provider) && covers(o, uri.key));
  const location = formatBucketUri(uri.scheme, uri.bucket, uri.key);
  if (candidates.length === 0) {
    throw new BucketRefError(
      "origin_not_found",
      `No origin of this organization holds ${location}; connect the bucket with POST /v1/origins, or name a secret: ${uri.scheme}://{secret}@${uri.bucket}/${uri.key}`,
    );
  }
  const granted = candidates.filter((o) => originPermissions(o).includes(need)).sort((a, b) => (b.path?.length ?? 0) - (a.path?.length ?? 0));
  if (granted.length === 0) {
    throw new BucketRefError("origin_permission_denied", `The origin holding ${location} (${candidates.map((o) => o.id).join(", ")}) is not granted ${need}`);
  }
  use("origins:get", `origins/${granted[0]!.id}`);
  return granted[0]!;
}

async function secretRef(env: Db, orgId: string, uri: BucketUri & { secret: string }, use: UseCheck): Promise<BucketRef> {
  const secret = await findSecretByName(env.DB, orgId, uri.secret);
  if (!secret) throw new BucketRefError("secret_not_found", `No secret named ${uri.secret} in this organization; create it with POST /v1/secrets`);
  use("secrets:get", `secrets/${secret.id}`);
  if (uri.scheme === "r2" && secret.endpoint === null) {
    throw new BucketRefError("validation_error", `Secret ${uri.secret} has no endpoint; r2:// needs the account endpoint (https://<account_id>.r2.cloudflarestorage.com)`);
  }
  return { via: "secret", secret: uri.secret, scheme: uri.scheme, bucket: uri.bucket };
}

/** The bucket behind a URI: the secret it names, else the org's origin holding its key with `need`. */
async function resolveUri(env: Db, orgId: string, uri: BucketUri, need: OriginPermission, use: UseCheck): Promise<BucketObject> {
  if (uri.secret !== null) return { bucket: await secretRef(env, orgId, { ...uri, secret: uri.secret }, use), key: uri.key };
  return { bucket: originRef(await originForUri(env, orgId, uri, need, use)), key: uri.key };
}

/** The input's object: `input_origin_id` + `input_path`, or a bucket URI in `input`. */
async function resolveInput(env: Db, orgId: string, input: { origin_id: string; path: string } | { uri: BucketUri }, use: UseCheck): Promise<BucketObject> {
  if ("origin_id" in input) {
    const origin = await originById(env, orgId, input.origin_id, "read", use);
    return { bucket: originRef(origin), key: origin.path ? `${origin.path}/${input.path}` : input.path };
  }
  return resolveUri(env, orgId, input.uri, "read", use);
}

/** Where outputs go: `output_origin_id` (the origin's path as the folder), or a bucket URI in `output`. */
async function resolveOutput(env: Db, orgId: string, output: { origin_id: string } | { uri: BucketUri }, use: UseCheck): Promise<BucketTarget> {
  if ("origin_id" in output) {
    const origin = await originById(env, orgId, output.origin_id, "write", use);
    return { bucket: originRef(origin), key: origin.path ? `${origin.path}/` : "" };
  }
  return resolveUri(env, orgId, output.uri, "write", use);
}

/**
 * A tool pipeline's locations, each folder by the same rules as `input` (get, read) and
 * `output` (put, write). http(s) is a source only: a get reads it as given, a put
 * cannot write to it.
 */
async function resolveToolLocations(env: Db, orgId: string, locations: { get: string[]; put: string[] }, use: UseCheck): Promise<NonNullable<JobStorage["tool_locations"]>> {
  const resolved: NonNullable<JobStorage["tool_locations"]> = { get: {}, put: {} };
  for (const [tool, need] of [["get", "read"], ["put", "write"]] as const) {
    for (const location of locations[tool]) {
      if (Object.hasOwn(resolved[tool], location)) continue;
      if (!isBucketUri(location)) {
        if (tool === "get") continue;
        throw new BucketRefError("validation_error", `storage:put location ${location}: put writes to a bucket (s3://, gs://, r2://); http(s) locations are for storage:get`);
      }
      resolved[tool][location] = await resolveUri(env, orgId, parsed(parseToolLocation(location), `storage:${tool} location`), need, use);
    }
  }
  return resolved;
}

export interface StorageFields {
  input: string | null;
  input_origin_id: string | null;
  input_path: string | null;
  output: string | null;
  output_origin_id: string | null;
  /** The outputs' subtitle track sources; bucket URIs among them are resolved like the input. */
  subtitle_sources?: string[];
  /** The `location`s of a tool pipeline's storage:get and storage:put tasks. */
  tool_locations?: { get: string[]; put: string[] };
}

function parsed(result: ReturnType<typeof parseInputUri>, field: string): BucketUri {
  if (!result.ok) throw new BucketRefError("validation_error", `${field}: ${result.problem}`);
  return result.uri;
}

/**
 * Resolves a job's bucket fields at creation (and resubmission): every origin and
 * secret they name must exist in the org, be usable by the caller's key, and (origins)
 * grant read for the input, subtitle files and storage:get locations and write for
 * outputs and storage:put locations. Throws BucketRefError.
 */
export async function resolveJobStorage(env: Db, orgId: string, fields: StorageFields, use: UseCheck): Promise<JobStorage> {
  let input: BucketObject | null = null;
  if (fields.input_origin_id !== null) {
    input = await resolveInput(env, orgId, { origin_id: fields.input_origin_id, path: fields.input_path ?? "" }, use);
  } else if (fields.input !== null && isBucketUri(fields.input)) {
    input = await resolveInput(env, orgId, { uri: parsed(parseInputUri(fields.input), "input") }, use);
  }
  let output: BucketTarget | null = null;
  if (fields.output_origin_id !== null) output = await resolveOutput(env, orgId, { origin_id: fields.output_origin_id }, use);
  else if (fields.output !== null) output = await resolveOutput(env, orgId, { uri: parsed(parseOutputUri(fields.output), "output") }, use);
  const subtitles: Record<string, BucketObject> = {};
  for (const source of fields.subtitle_sources ?? []) {
    if (isBucketUri(source) && !Object.hasOwn(subtitles, source)) {
      subtitles[source] = await resolveInput(env, orgId, { uri: parsed(parseInputUri(source), "subtitle_tracks.source") }, use);
    }
  }
  const tools = fields.tool_locations;
  return { input, output, subtitles, ...(tools ? { tool_locations: await resolveToolLocations(env, orgId, tools, use) } : {}) };
}

/** A bucket made usable: where it is, the credentials, and what they may do. */
export interface OpenBucket {
  location: Omit<OriginLocation, "path">;
  /** Keys must lie under this folder (an origin's path); null for the whole bucket. */
  path: string | null;
  credentials: OriginCredentials;
  permissions: readonly OriginPermission[];
}

/**
 * Looks the origin or secret up again (it may have been deleted since the job was
 * created) and decrypts its credentials. An origin must still grant `need`.
 */
export async function openBucket(env: Pick<Env, "DB" | "ORIGIN_CREDENTIALS_KEY">, orgId: string, ref: BucketRef, need?: OriginPermission): Promise<OpenBucket> {
  if (ref.via === "origin") {
    const origin = need ? await originById(env, orgId, ref.origin_id, need) : await findOrigin(env.DB, orgId, ref.origin_id);
    if (!origin) throw new BucketRefError("origin_not_found", `No origin ${ref.origin_id} in this organization`);
    return {
      location: { provider: origin.provider, bucket: origin.bucket, region: origin.region, endpoint: origin.endpoint },
      path: origin.path,
      credentials: await decryptCredentials(env, { orgId, originId: origin.id }, origin.credentials),
      permissions: originPermissions(origin),
    };
  }
  const secret = await findSecretByName(env.DB, orgId, ref.secret);
  if (!secret) throw new BucketRefError("secret_not_found", `No secret named ${ref.secret} in this organization`);
  const provider = providerOf(ref.scheme);
  return {
    location: { provider, bucket: ref.bucket, region: secret.region ?? defaultRegion(provider), endpoint: secret.endpoint },
    path: null,
    credentials: await decryptCredentials(env, { orgId, secretId: secret.id }, secret.credentials),
    // A secret is plain credentials: what they may do is the bucket's business.
    permissions: ["read", "write"],
  };
}

function assertUnderPath(bucket: OpenBucket, key: string): void {
  if (bucket.path !== null && !key.startsWith(`${bucket.path}/`)) {
    throw new BucketRefError("origin_permission_denied", `${key} lies outside the origin's path ${bucket.path}/`);
  }
}

export type BucketOpener = (ref: BucketRef, need?: OriginPermission) => Promise<OpenBucket>;

/**
 * openBucket once per bucket for one piece of work (a read of a job, a dispatch, an
 * export): its objects usually share one origin, and each opening is a D1 read and a decrypt.
 */
export function bucketOpener(env: Pick<Env, "DB" | "ORIGIN_CREDENTIALS_KEY">, orgId: string): BucketOpener {
  const opened = new Map<string, Promise<OpenBucket>>();
  return (ref, need) => {
    const id = `${JSON.stringify(ref)} ${need ?? ""}`;
    if (!opened.has(id)) opened.set(id, openBucket(env, orgId, ref, need));
    return opened.get(id)!;
  };
}

/** A presigned URL for one object of an opened bucket (`key` from the bucket's root). */
export function presignBucketObject(bucket: OpenBucket, options: { method: "GET" | "PUT"; key: string; expiresInSeconds: number }): Promise<string> {
  assertUnderPath(bucket, options.key);
  return presignObjectUrl(bucket.location, bucket.credentials, options);
}

/** What the S3 multipart calls need to write `key` (from the bucket's root) of an opened bucket. */
export function bucketMultipartTarget(bucket: OpenBucket, key: string): S3MultipartTarget {
  assertUnderPath(bucket, key);
  return { origin: { ...bucket.location, path: null }, credentials: bucket.credentials };
}

export const bucketObjectUri = (object: BucketObject): string => formatBucketUri(object.bucket.scheme, object.bucket.bucket, object.key);

/**
 * A presigned GET URL for an output stored in a bucket, minted on each read of the job;
 * null when its origin does not grant read, or the origin or secret is gone.
 */
export async function bucketReadUrl(open: BucketOpener, object: BucketObject, expiresInSeconds: number): Promise<string | null> {
  try {
    const bucket = await open(object.bucket);
    if (!bucket.permissions.includes("read")) return null;
    return await presignBucketObject(bucket, { method: "GET", key: object.key, expiresInSeconds });
  } catch (err) {
    if (err instanceof BucketRefError) return null;
    throw err;
  }
}
