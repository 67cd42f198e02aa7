// `npm run sdk:generate`: the native API's OpenAPI document, taken from the Worker's own /v1
// app in Node (no stack needed), written to sdk/openapi.json, and the SDK's types generated
// from it. Run under tsx, which loads the Worker's TypeScript. test/worker/sdk-document.test.ts
// fails when the served document and the committed one differ, test/unit/sdk-types.test.ts
// when the types are not this script's output.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { v1 } from "../worker/routes/v1.ts";
import { root } from "./bootstrap.mjs";
import { sdkTypes } from "./sdk-types.mjs";

const response = await v1.request("/openapi.json");
if (response.status !== 200) throw new Error(`GET /v1/openapi.json answered ${response.status}: ${await response.text()}`);
const document = await response.json();
writeFileSync(path.join(root, "sdk", "openapi.json"), `${JSON.stringify(document, null, 2)}\n`);
writeFileSync(path.join(root, "sdk", "src", "generated", "openapi.ts"), await sdkTypes(document));
console.log(`kiln: sdk/openapi.json (${Object.keys(document.paths).length} paths) and sdk/src/generated/openapi.ts written`);
