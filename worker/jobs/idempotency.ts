import { derivedId, newId, sha256Hex } from "../ids";

/**
 * The id of a new job. An idempotency key names the job, so every create with it reaches
 * the same JobDO, which serialises them: concurrent retries cannot create two jobs.
 */
export async function newJobId(orgId: string, idempotencyKey: string | null): Promise<string> {
  return idempotencyKey ? derivedId("job", `${orgId}\n${idempotencyKey}`) : newId("job");
}

/** What a retry must repeat to get the first job back: its body, whatever its key order. */
export function requestHash(body: unknown): Promise<string> {
  return sha256Hex(canonicalJson(body));
}

/** JSON with sorted keys, so two equal bodies hash alike whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
