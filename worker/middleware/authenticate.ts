import { createMiddleware } from "hono/factory";
import { findKeyBySecret } from "../auth/api-keys";
import { keyCaller } from "../auth/caller";
import type { Action } from "../auth/policy";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/** Resolves `Authorization: Bearer <key>` (and `X-Organization-ID`) to a principal. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  if (!header) throw new ApiError(401, "token_missing", "Authorization header with a Bearer API key is required");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError(401, "token_invalid", "Authorization header must be `Bearer <api key>`");
  const key = await findKeyBySecret(c.env.DB, match[1]!);
  if (!key) throw new ApiError(401, "token_invalid", "API key is invalid or revoked");

  const requested = c.req.header("x-organization-id");
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
  c.set("principal", { keyId: key.keyId, orgId, orgIds: key.orgIds, statements: key.statements });
  await next();
});

export function authorize(c: { get(key: "principal"): AppEnv["Variables"]["principal"] }, action: Action, resource: string): void {
  keyCaller(c.get("principal")).authorize(action, resource);
}
