import type { Env } from "../env";
import { decryptCredentials } from "./crypto";
import { type AccessProblem, checkOriginAccess, originPermissions } from "./s3";
import type { OriginPermission, OriginRow } from "./store";

/** Each permission the origin declares, proved again with its stored credentials: null where it held, the problem where it did not. */
export type AccessCheck = Partial<Record<OriginPermission, AccessProblem | null>>;

/**
 * The same signed requests creation made (a one-key listing for read, a probe object
 * written and deleted for write), made again so a user can see whether the bucket's
 * policy or the key changed since. Each permission is checked on its own, so one that
 * fails does not hide the other.
 */
export async function recheckOrigin(env: Env, row: OriginRow): Promise<AccessCheck> {
  const credentials = await decryptCredentials(env, { orgId: row.orgId, originId: row.id }, row.credentials);
  const check: AccessCheck = {};
  for (const permission of originPermissions(row)) {
    check[permission] = await checkOriginAccess(row, credentials, [permission]);
  }
  return check;
}
