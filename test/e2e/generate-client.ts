import { execFileSync } from "node:child_process";
import path from "node:path";

/**
 * Generates the Transcodely Connect client (gen/, not committed) before any e2e file is
 * loaded: a test file's imports of it are resolved when the file is collected, before
 * its own hooks run, so generating it in a beforeAll is too late on a fresh clone.
 */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, "../..");
  execFileSync(process.execPath, [path.join(root, "scripts", "proto-generate.mjs")], { cwd: root, stdio: "inherit" });
}
