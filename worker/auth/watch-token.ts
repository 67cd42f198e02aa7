import type { Env } from "../env";
import { toBase64Url } from "../bytes";
import { ApiError } from "../errors";
import { hmacKey, signingSecret } from "../storage/hmac";
import type { Caller } from "./caller";

/**
 * Short-lived tokens that let a browser open one job's Watch socket: browsers cannot
 * set an Authorization header on a WebSocket, so the token rides in the query string.
 * It names the job and its organization and is worthless for anything else.
 */
export const WATCH_TOKEN_TTL_S = 300;

const fromB64url = (text: string) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

function key(env: Env): Promise<CryptoKey> {
  return hmacKey(`watch:${signingSecret(env)}`);
}

const claim = (jobId: string, orgId: string, expires: number) => new TextEncoder().encode(`watch\n${jobId}\n${orgId}\n${expires}`);

export async function mintWatchToken(env: Env, jobId: string, orgId: string, now = Date.now()): Promise<{ token: string; expires_at: string }> {
  const expires = Math.floor(now / 1000) + WATCH_TOKEN_TTL_S;
  const sig = await crypto.subtle.sign("HMAC", await key(env), claim(jobId, orgId, expires));
  return { token: `wt_${expires}.${orgId}.${toBase64Url(sig)}`, expires_at: new Date(expires * 1000).toISOString() };
}

/** The organization a valid, unexpired token for `jobId` was minted for; null otherwise. */
async function verifyWatchToken(env: Env, jobId: string, token: string, now = Date.now()): Promise<string | null> {
  const match = /^wt_(\d{1,12})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{20,100})$/.exec(token);
  if (!match) return null;
  const expires = Number(match[1]);
  if (expires * 1000 <= now) return null;
  let signature: Uint8Array;
  try {
    signature = fromB64url(match[3]!);
  } catch {
    return null;
  }
  const ok = await crypto.subtle.verify("HMAC", await key(env), signature, claim(jobId, match[2]!, expires));
  return ok ? match[2]! : null;
}

/** The caller a watch token stands for: its organization, allowed to read its one job and nothing else. */
export async function watchTokenCaller(env: Env, jobId: string, token: string): Promise<Caller> {
  const orgId = await verifyWatchToken(env, jobId, token);
  if (!orgId) throw new ApiError(401, "token_invalid", "The watch token is invalid or expired");
  return {
    orgId,
    authorize(action, resource) {
      if (action !== "jobs:get" || resource !== `jobs/${jobId}`) throw new ApiError(403, "forbidden", `A watch token only opens the Watch of job ${jobId}`);
    },
  };
}
