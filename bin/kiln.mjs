#!/usr/bin/env node
// `npx kiln …`: runs the CLI's TypeScript source with tsx, in this process (so Ctrl-C reaches it directly).
import { tsImport } from "tsx/esm/api";

const { main } = await tsImport("../cli/main.ts", import.meta.url);
process.exitCode = await main(process.argv.slice(2));
