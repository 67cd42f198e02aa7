import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import { isWebhookUrlAllowed } from "../../worker/webhooks/url-policy";
import { nonPublicHosts } from "../shared/ssrf-hosts";
import { call, seedOrg, videoJob } from "./helpers";

/*
 * The SSRF corpus against every place the Worker itself connects to a user's URL, in
 * production mode (the suite's KILN_ENV): webhook URLs (native and dialect jobs) and
 * the S3 endpoints of origins and secrets (native and Transcodely). Every target names
 * the port of a connection counter on loopback (connection-counter.ts, started by the
 * suite's config); none may be connected to. The Worker cannot resolve names, so names
 * are judged by what only local networks resolve (localhost, single labels such as this
 * machine's hosts-file names); public names that rebind inward are Cloudflare's egress
 * to stop, and the encoder's suite covers rebinding where a resolver can be checked.
 */

const port = env.TEST_SSRF_PORT;
const hosts = [
  ...nonPublicHosts,
  "sub.localhost",
  "vm", // this machine's hosts file
  "metadata", // GCP's metadata server, by its short name
  "metadata.google.internal",
];

async function connectionsMade(): Promise<number> {
  const res = await fetch(env.TEST_SSRF_COUNT_URL);
  return ((await res.json()) as { connections: number }).connections;
}

const entryPoints: string[] = [];
let checked = 0;
afterAll(async () => {
  console.log(`figures: ssrf ${hosts.length} targets × ${entryPoints.length} entry points (${entryPoints.join(", ")}), ${checked} refusals checked, ${await connectionsMade()} connections made`);
});

describe("the shared address policy decides the Worker's URLs", () => {
  it.each([
    // Allowed by the Worker's own policy before it shared the encoder's (issue 17).
    "http://[::ffff:0:7f00:1]/hook",
    "http://[64:ff9b:1::a9fe:a9fe]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://[100::1]/hook",
  ])("production refuses %s", (url) => {
    expect(isWebhookUrlAllowed(url, { KILN_ENV: "production" })).toBe(false);
  });

  it("refuses every target in production and allows them in development", () => {
    for (const host of hosts) {
      expect([host, isWebhookUrlAllowed(`http://${host}:${port}/hook`, { KILN_ENV: "production" })]).toEqual([host, false]);
      expect([host, isWebhookUrlAllowed(`http://${host}:${port}/hook`, { KILN_ENV: "development" })]).toEqual([host, true]);
    }
  });

  it("allows global unicast and public names", () => {
    for (const url of ["https://hooks.example.com/", "https://93.184.216.34/", "https://[2606:4700::1111]/", "https://[2002:5db8:d822::]/", "https://[::ffff:93.184.216.34]/"]) {
      expect([url, isWebhookUrlAllowed(url, { KILN_ENV: "production" })]).toEqual([url, true]);
    }
  });
});

describe("SSRF corpus through the Worker in production mode", { timeout: 240_000 }, () => {
  it("runs in production mode", () => {
    expect(env.KILN_ENV).toBe("production");
  });

  it("origin endpoints (POST /v1/origins): refused with 400, never connected to", async () => {
    entryPoints.push("/v1/origins");
    const { key } = await seedOrg();
    for (const host of hosts) {
      const res = await call("/v1/origins", {
        key,
        body: { name: "o", provider: "s3", bucket: "my-bucket", endpoint: `https://${host}:${port}`, credentials: { access_key_id: "AKIA", secret_access_key: "secret" }, permissions: ["read"] },
      });
      expect([host, res.status, res.json?.error?.code]).toEqual([host, 400, "validation_error"]);
      checked++;
    }
    expect(await connectionsMade()).toBe(0);
  });

  it("secret endpoints (POST /v1/secrets): refused with 400, never connected to", async () => {
    entryPoints.push("/v1/secrets");
    const { key } = await seedOrg();
    for (const [i, host] of hosts.entries()) {
      const res = await call("/v1/secrets", { key, body: { name: `s${i}`, endpoint: `https://${host}:${port}`, credentials: { access_key_id: "AKIA", secret_access_key: "secret" } } });
      expect([host, res.status, res.json?.error?.code]).toEqual([host, 400, "validation_error"]);
      checked++;
    }
    expect(await connectionsMade()).toBe(0);
  });

  it("Transcodely origin endpoints (OriginService/Create): refused, never connected to", async () => {
    entryPoints.push("transcodely OriginService");
    const { key } = await seedOrg();
    for (const host of hosts) {
      const res = await call("/transcodely.v1.OriginService/Create", {
        key,
        body: { name: "o", permissions: ["read"], s3: { bucket: "my-bucket", region: "us-east-1", endpoint: `https://${host}:${port}`, credentials: { access_key_id: "AKIA", secret_access_key: "secret" } } },
      });
      expect([host, res.status]).toEqual([host, 400]);
      checked++;
    }
    expect(await connectionsMade()).toBe(0);
  });

  /** Every delivery of the org's jobs, once each has failed (a refused URL fails at once, not retried). */
  async function refusedDeliveries(key: string, jobIds: string[]): Promise<string[]> {
    const errors: string[] = [];
    for (const id of jobIds) {
      await vi.waitFor(async () => expect((await call(`/v1/jobs/${id}/webhooks`, { key })).json.data[0]?.status).toBe("failed"), { timeout: 20_000, interval: 100 });
      errors.push((await call(`/v1/jobs/${id}/webhooks`, { key })).json.data[0].error);
    }
    return errors;
  }

  it("webhook URLs of native jobs: refused at delivery, never connected to", async () => {
    entryPoints.push("/v1/jobs webhook_url");
    const { key } = await seedOrg();
    const ids = await Promise.all(
      hosts.map(async (host) => {
        const created = await call("/v1/jobs", { key, body: videoJob({ webhook_url: `http://${host}:${port}/hook` }) });
        expect([host, created.status]).toEqual([host, 201]);
        expect((await call(`/v1/jobs/${created.json.id}/cancel`, { key, method: "POST" })).status).toBe(200);
        return created.json.id as string;
      }),
    );
    const errors = await refusedDeliveries(key, ids);
    for (const [i, error] of errors.entries()) expect([hosts[i], error]).toEqual([hosts[i], expect.stringMatching(/^webhook URL refused: host /)]);
    checked += errors.length;
    expect(await connectionsMade()).toBe(0);
  });

  it("webhook URLs of Ittybit-dialect jobs (/jobs): refused at delivery, never connected to", async () => {
    entryPoints.push("ittybit /jobs webhook_url");
    const { key } = await seedOrg();
    const ids = await Promise.all(
      hosts.map(async (host) => {
        const created = await call("/jobs", { key, body: { input: "https://media.example.com/in.mp4", kind: "video", webhook_url: `http://${host}:${port}/hook` } });
        expect([host, created.status]).toEqual([host, 201]);
        const id = (created.json.id ?? created.json.data?.id) as string;
        expect((await call(`/v1/jobs/${id}/cancel`, { key, method: "POST" })).status).toBe(200);
        return id;
      }),
    );
    const errors = await refusedDeliveries(key, ids);
    for (const [i, error] of errors.entries()) expect([hosts[i], error]).toEqual([hosts[i], expect.stringMatching(/^webhook URL refused: host /)]);
    checked += errors.length;
    expect(await connectionsMade()).toBe(0);
  });
});
