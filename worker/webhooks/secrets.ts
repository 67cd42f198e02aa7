import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { webhookSecrets } from "../db/schema";
import { nowIso } from "../ids";

export interface WebhookSecret {
  secret: string;
  created_at: string;
}

/** `whsec_` + base64 of 32 random bytes: the Standard Webhooks secret format. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * The organization's current signing secret, created on first use. Concurrent first
 * uses race on the primary key and all read back the one that won.
 */
export async function orgWebhookSecret(db: D1Database, orgId: string): Promise<WebhookSecret> {
  const orm = drizzle(db);
  const existing = await orm.select().from(webhookSecrets).where(eq(webhookSecrets.orgId, orgId)).get();
  if (existing) return { secret: existing.secret, created_at: existing.createdAt };
  await orm.insert(webhookSecrets).values({ orgId, secret: newWebhookSecret(), createdAt: nowIso() }).onConflictDoNothing();
  const row = await orm.select().from(webhookSecrets).where(eq(webhookSecrets.orgId, orgId)).get();
  if (!row) throw new Error(`webhook secret of ${orgId} vanished`);
  return { secret: row.secret, created_at: row.createdAt };
}

/**
 * Replaces the organization's secret. Every attempt signs with the secret current when
 * it is made, so from now on new deliveries and retries of earlier ones are signed with
 * the new secret only.
 */
export async function rotateWebhookSecret(db: D1Database, orgId: string): Promise<WebhookSecret> {
  const row = { orgId, secret: newWebhookSecret(), createdAt: nowIso() };
  await drizzle(db)
    .insert(webhookSecrets)
    .values(row)
    .onConflictDoUpdate({ target: webhookSecrets.orgId, set: { secret: row.secret, createdAt: row.createdAt } });
  return { secret: row.secret, created_at: row.createdAt };
}
