// Builds the dashboard (dashboard/) into the Workers assets directory that wrangler.toml's
// [assets] serves: index.html, the hashed script and style files under assets/, and the
// API reference's script (/docs loads it from here, not from a CDN). `npm start` and
// `npm test` build before wrangler starts; the worker and e2e test configs do too, so a
// targeted run never serves a stale or missing build. A build is skipped when the
// sources it was made from have not changed (their hash is kept in build.json).
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { root } from "./bootstrap.mjs";

export const DASHBOARD_SOURCE = path.join(root, "dashboard");
/** wrangler.toml's assets.directory. */
export const DASHBOARD_OUT = path.join(root, "dist", "dashboard");
const MANIFEST = "build.json";
/** Where /docs loads Scalar's standalone API reference from (worker/docs/reference.ts). */
export const SCALAR_ASSET = "assets/scalar-api-reference.js";
const SCALAR_SOURCE = path.join(root, "node_modules", "@scalar", "api-reference", "dist", "browser", "standalone.js");

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(file) : [file];
  });
}

/** What a build depends on: the dashboard's sources, this script, and the locked dependency versions. */
function sourceHash() {
  const hash = createHash("sha256");
  const inputs = [...filesUnder(DASHBOARD_SOURCE).sort(), path.join(root, "scripts", "build-dashboard.mjs"), path.join(root, "package-lock.json")];
  for (const file of inputs) hash.update(path.relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  return hash.digest("hex");
}

/** The manifest of the current build, or null when there is none. */
export function readManifest() {
  const file = path.join(DASHBOARD_OUT, MANIFEST);
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : null;
}

/** Builds unless the last build came from the same sources; returns the manifest. */
export async function ensureDashboard() {
  const hash = sourceHash();
  const current = readManifest();
  if (current?.sourceHash === hash) return current;
  return buildDashboard(hash);
}

/**
 * The JS files a page load fetches before anything is clicked: the entry and what it
 * imports statically, transitively. Dynamic imports (the players, the tus client) are
 * chunks fetched on demand.
 */
function staticClosure(metafile, entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imported of metafile.outputs[file]?.imports ?? []) if (imported.kind === "import-statement") visit(imported.path);
  };
  visit(entry);
  return [...seen];
}

async function buildDashboard(hash) {
  const esbuild = await import("esbuild");
  // Built beside the output and swapped in whole, so wrangler never serves half a build.
  const staging = `${DASHBOARD_OUT}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { app: path.join(DASHBOARD_SOURCE, "src", "main.ts") },
    outdir: staging,
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome109", "firefox115", "safari16"],
    minify: true,
    sourcemap: "linked",
    entryNames: "assets/[name]-[hash]",
    chunkNames: "assets/[name]-[hash]",
    assetNames: "assets/[name]-[hash]",
    metafile: true,
    legalComments: "linked",
    logLevel: "warning",
  });
  // The metafile's paths are relative to the working directory; the manifest's, to the output.
  const rel = (file) => path.relative(staging, path.join(root, file)).split(path.sep).join("/");
  const outputs = Object.fromEntries(Object.entries(result.metafile.outputs).map(([file, meta]) => [rel(file), { ...meta, imports: meta.imports.map((i) => ({ ...i, path: rel(i.path) })) }]));
  const [entry] = Object.entries(outputs).find(([file, meta]) => meta.entryPoint !== undefined && file.endsWith(".js")) ?? [];
  if (!entry) throw new Error("esbuild produced no entry script");
  const css = outputs[entry].cssBundle ? rel(outputs[entry].cssBundle) : null;
  const firstLoad = staticClosure({ outputs }, entry);
  const template = readFileSync(path.join(DASHBOARD_SOURCE, "index.html"), "utf8");
  const preloads = firstLoad.filter((f) => f !== entry).map((f) => `<link rel="modulepreload" href="/${f}">`).join("\n    ");
  const html = template
    .replace("<!-- styles -->", css ? `<link rel="stylesheet" href="/${css}">` : "")
    .replace("<!-- scripts -->", `${preloads}\n    <script type="module" src="/${entry}"></script>`);
  writeFileSync(path.join(staging, "index.html"), html);
  copyFileSync(path.join(DASHBOARD_SOURCE, "_headers"), path.join(staging, "_headers"));
  copyFileSync(SCALAR_SOURCE, path.join(staging, SCALAR_ASSET));

  // Sizes as they go over the wire: Workers static assets serve text compressed.
  const sized = (file) => ({
    file,
    bytes: statSync(path.join(staging, file)).size,
    gzipBytes: gzipSync(readFileSync(path.join(staging, file)), { level: 9 }).length,
    inputs: Object.keys(outputs[file].inputs),
  });
  const scripts = Object.keys(outputs).filter((f) => f.endsWith(".js"));
  const manifest = {
    sourceHash: hash,
    entry,
    css,
    firstLoad: firstLoad.map(sized),
    lazy: scripts.filter((f) => !firstLoad.includes(f)).map(sized),
  };
  writeFileSync(path.join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  // build.json is for the tests and people; it is not served.
  writeFileSync(path.join(staging, ".assetsignore"), `${MANIFEST}\n`);

  mkdirSync(path.dirname(DASHBOARD_OUT), { recursive: true });
  rmSync(DASHBOARD_OUT, { recursive: true, force: true });
  renameSync(staging, DASHBOARD_OUT);
  return manifest;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const manifest = await ensureDashboard();
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const first = manifest.firstLoad.reduce((sum, f) => sum + f.gzipBytes, 0);
  console.log(`kiln: dashboard built into ${path.relative(root, DASHBOARD_OUT)}/: first load ${kb(first)} of JS gzipped (${manifest.firstLoad.length} files)`);
  for (const chunk of manifest.lazy) console.log(`  lazy ${chunk.file}: ${kb(chunk.gzipBytes)} gzipped`);
}
