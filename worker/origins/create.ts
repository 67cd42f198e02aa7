import type { Env } from "../env";
import { ApiError } from "../errors";
import { newId } from "../ids";
import { type OriginCredentials, OriginKeyError, encryptCredentials, originKey } from "./crypto";
import { checkOriginAccess, defaultRegion } from "./s3";
import { type OriginPermission, type OriginProvider, type OriginRow, insertOrigin } from "./store";
import { endpointRefusal, normalizeEndpoint, normalizeOriginPath } from "./validation";

/** An origin as a front-end asks for it, its shape already checked (bucket, path, endpoint shape). */
export interface NewOrigin {
  name: string;
  provider: OriginProvider;
  bucket: string;
  path?: string;
  region?: string;
  endpoint?: string;
  credentials: OriginCredentials;
  permissions: OriginPermission[];
}

/**
 * Connects a bucket: the production endpoint rules, then real signed requests proving
 * each permission, then the row with its credentials encrypted. Every front-end that
 * creates origins comes through here, so none can store one that was never checked.
 */
export async function createOrigin(env: Env, requestId: string, orgId: string, input: NewOrigin): Promise<OriginRow> {
  assertEndpointAllowed(input.endpoint, env);
  // Refuse before touching the bucket if credentials could not be stored encrypted.
  await originKeyOrRefuse(env, requestId);
  const location = {
    provider: input.provider,
    bucket: input.bucket,
    path: normalizeOriginPath(input.path),
    region: input.region ?? defaultRegion(input.provider),
    endpoint: normalizeEndpoint(input.endpoint),
  };
  const problem = await checkOriginAccess(location, input.credentials, input.permissions);
  if (problem) throw new ApiError(400, problem.code, problem.message, problem.details);
  const id = newId("ori");
  const row = {
    id,
    orgId,
    name: input.name,
    ...location,
    permissions: JSON.stringify(input.permissions),
    credentials: await encryptCredentials(env, { orgId, originId: id }, input.credentials),
    createdAt: new Date().toISOString(),
  };
  await insertOrigin(env.DB, row);
  return row;
}

/** The production rules for an endpoint (https, no private hosts), as a 400 on `endpoint`. */
export function assertEndpointAllowed(endpoint: string | undefined, env: Env): void {
  if (endpoint === undefined) return;
  const refusal = endpointRefusal(endpoint, env);
  if (refusal) throw new ApiError(400, "validation_error", `endpoint: ${refusal}`, { target: "json", issues: [{ path: "endpoint", message: refusal }] });
}

export async function originKeyOrRefuse(env: Env, requestId: string): Promise<void> {
  try {
    await originKey(env);
  } catch (err) {
    if (!(err instanceof OriginKeyError)) throw err;
    console.error(JSON.stringify({ level: "error", request_id: requestId, message: err.message }));
    throw new ApiError(500, "internal_error", "Origins are not configured on this server: its ORIGIN_CREDENTIALS_KEY secret is missing or invalid");
  }
}
