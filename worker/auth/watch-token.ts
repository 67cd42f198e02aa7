import type { Env } from "../env";
import { toBase64Url } from "../bytes";
import { ApiError } from "../errors";
import { hmacKey, signingSecret } from "../storage/hmac";
import { lapsedKeyIds } from "./api-keys";
import type { Caller } from "./caller";

/**
 * Short-lived tokens that let a browser open one job's Watch socket: browsers cannot
 * set an Authorization header on a WebSocket, so the token rides in the query string.
 * It names the job, its organization and the API key it was minted with, and is
 * worthless for anything else. A Watch opened with one closes when the token expires
 * or that key is revoked (jobs/watch-hub.ts).
 */
export const WATCH_TOKEN_TTL_S = 300;

const fromB64url = (text: string) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

function key(env: Env): Promise<CryptoKey> {
  return hmacKey(`watch:${signingSecret(env)}`);
}

// The key id is signed too (a line of its own, "" for a caller without one), so a token cannot be moved onto another key.
const claim = (jobId: string, orgId: string, keyId: string, expires: number) => new TextEncoder().encode(`watch\n${jobId}\n${orgId}\n${keyId}\n${expires}`);

export async function mintWatchToken(env: Env, jobId: string, orgId: string, keyId: string | undefined, now = Date.now()): Promise<{ token: string; expires_at: string }> {
  const expires = Math.floor(now / 1000) + WATCH_TOKEN_TTL_S;
  const sig = await crypto.subtle.sign("HMAC", await key(env), claim(jobId, orgId, keyId ?? "", expires));
  return { token: `wt_${expires}.${orgId}.${keyId ?? ""}.${toBase64Url(sig)}`, expires_at: new Date(expires * 1000).toISOString() };
}

interface WatchClaims {
  orgId: string;
  keyId: string;
  expires: number;
}

/** What a valid, unexpired token for `jobId` stands for; null otherwise. */
async function verifyWatchToken(env: Env, jobId: string, token: string, now = Date.now()): Promise<WatchClaims | null> {
  const match = /^wt_(\d{1,12})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{0,64})\.([A-Za-z0-9_-]{20,100})$/.exec(token);
  if (!match) return null;
  const expires = Number(match[1]);
  if (expires * 1000 <= now) return null;
  let signature: Uint8Array;
  try {
    signature = fromB64url(match[4]!);
  } catch {
    return null;
  }
  const ok = await crypto.subtle.verify("HMAC", await key(env), signature, claim(jobId, match[2]!, match[3]!, expires));
  return ok ? { orgId: match[2]!, keyId: match[3]!, expires } : null;
}

/**
 * The caller a watch token stands for: its organization, allowed to read its one job
 * and nothing else, until the token expires and while its key stands.
 */
export async function watchTokenCaller(env: Env, jobId: string, token: string): Promise<Caller> {
  const claims = await verifyWatchToken(env, jobId, token);
  if (!claims) throw new ApiError(401, "token_invalid", "The watch token is invalid or expired");
  if (claims.keyId && (await lapsedKeyIds(env.DB, [claims.keyId])).size > 0) {
    throw new ApiError(401, "token_invalid", "The API key this watch token was minted with has been revoked");
  }
  return {
    orgId: claims.orgId,
    ...(claims.keyId ? { keyId: claims.keyId } : {}),
    expiresAt: claims.expires,
    authorize(action, resource) {
      if (action !== "jobs:get" || resource !== `jobs/${jobId}`) throw new ApiError(403, "forbidden", `A watch token only opens the Watch of job ${jobId}`);
    },
  };
}
