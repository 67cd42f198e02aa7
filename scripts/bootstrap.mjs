// Self-setup shared by `npm start`, `npm test` and the other scripts. Uses only Node's
// standard library, so it runs on a fresh clone before `node_modules` exists.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.status}`);
}

function works(command, args) {
  const result = spawnSync(command, args, { stdio: "ignore" });
  return !result.error && result.status === 0;
}

/** Installs npm dependencies when node_modules is missing or older than the lockfile. */
export function ensureDependencies() {
  const marker = path.join(root, "node_modules", ".package-lock.json");
  const lock = path.join(root, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log("kiln: installing npm dependencies…");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

/**
 * Installs from Debian's packages what is missing of ffmpeg and ffprobe, and of what
 * sandboxes tool runs: bubblewrap (bwrap) and prlimit (util-linux).
 */
export function ensureFfmpeg() {
  const missing = [];
  if (!works("ffmpeg", ["-version"]) || !works("ffprobe", ["-version"])) missing.push("ffmpeg");
  if (!works("bwrap", ["--version"])) missing.push("bubblewrap");
  if (!works("prlimit", ["--version"])) missing.push("util-linux");
  aptInstall(missing);
}

/** Installs tmux when it is missing: the CLI's tests run `kiln` in a real terminal with it. */
export function ensureTmux() {
  if (!works("tmux", ["-V"])) aptInstall(["tmux"]);
}

/**
 * Installs Debian's protoc (protobuf-compiler) when it is missing, with the well-known
 * types' .proto files it includes (libprotobuf-dev: google/protobuf/timestamp.proto), for
 * generating the Transcodely client (`npm run proto:generate`).
 */
export function ensureProtoc() {
  const missing = [];
  if (!works("protoc", ["--version"])) missing.push("protobuf-compiler");
  if (!existsSync(path.join(PROTOBUF_INCLUDE, "google/protobuf/timestamp.proto"))) missing.push("libprotobuf-dev");
  aptInstall(missing);
}

/** Debian's Chromium, which the e2e suite's browser tests drive with playwright-core. */
export const CHROMIUM = "/usr/bin/chromium";

/** Installs Debian's chromium when it is missing, for the dashboard's browser tests. */
export function ensureChromium() {
  if (!works(CHROMIUM, ["--version"])) aptInstall(["chromium"]);
}

/** The include directory where Debian's libprotobuf-dev puts the well-known types. */
export const PROTOBUF_INCLUDE = "/usr/include";

function aptInstall(missing) {
  if (missing.length === 0) return;
  console.log(`kiln: installing ${missing.join(", ")} with apt-get…`);
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const sudo = isRoot ? [] : works("sudo", ["-n", "true"]) ? ["sudo", "-n"] : null;
  if (!sudo) throw new Error(`${missing.join(", ")} missing and apt-get needs root: install with \`sudo apt-get install -y ${missing.join(" ")}\``);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args) => (sudo.length ? run(sudo[0], [...sudo.slice(1), "apt-get", ...args], { env }) : run("apt-get", args, { env }));
  apt(["update"]);
  apt(["install", "-y", "--no-install-recommends", ...missing]);
}

export function wrangler(args, options = {}) {
  run(path.join(root, "node_modules", ".bin", "wrangler"), args, options);
}

/** Where local state lives: wrangler's default, or a directory of its own (tests, benches). */
export function persistArgs(stateDir) {
  return stateDir ? ["--persist-to", stateDir] : [];
}

/** Applies the D1 migrations to the local database that `wrangler dev` uses. */
export function migrateLocal(stateDir) {
  wrangler(["d1", "migrations", "apply", "DB", "--local", ...persistArgs(stateDir)], { env: { ...process.env, CI: "true" }, stdio: ["ignore", "ignore", "inherit"] });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const steps = { deps: ensureDependencies, ffmpeg: ensureFfmpeg, tmux: ensureTmux, chromium: ensureChromium, protoc: ensureProtoc, migrate: migrateLocal };
  for (const name of process.argv.slice(2)) {
    if (!steps[name]) throw new Error(`unknown step ${name}; use ${Object.keys(steps).join(", ")}`);
    steps[name]();
  }
}
