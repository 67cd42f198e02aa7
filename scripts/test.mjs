// `npm test`: set up what is missing, then run the whole suite.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ensureChromium, ensureDependencies, ensureFfmpeg, ensureTmux, root } from "./bootstrap.mjs";

ensureDependencies();
ensureFfmpeg();
ensureTmux();
ensureChromium();
const result = spawnSync(path.join(root, "node_modules", ".bin", "vitest"), ["run", ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
process.exit(result.status ?? 1);
