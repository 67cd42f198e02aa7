import { describe, expect, it } from "vitest";
import committed from "../../sdk/openapi.json";
import { call } from "./helpers";

describe("the SDK's OpenAPI document", () => {
  it("is the document the Worker serves at /v1/openapi.json", async () => {
    const served = await call("/v1/openapi.json");
    expect(served.status).toBe(200);
    // The SDK's types are generated from the committed copy; a change to a route's schemas must regenerate them.
    expect(served.json, "sdk/openapi.json differs from the served document: run `npm run sdk:generate` and commit the result").toEqual(committed);
  });
});
