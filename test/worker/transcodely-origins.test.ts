import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, seedOrg } from "./helpers";
import { S3_TEST_CREDENTIALS } from "./s3-bucket";

const S3 = env.TEST_ONLY_ALLOWED_S3_ENDPOINT!;
const rpc = (method: string, key: string | null, body: unknown) => call(`/transcodely.v1.OriginService/${method}`, { key, body });

describe("smoke", () => {
  it("creates", async () => {
    const { key } = await seedOrg();
    const res = await rpc("Create", key, { name: "o", permissions: ["ORIGIN_PERMISSION_READ", "write"], s3: { bucket: "kiln-origin-tests", region: "us-east-1", endpoint: S3, credentials: S3_TEST_CREDENTIALS } });
    console.log(res.status, JSON.stringify(res.json, null, 1));
    const bad = await rpc("Create", key, { name: "", description: "x", permissions: ["exec"], s3: { bucket: "A", region: "us east", credentials: {} } });
    console.log(bad.status, JSON.stringify(bad.json, null, 1));
  });
});
