// The whole local stack as one object: wrangler dev (local D1, R2, Queues, Durable
// Objects) and the encoder process, wired together. `npm start` runs it for people;
// the e2e suite and the benches run it the same way.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readlinkSync, writeFileSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrateLocal, persistArgs, root, wrangler } from "./bootstrap.mjs";
import { supervise } from "./supervise.mjs";

export const DEV_ORG = "dev";
const DEV_ENCODER_TOKEN = "kiln-dev-encoder-token-change-me";
// The Worker refuses this value when KILN_ENV is production (worker/storage/signing.ts).
const DEV_STORAGE_SIGNING_SECRET = "kiln-dev-storage-signing-secret-not-for-production";
// 32 bytes, base64: encrypts origin credentials in the local database only.
const DEV_ORIGIN_CREDENTIALS_KEY = Buffer.from("kiln-dev-origin-credentials-key!").toString("base64");

/**
 * Starts the stack and resolves once both processes answer /health.
 * Options: port (8787), encoderPort (port + 1), encoderPorts (more than one encoder
 * process, a pool: ENCODER_URL lists them all; the first is the one encoderUrl,
 * killEncoder and the like name, and its work root is workDir, the others' workDir-2,
 * -3, …), devKey, stateDir (wrangler's state),
 * workDir (the encoder's working directories), vars (extra Worker vars), encoderEnv
 * (extra encoder environment), log (a writable fd or "inherit"), supervise (restart
 * an encoder that exits, as `npm start` does; off, a dead encoder stays dead until
 * `startEncoder()`), cronTickMs (how often the every-minute cron fires; 60000),
 * organizations (more organizations with a key each, seeded beside the dev one before
 * wrangler starts: tests of tenancy).
 */
export async function startStack(options = {}) {
  const port = options.port ?? 8787;
  const encoderPorts = options.encoderPorts ?? [options.encoderPort ?? port + 1];
  const devKey = options.devKey ?? "sk_dev_local";
  const workDir = options.workDir ?? path.join(os.tmpdir(), "kiln-work");
  const log = options.log ?? "inherit";
  const url = `http://127.0.0.1:${port}`;
  const encoderUrls = encoderPorts.map((p) => `http://127.0.0.1:${p}`);
  const encoderUrl = encoderUrls[0];
  // Each process reaps its own strays, so one restarting leaves the others' ffmpeg alone.
  const workDirs = encoderPorts.map((_, i) => (i === 0 ? workDir : `${workDir}-${i + 1}`));

  migrateLocal(options.stateDir);
  for (const org of [{ orgId: DEV_ORG, name: "Local development", keyId: "key_dev", keyName: "dev (npm start)", key: devKey }, ...(options.organizations ?? [])]) {
    seedOrganization(org, options.stateDir);
  }

  const vars = {
    KILN_ENV: "development",
    PUBLIC_URL: url,
    ENCODER_URL: encoderUrls.join(","),
    ENCODER_TOKEN: DEV_ENCODER_TOKEN,
    STORAGE_SIGNING_SECRET: DEV_STORAGE_SIGNING_SECRET,
    ORIGIN_CREDENTIALS_KEY: DEV_ORIGIN_CREDENTIALS_KEY,
    ...options.vars,
  };
  const logLine = (line) => {
    if (log === "inherit") console.log(line);
    else if (typeof log === "number") writeSync(log, `${line}\n`);
  };
  let worker = null;
  const spawnWorker = () =>
    spawn(
      path.join(root, "node_modules", ".bin", "wrangler"),
      [
        "dev",
        "--port", String(port),
        "--ip", "127.0.0.1",
        "--show-interactive-dev-session=false",
        // The encoder runs as the process below (ENCODER_URL), not as the [[containers]]
        // image, so wrangler must not look for Docker to build it.
        "--enable-containers=false",
        // The crons' route (see tickCrons): /cdn-cgi/handler/scheduled fails before the Worker once it has [assets].
        "--test-scheduled",
        ...persistArgs(options.stateDir),
        ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
      ],
      { cwd: root, stdio: ["ignore", log, log], detached: true },
    );
  worker = spawnWorker();

  const spawnEncoder = (i = 0) =>
    spawn(path.join(root, "node_modules", ".bin", "tsx"), ["encoder/server.ts"], {
      cwd: root,
      stdio: ["ignore", log, log],
      detached: true,
      env: {
        ...process.env,
        PORT: String(encoderPorts[i]),
        HOST: "127.0.0.1",
        ENCODER_TOKEN: DEV_ENCODER_TOKEN,
        KILN_WORK_DIR: workDirs[i],
        // Inputs served from this machine are fine in local development; production never sets this.
        KILN_ALLOW_PRIVATE_NETWORKS: "1",
        ...options.encoderEnv,
      },
    });

  const running = (child) => child && child.exitCode === null && child.signalCode === null;
  const killGroup = (child, signal) => {
    try {
      if (running(child)) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  // ffmpeg runs in a process group of its own; it dies with the "container" too.
  const reapStrays = async (dir = workDir) => {
    for (let i = 0; i < 50; i++) {
      // Inside the root, not beside it: workDir is a prefix of the others' roots.
      const left = processesUnder(`${dir}${path.sep}`);
      if (left.length === 0) return;
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  let encoder = null;
  const supervisor = options.supervise ? supervise({ name: "encoder", spawn: () => spawnEncoder(0), beforeRestart: () => reapStrays(workDir), log: logLine }) : null;
  const currentEncoder = () => (supervisor ? supervisor.child : encoder);
  const startEncoder = () => {
    if (supervisor) throw new Error("the supervisor starts the encoder");
    encoder = spawnEncoder(0);
    return waitForHealth(`${encoderUrl}/health`);
  };
  // The pool's other processes: supervised as the first is, or left to the stack's stop.
  const others = encoderPorts.slice(1).map((_, j) => {
    const i = j + 1;
    if (options.supervise) return supervise({ name: `encoder ${i + 1}`, spawn: () => spawnEncoder(i), beforeRestart: () => reapStrays(workDirs[i]), log: logLine });
    return { child: spawnEncoder(i), stop() {} };
  });

  await Promise.all([
    supervisor ? waitForHealth(`${encoderUrl}/health`) : startEncoder(),
    ...encoderUrls.slice(1).map((u) => waitForHealth(`${u}/health`)),
    waitForHealth(`${url}/health`),
  ]);
  const crons = tickCrons(url, options.cronTickMs ?? 60_000);

  return {
    url,
    encoderUrl,
    encoderUrls,
    devKey,
    devOrg: DEV_ORG,
    get worker() {
      return worker;
    },
    get encoder() {
      return currentEncoder();
    },
    /** Every encoder process of the pool, the first first. */
    get encoders() {
      return [currentEncoder(), ...others.map((o) => o.child)];
    },
    startEncoder,
    /** Restarts the supervisor has made so far (0 without one). */
    get encoderRestarts() {
      return supervisor?.restarts ?? 0;
    },
    /** The encoder dies as a container would: the process and every ffmpeg it started. */
    async killEncoder() {
      const dying = currentEncoder();
      const exited = new Promise((resolve) => (running(dying) ? dying.once("exit", () => resolve()) : resolve()));
      killGroup(dying, "SIGKILL");
      await reapStrays();
      await exited;
    },
    get encoderRunning() {
      return running(currentEncoder());
    },
    /** wrangler dev killed and started again on the same port and state directory. */
    async restartWorker() {
      const dying = worker;
      const exited = new Promise((resolve) => (running(dying) ? dying.once("exit", () => resolve()) : resolve()));
      killGroup(dying, "SIGKILL");
      await exited;
      worker = spawnWorker();
      await waitForHealth(`${url}/health`);
    },
    async stop() {
      crons.stop();
      supervisor?.stop();
      for (const other of others) other.stop();
      const live = [worker, currentEncoder(), ...others.map((o) => o.child)];
      const exited = live.filter(running).map((c) => new Promise((r) => c.once("exit", r)));
      for (const child of live) killGroup(child, "SIGTERM");
      const timer = setTimeout(() => {
        for (const child of live) killGroup(child, "SIGKILL");
      }, 5_000);
      await Promise.all(exited);
      clearTimeout(timer);
    },
  };
}

/**
 * wrangler dev runs no cron by itself, so the stack fires wrangler.toml's crons through
 * `--test-scheduled`'s /__scheduled route: the webhook sweep's every `minuteMs` (a minute, as
 * deployed; tests shorten it), retention's hourly. A tick the Worker misses (restarting)
 * is skipped, as a cron that found the Worker down would be.
 */
function tickCrons(url, minuteMs) {
  const fire = (cron) => fetch(`${url}/__scheduled?cron=${encodeURIComponent(cron)}`).then((r) => r.body?.cancel()).catch(() => {});
  const timers = [setInterval(() => fire("* * * * *"), minuteMs), setInterval(() => fire("17 * * * *"), 3_600_000)];
  for (const timer of timers) timer.unref();
  return { stop: () => timers.forEach(clearInterval) };
}

/** Processes whose working directory lies under `dir`: the encoder runs ffmpeg in job dirs there. */
export function processesUnder(dir) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) pids.push(Number(entry));
    } catch {
      // exited, or not ours to read
    }
  }
  return pids;
}

/**
 * An organization with one all-powerful API key in the local database, created (or its key
 * updated). The dev org and key exist only here.
 */
function seedOrganization({ orgId, name, keyId, keyName, key }, stateDir) {
  const hash = createHash("sha256").update(key).digest("hex");
  const now = new Date().toISOString();
  const quote = (text) => `'${text.replaceAll("'", "''")}'`;
  const statements = JSON.stringify([{ effect: "allow", actions: ["*"], resources: ["*"] }]);
  const sql = `
INSERT INTO organizations (id, name, created_at) VALUES (${quote(orgId)}, ${quote(name)}, ${quote(now)}) ON CONFLICT(id) DO NOTHING;
INSERT INTO api_keys (id, name, secret_hash, secret_prefix, statements, created_at) VALUES (${quote(keyId)}, ${quote(keyName)}, ${quote(hash)}, ${quote(key.slice(0, 11))}, ${quote(statements)}, ${quote(now)})
  ON CONFLICT(id) DO UPDATE SET secret_hash = excluded.secret_hash, secret_prefix = excluded.secret_prefix, revoked_at = NULL;
INSERT INTO api_key_organizations (key_id, org_id) VALUES (${quote(keyId)}, ${quote(orgId)}) ON CONFLICT DO NOTHING;
`;
  const dir = path.join(root, ".wrangler", "tmp");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `seed-${orgId}-${process.pid}.sql`);
  writeFileSync(file, sql);
  wrangler(["d1", "execute", "DB", "--local", ...persistArgs(stateDir), `--file=${file}`], { stdio: ["ignore", "ignore", "inherit"] });
}

export async function waitForHealth(url, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`nothing healthy at ${url} after ${timeoutMs} ms`);
}
