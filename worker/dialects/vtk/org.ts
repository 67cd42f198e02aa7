import type { Context } from "hono";
import { findKeyBySecret } from "../../auth/api-keys";
import type { AppEnv, Principal } from "../../env";
import { ApiError } from "../../errors";
import type { Credential } from "../../middleware/authenticate";

const URN_PREFIX = "urn:janus:organization:";
const URN = /^urn:janus:organization:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The organization URN of a Kiln organization: its id without the `org_` prefix that
 * generated ids carry, so `org_abc` is `urn:janus:organization:abc` and the local `dev`
 * organization `urn:janus:organization:dev`.
 */
export function organizationUrn(orgId: string): string {
  return `${URN_PREFIX}${orgId.replace(/^org_/, "")}`;
}

function parseUrn(text: string, where: string): string {
  if (!URN.test(text)) throw new ApiError(400, "invalid_organization_urn", `${where}: ${JSON.stringify(text)} is not an organization URN (urn:janus:organization:<name>)`);
  return text;
}

/** The organization of `urn` among the key's, or a 404: a key is never told whether another organization exists. */
function memberOrg(orgIds: string[], urn: string): string {
  const orgId = orgIds.find((id) => organizationUrn(id) === urn);
  if (!orgId) throw new ApiError(404, "not_found", `No organization ${urn}`);
  return orgId;
}

/** The URN in `/o/{organization_urn}/…`, as the client may have percent-encoded it. */
function pathUrn(c: Context<AppEnv>): string {
  const segment = /^\/o\/([^/]+)/.exec(c.req.path)?.[1] ?? "";
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * VTK's credential: `Authorization: Bearer <Kiln key>`, the organization in the path
 * (the one acted for, which owns the resources) and `x-castlabs-organization` (the
 * membership used). Both must be organizations of the key; they may differ only where
 * the key belongs to both (cross-organization access). Either one the key does not
 * belong to is a 404.
 */
export const vtkCredential: Credential = async (c): Promise<Principal> => {
  const header = c.req.header("authorization");
  if (!header) throw new ApiError(401, "token_missing", "Authorization header with a Bearer token is required");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError(401, "token_invalid", "Authorization header must be `Bearer <token>`");
  const key = await findKeyBySecret(c.env.DB, match[1]!);
  if (!key) throw new ApiError(401, "token_invalid", "The token is invalid or revoked");
  const orgId = memberOrg(key.orgIds, parseUrn(pathUrn(c), "path"));
  const membership = c.req.header("x-castlabs-organization");
  if (membership === undefined || membership.trim() === "") {
    throw new ApiError(400, "organization_required", "x-castlabs-organization header with the organization URN is required");
  }
  memberOrg(key.orgIds, parseUrn(membership.trim(), "x-castlabs-organization"));
  return { keyId: key.keyId, orgId, orgIds: key.orgIds, statements: key.statements };
};
