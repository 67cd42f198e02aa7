import type { Principal } from "../env";
import { ApiError } from "../errors";
import { type Action, isAllowed } from "./policy";

/**
 * Who is asking, as the front-end that took the request resolved its credential: the
 * organization acted for, and what it may do there. The job service asks nothing else,
 * so each front-end (an API key, a watch token, a dialect's own credential) maps to one.
 */
export interface Caller {
  orgId: string;
  /** The API key the credential stands on (directly, or the key a watch token was minted for): per-key limits count against it, and an open Watch closes when it is revoked. */
  keyId?: string;
  /** Unix seconds when the credential ends (a watch token's expiry); an open Watch closes then. */
  expiresAt?: number;
  /** Throws 403 `forbidden` unless the caller may do `action` on `resource`. */
  authorize(action: Action, resource: string): void;
}

/** An API key's principal: its allow statements decide. */
export function keyCaller(principal: Principal): Caller {
  return {
    orgId: principal.orgId,
    keyId: principal.keyId,
    authorize(action, resource) {
      if (!isAllowed(principal.statements, action, resource)) {
        throw new ApiError(403, "forbidden", `This API key is not allowed to ${action} on ${resource}`);
      }
    },
  };
}
