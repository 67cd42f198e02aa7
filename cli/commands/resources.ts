import type { Command } from "../args";
import type { Context } from "./context";

/** `kiln keys`: the organization's API keys (never their secrets). */
export async function listKeys(_command: Extract<Command, { name: "keys" }>, { kiln, out, signal }: Context): Promise<number> {
  for (const key of await kiln.keys.list({ signal })) {
    out.result(key, [key.id, `${key.secret_prefix}…`, key.revoked_at ? "revoked" : "active ", key.name ?? "", key.created_at].join("  "));
  }
  return 0;
}

/** `kiln origins`: the buckets jobs may read from and write to. */
export async function listOrigins(_command: Extract<Command, { name: "origins" }>, { kiln, out, signal }: Context): Promise<number> {
  for await (const origin of kiln.origins.list({}, { signal })) {
    const where = `${origin.provider}://${origin.bucket}${origin.path ? `/${origin.path}` : ""}`;
    out.result(origin, [origin.id, where, origin.permissions.join(","), origin.name ?? ""].join("  "));
  }
  return 0;
}
