import { describe, expect, it } from "vitest";
import { call, seedOrg, videoJob } from "./helpers";

describe("POST /v1/jobs", () => {
  it("creates a kind job with its planned tasks", async () => {
    const { key } = await seedOrg();
    const res = await call("/v1/jobs", { key, body: videoJob() });
    expect(res.status).toBe(201);
    expect(res.json.id).toMatch(/^job_[a-z0-9]{20}$/);
    expect(res.json.status).toBe("pending");
    expect(res.json.tasks.map((t: { kind: string }) => t.kind)).toEqual(["probe", "import", "video", "export"]);
  });
});
