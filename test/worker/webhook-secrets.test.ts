import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { newWebhookSecret } from "../../worker/webhooks/secrets";
import { call, seedOrg, videoJob } from "./helpers";
import { receiver, useReceivers } from "./scripted-receiver";

/*
 * Webhook signing secrets at rest: the D1 row holds a ciphertext, never the `whsec_…`
 * the API shows; rows written in plaintext before keep working and are sealed when read.
 * The receiver is the boundary (scripted-receiver.ts answers 200); D1, the Queue and the JobDO are real.
 */
useReceivers();

const stored = async (orgId: string) => (await env.DB.prepare("SELECT secret FROM webhook_secrets WHERE org_id = ?").bind(orgId).first<string>("secret"))!;
const shown = async (key: string) => (await call("/v1/webhooks/secret", { key })).json.secret as string;

/** A job whose cancel sends a webhook; answers the request the receiver got. */
async function signedDelivery(key: string) {
  const r = receiver();
  const created = await call("/v1/jobs", { key, body: videoJob({ webhook_url: r.url }) });
  await call(`/v1/jobs/${created.json.id}/cancel`, { key, method: "POST" });
  await vi.waitFor(() => expect(r.received.some((got) => got.headers["webhook-id"] && got.body.includes(created.json.id))).toBe(true), { timeout: 10_000, interval: 100 });
  return r.received.find((got) => got.body.includes(created.json.id))!;
}

describe("webhook secrets at rest", () => {
  it("the D1 row holds no plaintext secret, and deliveries still verify with the shown one", async () => {
    const { key, orgId } = await seedOrg();
    const secret = await shown(key);
    expect(secret).toMatch(/^whsec_/);
    const row = await stored(orgId);
    expect(row).not.toContain(secret);
    expect(row).not.toContain(secret.slice("whsec_".length));
    expect(row).toMatch(/^v1\./);
    const request = await signedDelivery(key);
    expect(new Webhook(secret).verify(request.body, request.headers)).toMatchObject({ type: "job.canceled" });

    const rotated = (await call("/v1/webhooks/secret/rotate", { key, method: "POST" })).json.secret as string;
    expect(rotated).not.toBe(secret);
    expect(await stored(orgId)).not.toContain(rotated.slice("whsec_".length));
    const again = await signedDelivery(key);
    expect(new Webhook(rotated).verify(again.body, again.headers)).toMatchObject({ type: "job.canceled" });
  });

  it("a ciphertext copied onto another organization's row does not open there", async () => {
    const a = await seedOrg();
    const b = await seedOrg();
    await shown(a.key);
    await shown(b.key);
    await env.DB.prepare("UPDATE webhook_secrets SET secret = ? WHERE org_id = ?").bind(await stored(a.orgId), b.orgId).run();
    expect((await call("/v1/webhooks/secret", { key: b.key })).status).toBe(500);
  });

  it("a plaintext row from before encryption still signs, and is sealed on first read", async () => {
    const { key, orgId } = await seedOrg();
    const legacy = newWebhookSecret();
    await env.DB.prepare("INSERT INTO webhook_secrets (org_id, secret, created_at) VALUES (?, ?, ?)").bind(orgId, legacy, new Date().toISOString()).run();
    const request = await signedDelivery(key);
    expect(new Webhook(legacy).verify(request.body, request.headers)).toMatchObject({ type: "job.canceled" });
    expect(await shown(key)).toBe(legacy);
    const row = await stored(orgId);
    expect(row).toMatch(/^v1\./);
    expect(row).not.toContain(legacy.slice("whsec_".length));
  });
});
