import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { webhookSecrets } from "../db/schema";
import type { Env } from "../env";
import { nowIso } from "../ids";
import { originKey } from "../origins/crypto";

export interface WebhookSecret {
  secret: string;
  created_at: string;
}

type SecretsEnv = Pick<Env, "DB" | "ORIGIN_CREDENTIALS_KEY">;

/** `whsec_` + base64 of 32 random bytes: the Standard Webhooks secret format. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

/*
 * At rest a secret is AES-256-GCM under the same key as origin credentials
 * (ORIGIN_CREDENTIALS_KEY), a fresh 12-byte IV each time and the organization as
 * additional data, so a ciphertext copied onto another organization's row does not open:
 * `v1.<iv base64>.<ciphertext+tag base64>`. Rows written before this hold the plaintext
 * `whsec_…`; they are read as they are and sealed on that first read.
 */
const SEALED = "v1";
const PLAINTEXT_PREFIX = "whsec_";
const aad = (orgId: string) => new TextEncoder().encode(`kiln-webhook-secret:${orgId}`);
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));

async function seal(env: SecretsEnv, orgId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(orgId) }, await originKey(env), new TextEncoder().encode(secret));
  return `${SEALED}.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

async function open(env: SecretsEnv, orgId: string, stored: string): Promise<string> {
  if (stored.startsWith(PLAINTEXT_PREFIX)) return stored;
  const [version, iv, sealed] = stored.split(".");
  if (version !== SEALED || !iv || !sealed) throw new Error(`the webhook secret of ${orgId} is not in a known format`);
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv), additionalData: aad(orgId) }, await originKey(env), fromBase64(sealed));
  return new TextDecoder().decode(plain);
}

/**
 * The organization's current signing secret, created on first use. Concurrent first
 * uses race on the primary key and all read back the one that won. A plaintext row left
 * from before encryption is sealed in place (only if it still holds that plaintext, so a
 * rotation in between wins).
 */
export async function orgWebhookSecret(env: SecretsEnv, orgId: string): Promise<WebhookSecret> {
  const orm = drizzle(env.DB);
  let row = await orm.select().from(webhookSecrets).where(eq(webhookSecrets.orgId, orgId)).get();
  if (!row) {
    await orm.insert(webhookSecrets).values({ orgId, secret: await seal(env, orgId, newWebhookSecret()), createdAt: nowIso() }).onConflictDoNothing();
    row = await orm.select().from(webhookSecrets).where(eq(webhookSecrets.orgId, orgId)).get();
    if (!row) throw new Error(`webhook secret of ${orgId} vanished`);
  }
  const secret = await open(env, orgId, row.secret);
  if (row.secret === secret) {
    await orm
      .update(webhookSecrets)
      .set({ secret: await seal(env, orgId, secret) })
      .where(and(eq(webhookSecrets.orgId, orgId), eq(webhookSecrets.secret, secret)));
  }
  return { secret, created_at: row.createdAt };
}

/**
 * Replaces the organization's secret. Every attempt signs with the secret current when
 * it is made, so from now on new deliveries and retries of earlier ones are signed with
 * the new secret only.
 */
export async function rotateWebhookSecret(env: SecretsEnv, orgId: string): Promise<WebhookSecret> {
  const secret = newWebhookSecret();
  const row = { orgId, secret: await seal(env, orgId, secret), createdAt: nowIso() };
  await drizzle(env.DB)
    .insert(webhookSecrets)
    .values(row)
    .onConflictDoUpdate({ target: webhookSecrets.orgId, set: { secret: row.secret, createdAt: row.createdAt } });
  return { secret, created_at: row.createdAt };
}
