import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { findKeyBySecret } from "../auth/api-keys";
import { keyCaller } from "../auth/caller";
import type { Action } from "../auth/policy";
import type { AppEnv, Principal } from "../env";
import { ApiError } from "../errors";

/** Reads the credential a front-end takes and names its caller, or throws 401/403. */
export type Credential = (c: Context<AppEnv>) => Promise<Principal>;

/** `Authorization: Bearer <API key>`, with `X-Organization-ID` for a key of several organizations. */
export const bearerApiKey: Credential = async (c) => {
  const header = c.req.header("authorization");
  if (!header) throw new ApiError(401, "token_missing", "Authorization header with a Bearer API key is required");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError(401, "token_invalid", "Authorization header must be `Bearer <api key>`");
  return apiKeyPrincipal(c.env.DB, match[1]!, c.req.header("x-organization-id"));
};

/**
 * The principal of an API key secret, however a front-end carries it, acting for the
 * organization `requested` names or else the key's only one.
 */
export async function apiKeyPrincipal(db: D1Database, secret: string, requested: string | undefined): Promise<Principal> {
  const key = await findKeyBySecret(db, secret);
  if (!key) throw new ApiError(401, "token_invalid", "API key is invalid or revoked");
  let orgId: string;
  if (requested) {
    // A key is never told whether an organization it does not belong to exists.
    if (!key.orgIds.includes(requested)) throw new ApiError(403, "forbidden", "This API key does not belong to that organization");
    orgId = requested;
  } else if (key.orgIds.length === 1) {
    orgId = key.orgIds[0]!;
  } else {
    throw new ApiError(400, "organization_required", "This API key belongs to several organizations: set X-Organization-ID", {
      organization_ids: key.orgIds,
    });
  }
  return { keyId: key.keyId, orgId, orgIds: key.orgIds, statements: key.statements };
}

/** Sets the request's `principal` from its credential: the Bearer API key unless a front-end brings its own. */
export function authenticate(options: { credential?: Credential } = {}) {
  const credential = options.credential ?? bearerApiKey;
  return createMiddleware<AppEnv>(async (c, next) => {
    c.set("principal", await credential(c));
    await next();
  });
}

export function authorize(c: { get(key: "principal"): AppEnv["Variables"]["principal"] }, action: Action, resource: string): void {
  keyCaller(c.get("principal")).authorize(action, resource);
}
