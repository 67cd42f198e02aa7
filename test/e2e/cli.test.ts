import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import { S3_TEST_CREDENTIALS } from "../worker/s3-bucket";
import { type S3Server, startS3Server } from "../worker/s3-server";
import { type E2EStack, bootStack, ffprobeJson, until } from "./harness";

/*
 * The `kiln` CLI (cli/, bin/kiln.mjs) against the whole local stack, run in a real pty
 * (tmux, with a server of its own): what a person at a terminal sees (progress bars, exit
 * codes, the error code of a failed job) and does (Ctrl-C during an upload, then the same
 * command again, which resumes from the server's offset).
 */
let stack: E2EStack;
let s3: S3Server;
const BUCKET = "kiln-cli";
const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin/kiln.mjs");
const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-cli-"));
// A tmux server of the tests' own, its socket in the scratch directory.
const tmuxSocket = path.join(scratch, "tmux.sock");
const BAR = /\|█+░*\| +\d+%/;

beforeAll(async () => {
  [stack, s3] = await Promise.all([bootStack(), startS3Server([BUCKET])]);
});
afterAll(async () => {
  // Each session ends with its test; this ends one a failed test left behind.
  spawnSync("tmux", ["-S", tmuxSocket, "kill-server"], { stdio: "ignore" });
  await s3?.close();
  await stack?.stop();
});

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-u", "-S", tmuxSocket, ...args], { encoding: "utf8", env: { ...process.env, LANG: "C.UTF-8" } });
}

const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
let sessions = 0;

/** A terminal running `kiln args…` from `cwd`, which prints its exit status when it ends. */
function terminal(args: string[], cwd = scratch) {
  const name = `cli${++sessions}`;
  const env = { KILN_URL: stack.url, KILN_API_KEY: stack.devKey, KILN_CLI_STATE_DIR: path.join(scratch, "state"), LANG: "C.UTF-8" };
  const script = path.join(scratch, `${name}.sh`);
  const exports = Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`);
  writeFileSync(script, [...exports, `cd ${quote(cwd)}`, `node ${quote(bin)} ${args.map(quote).join(" ")}`, "echo KILN_EXIT=$?", "sleep 600", ""].join("\n"));
  tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", `bash ${quote(script)}`);
  const screen = () => tmux("capture-pane", "-p", "-J", "-S", "-", "-t", name);
  return {
    screen,
    waitFor: (what: string, ok: (text: string) => boolean, timeoutMs = 90_000) => until(what, async () => screen(), ok, timeoutMs),
    exit: async (timeoutMs = 90_000) => {
      const text = await until(`kiln ${args[0]} to exit`, async () => screen(), (t) => /KILN_EXIT=\d+/.test(t), timeoutMs);
      tmux("kill-session", "-t", name);
      return { code: Number(/KILN_EXIT=(\d+)/.exec(text)![1]), text };
    },
    interrupt: () => tmux("send-keys", "-t", name, "C-c"),
  };
}

describe("the kiln CLI", () => {
  it("converts a local .mov with a progress bar, downloads out.mp4 at the width asked for, and exits 0", async () => {
    const started = Date.now();
    const run = terminal(["video", "-i", clipPath("smallMov"), "--width", "640", "-o", "out.mp4"]);
    const { code, text } = await run.exit();
    console.log(`kiln video: ${Date.now() - started} ms\n${text.trimEnd()}`);
    expect(code, text).toBe(0);
    expect(text).toMatch(new RegExp(`upload +${BAR.source}`));
    // A bar per stage, each at 100 % when the job is done.
    for (const stage of ["probe", "import", "video", "export"]) expect(text).toMatch(new RegExp(`${stage} +\\|█+\\| 100%`));
    expect(text).toMatch(/job job_\w+ completed/);

    const probed = ffprobeJson(path.join(scratch, "out.mp4"));
    const video = probed.streams.find((s: any) => s.codec_type === "video");
    expect(video).toMatchObject({ codec_name: "h264", width: 640, height: 360 });
    expect(Number(probed.format.duration)).toBeCloseTo(2, 0);
  });

  it("exits 1 and prints the job's error code when the input is not media; --json prints JSON lines and no bars", async () => {
    const notMedia = path.join(scratch, "notes.mov");
    writeFileSync(notMedia, "this is not a video\n".repeat(100));
    const { code, text } = await terminal(["video", "-i", notMedia, "-o", "never.mp4", "--json"]).exit();
    expect(code, text).toBe(1);
    const lines = text.split("\n").filter((line) => line.trim() !== "");
    const records = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    const id = records.find((r) => r.event === "created").job_id as string;
    const { json: job } = await stack.api(`/v1/jobs/${id}`);
    expect(job.status).toBe("failed");
    // Stdout is JSON lines; stderr has the one line a person reads; there are no bars.
    expect(lines.filter((line) => !line.startsWith("{"))).toEqual([`kiln: ${job.error.code}: job ${id} failed: ${job.error.message}`, "KILN_EXIT=1"]);
    expect(records.map((r) => r.event)).toEqual(expect.arrayContaining(["upload_progress", "uploaded", "created", "snapshot", "completed"]));
    expect(records.at(-1)).toMatchObject({ event: "error", code: job.error.code, job_id: id, status: "failed" });
    expect(text).not.toMatch(/[█░]/);
    console.log(`failed input: ${job.error.code}, ${records.length} JSON lines`);
    expect(() => statSync(path.join(scratch, "never.mp4"))).toThrow();
  });

  it("is stopped by Ctrl-C during the upload, and the same command again resumes from the server's offset", async () => {
    const file = clipPath("mediumMov");
    const size = statSync(file).size;
    // Small chunks make the upload long enough to interrupt on loopback.
    const args = ["video", "-i", file, "--height", "180", "--chunk-size", String(16 * 1024), "-o", "resumed.mp4"];
    const first = terminal(args);
    await first.waitFor("the upload to be under way", (text) => /upload +\|█+░+\| +([1-9]|[1-8]\d)%/.test(text), 60_000);
    first.interrupt();
    const stopped = await first.exit();
    expect(stopped.code, stopped.text).toBe(130);
    const interruptedAt = Number(/upload interrupted at (\d+) of (\d+) bytes/.exec(stopped.text)![1]);
    expect(interruptedAt).toBeGreaterThan(0);
    expect(interruptedAt).toBeLessThan(size);
    expect(stopped.text).not.toMatch(/job job_/);

    // The server holds part of the file, at the URL the CLI remembered.
    const remembered = Object.values(JSON.parse(readFileSync(path.join(scratch, "state", "tus-uploads.json"), "utf8"))) as { uploadUrl: string }[];
    expect(remembered).toHaveLength(1);
    const head = await until(
      "the interrupted PATCH to settle",
      () => fetch(remembered[0]!.uploadUrl, { method: "HEAD", headers: { authorization: `Bearer ${stack.devKey}`, "tus-resumable": "1.0.0" } }),
      (res) => res.status === 200,
    );
    const offset = Number(head.headers.get("upload-offset"));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(size);

    const again = await terminal(args).exit();
    expect(again.code, again.text).toBe(0);
    const resumedFrom = Number(/resuming upload of .+ from byte (\d+) of (\d+)/.exec(again.text)![1]);
    expect(resumedFrom).toBe(offset);
    console.log(`resume: Ctrl-C at ${interruptedAt} bytes, server offset ${offset}, resumed from ${resumedFrom} of ${size}`);
    const uploadId = remembered[0]!.uploadUrl.split("/").pop()!;
    expect((await stack.api(`/v1/uploads/${uploadId}`)).json).toMatchObject({ status: "ready", size_bytes: size });
    // A finished upload is forgotten.
    expect(JSON.parse(readFileSync(path.join(scratch, "state", "tus-uploads.json"), "utf8"))).toEqual({});
    const video = ffprobeJson(path.join(scratch, "resumed.mp4")).streams.find((s: any) => s.codec_type === "video");
    expect(video).toMatchObject({ width: 320, height: 180 });
  });

  it("makes an adaptive job from an upload id and downloads the whole HLS package; writes to -o s3://; jobs, watch, keys and origins answer JSON lines", async () => {
    const env = { ...process.env, KILN_URL: stack.url, KILN_API_KEY: stack.devKey, KILN_CLI_STATE_DIR: path.join(scratch, "state") };
    const kiln = (...args: string[]) => promisify(execFile)("node", [bin, ...args], { cwd: scratch, env });
    const lines = (stdout: string) => stdout.trim().split("\n").map((line) => JSON.parse(line));

    const uploaded = lines((await kiln("upload", clipPath("small"), "--json")).stdout);
    const upload = uploaded.at(-1);
    expect(upload).toMatchObject({ status: "ready", id: expect.stringMatching(/^vid_/) });

    const converted = lines((await kiln("adaptive", "-i", upload.id, "--height", "144", "-o", "hls", "--json")).stdout);
    const done = converted.at(-1);
    expect(done).toMatchObject({ event: "done", status: "completed" });
    const saved = converted.find((r) => r.event === "downloaded");
    expect(saved.path).toBe(path.join(scratch, "hls", "master.m3u8"));
    expect(saved.files).toBeGreaterThan(2);
    const probed = ffprobeJson(saved.path);
    expect(probed.streams.find((s: any) => s.codec_type === "video")).toMatchObject({ height: 144 });
    expect(Number(probed.format.duration)).toBeCloseTo(2, 0);

    // Newest first, as many as --limit (the other tests made more).
    expect(lines((await kiln("jobs", "--json", "--limit", "1")).stdout)).toEqual([expect.objectContaining({ id: done.job_id, status: "completed" })]);
    expect(lines((await kiln("jobs", done.job_id, "--json")).stdout)).toEqual([expect.objectContaining({ id: done.job_id, kind: "adaptive_video", status: "completed" })]);
    // Watching a job that has ended answers at once with how it ended.
    expect(lines((await kiln("watch", done.job_id, "--json")).stdout).at(-1)).toMatchObject({ event: "done", job_id: done.job_id });
    const created = await promisify(execFile)("bash", ["-c", `echo '${JSON.stringify({ input: upload.id, kind: "image", options: { format: "png", width: 64 } })}' | node ${quote(bin)} jobs create --body - --json`], { env });
    expect(lines(created.stdout)).toEqual([expect.objectContaining({ kind: "image", status: "pending" })]);
    expect(lines((await kiln("keys", "--json")).stdout).map((k) => k.secret_prefix)).toContainEqual(expect.stringMatching(/^sk_dev/));
    expect((await kiln("origins", "--json")).stdout).toBe("");

    // -o s3://… is the job's output location, written through the org's origin for that bucket; nothing is downloaded.
    const origin = await stack.api("/v1/origins", { body: { name: "cli", provider: "s3", bucket: BUCKET, endpoint: s3.url, credentials: S3_TEST_CREDENTIALS, permissions: ["read", "write"] } });
    expect(origin.status, JSON.stringify(origin.json)).toBe(201);
    expect(lines((await kiln("origins", "--json")).stdout)).toEqual([expect.objectContaining({ id: origin.json.id, bucket: BUCKET })]);
    const toBucket = lines((await kiln("image", "-i", upload.id, "--width", "64", "-o", `s3://${BUCKET}/cli/{job_id}/`, "--json")).stdout);
    const stored = toBucket.at(-1);
    expect(stored).toMatchObject({ event: "done", status: "completed" });
    expect(toBucket.some((r) => r.event === "downloaded")).toBe(false);
    const { json: imageJob } = await stack.api(`/v1/jobs/${stored.job_id}`);
    expect(imageJob.outputs[0].location).toMatch(new RegExp(`^s3://${BUCKET}/cli/${stored.job_id}/.+\\.jpe?g$`));
  });

  it("exits 2 on usage errors, through npx from the repo", async () => {
    const run = promisify(execFile);
    const usage = async (args: string[]) => {
      const error = await run("npx", ["kiln", ...args], { cwd: root }).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(error, `kiln ${args.join(" ")}`).not.toBeNull();
      return error!;
    };
    // At once: each run starts node and tsx.
    const [unknown, noInput, badFlag, noFile] = await Promise.all([
      usage(["transmogrify"]),
      usage(["video", "--width", "640"]),
      usage(["video", "-i", "x.mov", "--colour", "red"]),
      usage(["video", "-i", path.join(scratch, "missing.mov")]),
    ]);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command: transmogrify") });
    expect(noInput).toMatchObject({ code: 2, stderr: expect.stringContaining("needs an input") });
    expect(badFlag).toMatchObject({ code: 2, stderr: expect.stringContaining("--colour") });
    expect(noFile).toMatchObject({ code: 2, stderr: expect.stringContaining("no such file") });
    const help = await run("npx", ["kiln", "--help"], { cwd: root });
    expect(help.stdout).toContain("kiln video|audio|image|animation|adaptive");
  });
});
