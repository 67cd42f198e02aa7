import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SCALAR_SCRIPT } from "../../worker/docs/api-reference";

const get = (path: string) => exports.default.fetch(new Request(`https://kiln.test${path}`));

describe("the API reference at /docs", () => {
  it("renders Scalar over /docs/openapi.json with its script from the Worker's assets, no CDN", async () => {
    const res = await get("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain(`<script src="${SCALAR_SCRIPT}"></script>`);
    expect(html).toContain(`"url": "/docs/openapi.json"`);
    expect(html).toContain("Scalar.createApiReference('#app'");
    expect(html).not.toMatch(/cdn\.jsdelivr|unpkg|fonts\.scalar/);
  });

  it("serves the native document with the paths it leaves out named in its introduction; /v1/openapi.json is unchanged", async () => {
    const native = (await (await get("/v1/openapi.json")).json()) as any;
    const reference = (await (await get("/docs/openapi.json")).json()) as any;
    expect(reference.paths).toEqual(native.paths);
    expect(reference.components).toEqual(native.components);
    expect(native.info.description).toBe("Video processing jobs: submit, watch, download.");
    expect(reference.info.description.startsWith(native.info.description)).toBe(true);
    for (const path of [
      "/v1/jobs/{id}/outputs/{output_id}/key",
      "/v1/uploads/tus",
      "POST /jobs",
      "/transcodely.v1.JobService/{Method}",
      "/o/{organization_urn}/jobs",
      "POST /api/v1/videos/upload",
    ]) {
      expect(reference.info.description).toContain(path);
    }
  });

  it("leaves every other path under /docs to the usual 404", async () => {
    const res = await get("/docs/nothing");
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe("not_found");
  });
});
