import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sdkTypes } from "../../scripts/sdk-types.mjs";

const sdk = path.resolve(import.meta.dirname, "../../sdk");

describe("the SDK's generated types", () => {
  it("are what openapi-typescript makes of the committed document", async () => {
    const document = JSON.parse(readFileSync(path.join(sdk, "openapi.json"), "utf8"));
    const committed = readFileSync(path.join(sdk, "src", "generated", "openapi.ts"), "utf8");
    // A hand edit, or a document regenerated without its types, shows here; `npm run sdk:generate` makes both.
    expect(await sdkTypes(document), "sdk/src/generated/openapi.ts is stale: run `npm run sdk:generate`").toBe(committed);
  });
});
