import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, openSync, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForHealth } from "../../scripts/stack.mjs";
import { supervise } from "../../scripts/supervise.mjs";
import { clipPath } from "../encoder/clips";
import { freePort, serveFiles, until } from "./harness";

/*
 * `npm start` itself (scripts/start.mjs, as a person runs it) with its encoder killed
 * the way the OOM killer kills: SIGKILL to the encoder's node process alone. The API
 * keeps answering, the supervisor starts the encoder again, and the job it was running
 * completes on a later attempt once its lease (the production default, 30 s) expires.
 */
const root = path.resolve(import.meta.dirname, "../..");
const devKey = "sk_dev_supervision";
let start: ChildProcess;
let scratch: string;
let url: string;
let encoderUrl: string;
let media: Awaited<ReturnType<typeof serveFiles>>;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-e2e-start-"));
  chmodSync(scratch, 0o711);
  const port = await freePort();
  let encoderPort = await freePort();
  while (encoderPort === port) encoderPort = await freePort();
  url = `http://127.0.0.1:${port}`;
  encoderUrl = `http://127.0.0.1:${encoderPort}`;
  const log = openSync(path.join(scratch, "start.log"), "a");
  start = spawn(process.execPath, ["scripts/start.mjs"], {
    cwd: root,
    stdio: ["ignore", log, log],
    detached: true,
    env: { ...process.env, PORT: String(port), ENCODER_PORT: String(encoderPort), KILN_DEV_API_KEY: devKey, KILN_STATE_DIR: path.join(scratch, "state"), KILN_WORK_DIR: path.join(scratch, "work") },
  });
  media = await serveFiles({ "clip.mp4": clipPath("landscape") });
  await waitForHealth(`${url}/health`, 170_000);
  await waitForHealth(`${encoderUrl}/health`, 60_000);
  console.log(`npm start under test at ${url}, logs in ${path.join(scratch, "start.log")}`);
});
afterAll(async () => {
  await media?.close();
  if (start && start.exitCode === null && start.signalCode === null) {
    const exited = new Promise((r) => start.once("exit", r));
    process.kill(start.pid!, "SIGTERM");
    await exited;
  }
});

const api = async (p: string, body?: unknown) => {
  const res = await fetch(`${url}${p}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${devKey}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
};

/** Processes descended from `pid`, with their command lines. */
function descendants(pid: number): { pid: number; cmd: string }[] {
  const parents = new Map<number, number>();
  const cmds = new Map<number, string>();
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      cmds.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " "));
    } catch {
      // exited
    }
  }
  const found: { pid: number; cmd: string }[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent !== p) continue;
      found.push({ pid: child, cmd: cmds.get(child)! });
      walk(child);
    }
  };
  walk(pid);
  return found;
}

describe("npm start supervises its encoder", () => {
  it("an encoder SIGKILLed mid-job: the API keeps answering, the encoder comes back, the job completes on attempt 2", async () => {
    const created = await api("/v1/jobs", { input: media.url("clip.mp4"), kind: "video", options: { format: "mp4", codec: "h265", quality: "very_high" } });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const id = created.json.id;
    await until("encoding", async () => (await api(`/v1/jobs/${id}`)).json, (j) => j.status === "processing" && j.tasks.some((t: any) => t.kind === "video" && t.progress > 0), 120_000);

    // The encoder's node process, not the tsx wrapper in front of it: what the OOM killer picks.
    const [encoder] = descendants(start.pid!).filter((p) => p.cmd.includes("encoder/server.ts") && p.cmd.includes("tsx/dist/loader"));
    expect(encoder, "the encoder process").toBeDefined();
    process.kill(encoder!.pid, "SIGKILL");

    // Answered throughout the outage, until the encoder is healthy again.
    let answered = 0;
    await until(
      "the encoder back",
      async () => {
        expect((await fetch(`${url}/health`)).status).toBe(200);
        expect((await api(`/v1/jobs/${id}`)).status).toBe(200);
        answered += 1;
        return (await fetch(`${encoderUrl}/health`).catch(() => null))?.ok ?? false;
      },
      (ok) => ok,
      60_000,
    );
    expect(start.exitCode).toBeNull();
    expect(descendants(start.pid!).some((p) => p.pid === encoder!.pid)).toBe(false);

    const done = await until("completion", async () => (await api(`/v1/jobs/${id}`)).json, (j) => ["completed", "failed"].includes(j.status), 150_000);
    expect(done, JSON.stringify(done.error)).toMatchObject({ status: "completed", attempt: 2 });
    const log = readFileSync(path.join(scratch, "start.log"), "utf8");
    expect(log).toMatch(/\[supervise\] encoder exited \((signal SIGKILL|code 137)\) after [\d.]+ s; restarting in 500 ms/);
    expect(log).toContain("[supervise] encoder restart #1");
    console.log(`figures: supervision 1 encoder SIGKILL under npm start, API answered ${answered} polls during the outage, job completed on attempt ${done.attempt}`);
  });
});

describe("the supervisor's backoff", () => {
  it("doubles the wait after each quick exit up to the cap, starts over after a healthy run, and stops restarting when stopped", async () => {
    const lines: string[] = [];
    // Four quick crashes (the wait doubles to its cap), a run past resetAfterMs, then a crash: the wait starts over.
    let runs = 0;
    const plan = ["process.exit(3)", "process.kill(process.pid, 'SIGKILL')", "process.exit(3)", "process.exit(3)", "setTimeout(() => process.exit(4), 3500)", "process.exit(5)", "setInterval(() => {}, 1000)"];
    const supervisor = supervise({
      name: "child",
      spawn: () => spawn(process.execPath, ["-e", plan[Math.min(runs++, plan.length - 1)]!]),
      log: (line: string) => lines.push(line),
      minDelayMs: 20,
      maxDelayMs: 80,
      resetAfterMs: 3000,
    });
    await until("six restarts", async () => supervisor.restarts, (n) => n >= 6, 30_000);
    supervisor.stop();
    const child = supervisor.child;
    child.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    expect(supervisor.restarts).toBe(6);
    const exits = lines.filter((l) => l.includes("exited")).map((l) => l.replace(/after [\d.]+ s/, "after _ s"));
    expect(exits).toEqual([
      "[supervise] child exited (code 3) after _ s; restarting in 20 ms",
      "[supervise] child exited (signal SIGKILL) after _ s; restarting in 40 ms",
      "[supervise] child exited (code 3) after _ s; restarting in 80 ms",
      "[supervise] child exited (code 3) after _ s; restarting in 80 ms",
      "[supervise] child exited (code 4) after _ s; restarting in 20 ms",
      "[supervise] child exited (code 5) after _ s; restarting in 40 ms",
    ]);
    expect(lines.filter((l) => l.includes("restart #")).at(-1)).toBe("[supervise] child restart #6");
  });
});
