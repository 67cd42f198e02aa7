// `npm start`: set up what is missing, seed the local dev organization, and serve the
// API on :8787 with local D1, Queues and Durable Objects. Ctrl-C stops everything.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ensureDependencies, ensureFfmpeg, migrateLocal, root, wrangler } from "./bootstrap.mjs";

const port = Number(process.env.PORT ?? 8787);
const devKey = process.env.KILN_DEV_API_KEY ?? "sk_dev_local";
const devOrg = "dev";

ensureDependencies();
ensureFfmpeg();
migrateLocal();
seedDevOrganization();

const children = [
  spawn(
    path.join(root, "node_modules", ".bin", "wrangler"),
    ["dev", "--port", String(port), "--ip", "127.0.0.1", "--var", "KILN_ENV:development", "--show-interactive-dev-session=false"],
    { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
  ),
];
for (const child of children) {
  child.on("exit", (code) => {
    stopAll();
    process.exit(code ?? 0);
  });
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, stopAll);

await waitForHealth(`http://127.0.0.1:${port}/health`);
const sample = JSON.stringify({ input: "https://example.com/video.mp4", kind: "video", options: { format: "mp4", quality: "high" } });
console.log(`
  Kiln is serving http://localhost:${port}   (OpenAPI: http://localhost:${port}/v1/openapi.json)
  Dev organization: ${devOrg}   API key: ${devKey}

  Create a job:
    curl -s http://localhost:${port}/v1/jobs -H 'Authorization: Bearer ${devKey}' -H 'Content-Type: application/json' -d '${sample}'
  Then read it back:
    curl -s http://localhost:${port}/v1/jobs/<id> -H 'Authorization: Bearer ${devKey}'
`);

function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill("SIGINT");
}

/** The dev org and key exist only in the local database, created (or updated) here. */
function seedDevOrganization() {
  const hash = createHash("sha256").update(devKey).digest("hex");
  const now = new Date().toISOString();
  const quote = (text) => `'${text.replaceAll("'", "''")}'`;
  const statements = JSON.stringify([{ effect: "allow", actions: ["*"], resources: ["*"] }]);
  const sql = `
INSERT INTO organizations (id, name, created_at) VALUES (${quote(devOrg)}, 'Local development', ${quote(now)}) ON CONFLICT(id) DO NOTHING;
INSERT INTO api_keys (id, name, secret_hash, secret_prefix, statements, created_at) VALUES ('key_dev', 'dev (npm start)', ${quote(hash)}, ${quote(devKey.slice(0, 11))}, ${quote(statements)}, ${quote(now)})
  ON CONFLICT(id) DO UPDATE SET secret_hash = excluded.secret_hash, secret_prefix = excluded.secret_prefix, revoked_at = NULL;
INSERT INTO api_key_organizations (key_id, org_id) VALUES ('key_dev', ${quote(devOrg)}) ON CONFLICT DO NOTHING;
`;
  const dir = path.join(root, ".wrangler", "tmp");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "seed-dev.sql");
  writeFileSync(file, sql);
  wrangler(["d1", "execute", "DB", "--local", `--file=${file}`], { stdio: ["ignore", "ignore", "inherit"] });
}

async function waitForHealth(url) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Kiln did not become healthy at ${url}`);
}
