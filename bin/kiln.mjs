#!/usr/bin/env node
// `npx kiln …`: runs the CLI's TypeScript source with tsx, in this process (so Ctrl-C reaches it directly).
import { tsImport } from "tsx/esm/api";

const { main } = await tsImport("../cli/main.ts", import.meta.url);
// Exits as soon as the command is done: a socket an interrupted upload left open must not
// keep the process waiting (stdout to a file, pipe or terminal is written synchronously on Linux).
process.exit(await main(process.argv.slice(2)));
