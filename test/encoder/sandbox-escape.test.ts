import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncoderEvent, FailureCode, ToolsOrderInput } from "../../encoder/contract";
import { ENCODER_TOKEN, startEncoder, startMediaServer, startSink } from "./harness";

/**
 * Escape attempts through the real encoder, each run twice: as a user's job (the
 * allowlist on: refused, or the task fails) and with the allowlist and the protocol
 * whitelist switched off (a test-only option), so that the sandbox alone must contain
 * it. After every run the side effects are checked, not just the status: secrets
 * outside the job (a host file, another job's input, the encoder's environment) appear
 * in no event, log line or uploaded byte; nothing outside the job was written; a
 * loopback TCP and UDP listener saw nothing.
 */

const tag = randomBytes(6).toString("hex");
const SECRET_FILE = `kiln-host-secret-${tag}`;
const SECRET_OTHER = `kiln-other-job-secret-${tag}`;
const SECRET_ENV = `kiln-env-secret-${tag}`;
// The encoder's environment, as in production: its token and another secret.
process.env.ENCODER_TOKEN = ENCODER_TOKEN;
process.env.KILN_ESCAPE_SECRET = SECRET_ENV;
const SECRETS = [SECRET_FILE, SECRET_OTHER, SECRET_ENV, ENCODER_TOKEN];

const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-escape-work-"));
process.env.KILN_WORK_DIR = workDir;
/** Outside every job: the host's secret file, and nothing else may appear here. */
const outside = mkdtempSync(path.join(os.tmpdir(), "kiln-escape-outside-"));
const SECRET_PATH = path.join(outside, "secret.txt");
/** Another job's working directory in the same work root, with its input. */
const OTHER_JOB = "job_other-1-1-1";
const OTHER = path.join(workDir, OTHER_JOB, "input.mp4");
/** A segment of another job's HLS output: the hls demuxer opens a .ts by any path a playlist gives. */
const OTHER_SEGMENT = path.join(workDir, OTHER_JOB, "segment.ts");
/** Any host /tmp entry with this prefix is an escape: attempts aim their writes there. */
const ESCAPED = "kiln-escaped-";
const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-escape-media-"));

let media: Awaited<ReturnType<typeof startMediaServer>>;
let sink: Awaited<ReturnType<typeof startSink>>;
let asUser: Awaited<ReturnType<typeof startEncoder>>;
let sandboxOnly: Awaited<ReturnType<typeof startEncoder>>;
let tcp: { port: number; connections: number; close: () => void };
let udp: { messages: number; close: () => void };
let otherSha = "";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const ffmpeg = (...args: string[]) => execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);

beforeAll(async () => {
  writeFileSync(SECRET_PATH, `${SECRET_FILE}\n`);
  mkdirSync(path.dirname(OTHER));
  ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-metadata", `title=${SECRET_OTHER}`, OTHER);
  ffmpeg("-i", OTHER, "-c", "copy", "-f", "mpegts", OTHER_SEGMENT);
  otherSha = sha256(Buffer.concat([readFileSync(OTHER), readFileSync(OTHER_SEGMENT)]));
  const source = path.join(scratch, "source.mov");
  ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", source);
  const payload = path.join(scratch, "payload.txt");
  writeFileSync(payload, "an attachment\n");
  const attached = path.join(scratch, "attached.mkv");
  ffmpeg("-i", source, "-attach", payload, "-metadata:s:t", "mimetype=text/plain", "-c", "copy", attached);

  const server = createServer((socket) => {
    tcp.connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  tcp = { port: (server.address() as AddressInfo).port, connections: 0, close: () => server.close() };
  const socket = createSocket("udp4");
  socket.on("message", () => udp.messages++);
  await new Promise<void>((resolve) => socket.bind(tcp.port, "127.0.0.1", resolve));
  udp = { messages: 0, close: () => socket.close() };

  // Files an attempt fetches: each hides a path outside the job in its content.
  const crafted: Record<string, string> = {
    "graph.txt": `amovie=${SECRET_PATH}:f=u8`,
    "list.txt": `file '${OTHER}'\n`,
    "list.ffconcat": `ffconcat version 1.0\nfile '${OTHER}'\n`,
    "key.info": `https://keys.example/key\n${SECRET_PATH}\n`,
    "evil.m3u8": `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1,\n${OTHER_SEGMENT}\n#EXT-X-ENDLIST\n`,
    "canary.txt": "kiln-canary-inside-the-job\n",
  };
  const served: Record<string, string> = { "source.mov": source, "attached.mkv": attached };
  for (const [name, content] of Object.entries(crafted)) {
    writeFileSync(path.join(scratch, name), content);
    served[name] = path.join(scratch, name);
  }
  media = await startMediaServer(served);
  sink = await startSink();
  asUser = await startEncoder({ concurrency: 1, warmProbes: 0 });
  sandboxOnly = await startEncoder({ concurrency: 1, warmProbes: 0, checkToolArguments: false });
});
afterAll(async () => {
  await asUser.close();
  await sandboxOnly.close();
  await sink.close();
  await media.close();
  tcp.close();
  udp.close();
});

type Outcome = FailureCode | "completed";

interface Attempt {
  name: string;
  args: (port: number) => string[];
  /** Fetched into the job dir besides source.mov. */
  fetch?: string[];
  /** What the run would make, stored by a put step if it gets that far. */
  outputs?: string[];
  limits?: ToolsOrderInput["tool_limits"];
  /** As a user's job, the allowlist on. */
  user: Outcome;
  /** With the sandbox alone: "completed" only where the run touches nothing outside the job. */
  sandbox: Outcome;
  /** What a failure other than tool_refused says: what stopped it (the sandbox, a limit, ffmpeg's own check). */
  because?: RegExp;
}

const SECRET_ESC = () => SECRET_PATH.replace(/\//g, "\\/");
/** ffmpeg's two levels of escaping (graph, then filter option) around a URL's colons. */
const graphUrl = (url: string) => url.replace(/:/g, "\\\\\\:");

const attempts: Attempt[] = [
  // reading other jobs' inputs and the host's files
  { name: "movie=\\/abs reads another job's input", args: () => ["-filter_complex", `movie=\\${OTHER}:f=u8:s=da`, "-c:a", "pcm_u8", "-f", "u8", "leak.raw"], outputs: ["leak.raw"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "movie= /abs (a leading space) reads the host's secret file", args: () => ["-filter_complex", `movie= ${SECRET_PATH}:f=u8:s=da`, "-c:a", "pcm_u8", "-f", "u8", "leak.raw"], outputs: ["leak.raw"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "amovie with every slash escaped reads the host's secret file", args: () => ["-filter_complex", `amovie=${SECRET_ESC()}:f=u8`, "-c:a", "pcm_u8", "-f", "u8", "leak.raw"], outputs: ["leak.raw"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "drawtext=textfile= reads the host's secret file", args: () => ["-i", "source.mov", "-vf", `drawtext=textfile=${SECRET_PATH}`, "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "drawtext=textfile= reads /proc/self/environ (runs: the sandbox's environment is empty)", args: () => ["-i", "source.mov", "-vf", "drawtext=textfile=/proc/self/environ", "-t", "0.2", "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "completed" },
  { name: "sendcmd=f= reads the host's secret file", args: () => ["-i", "source.mov", "-vf", `sendcmd=f=${SECRET_PATH},scale=80:46`, "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "-i /proc/self/environ copied as raw bytes (runs: only PATH is there)", args: () => ["-f", "u8", "-i", "/proc/self/environ", "-c:a", "pcm_u8", "-f", "u8", "leak.raw"], outputs: ["leak.raw"], user: "tool_refused", sandbox: "completed" },
  { name: "-i /proc/1/environ, bwrap's environment, copied as raw bytes (runs: it was started with none)", args: () => ["-f", "u8", "-i", "/proc/1/environ", "-c:a", "pcm_u8", "-f", "u8", "leak.raw"], outputs: ["leak.raw"], user: "tool_refused", sandbox: "completed" },
  { name: "-i of another job's input by its absolute path, metadata copied", args: () => ["-i", OTHER, "-c", "copy", "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "-i ../ of another job's input (a sibling of the job dir on the host)", args: () => ["-i", `../${OTHER_JOB}/input.mp4`, "-c", "copy", "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "-i file:/abs of the host's secret file", args: () => ["-f", "u8", "-i", `file:${SECRET_PATH}`, "-c:a", "pcm_u8", "-f", "u8", "leak.raw"], outputs: ["leak.raw"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "-i /etc/passwd", args: () => ["-f", "u8", "-i", "/etc/passwd", "-c:a", "pcm_u8", "-f", "u8", "leak.raw"], outputs: ["leak.raw"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "-i concat: protocol joining another job's input", args: () => ["-i", `concat:source.mov|${OTHER}`, "-c", "copy", "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "subtitles= with an absolute path", args: () => ["-i", "source.mov", "-vf", `subtitles=${SECRET_PATH}`, "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "lut3d=file= with an absolute path", args: () => ["-i", "source.mov", "-vf", `lut3d=file=${SECRET_PATH}`, "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "-attach of the host's secret file into an mkv", args: () => ["-i", "source.mov", "-attach", SECRET_PATH, "-metadata:s:t", "mimetype=text/plain", "-c", "copy", "leak.mkv"], outputs: ["leak.mkv"], user: "tool_refused", sandbox: "encode_failed", because: /Could not open attachment file/ },
  // paths hidden inside files the allowlist cannot read
  { name: "-filter_complex_script whose graph names an absolute path", fetch: ["graph.txt"], args: () => ["-filter_complex_script", "graph.txt", "-c:a", "pcm_u8", "-f", "u8", "leak.raw"], outputs: ["leak.raw"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "-f concat -safe 0 with a list naming another job's input", fetch: ["list.txt"], args: () => ["-f", "concat", "-safe", "0", "-i", "list.txt", "-c", "copy", "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "an ffconcat list, detected from its content, naming another job's input (the allowlist passes it)", fetch: ["list.ffconcat"], args: () => ["-i", "list.ffconcat", "-c", "copy", "leak.mp4"], outputs: ["leak.mp4"], user: "encode_failed", sandbox: "encode_failed", because: /Unsafe file name/ },
  { name: "-hls_key_info_file naming the host's secret file as the key", fetch: ["key.info"], args: () => ["-i", "source.mov", "-c", "copy", "-f", "hls", "-hls_key_info_file", "key.info", "leak.m3u8"], outputs: ["leak.m3u8"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "an HLS playlist fetched as input, naming another job's segment (the allowlist passes it)", fetch: ["evil.m3u8"], args: () => ["-i", "evil.m3u8", "-c", "copy", "leak.mp4"], outputs: ["leak.mp4"], user: "encode_failed", sandbox: "encode_failed", because: /Opening .*segment\.ts[\s\S]*Failed to open segment/ },
  // the network
  { name: "movie=http\\\\\\: with escaped colons reaches a loopback server", args: (port) => ["-filter_complex", `movie=${graphUrl(`http://127.0.0.1:${port}/x`)}`, "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /Connection refused/ },
  { name: "-attach http: fetches from a loopback server", args: (port) => ["-i", "source.mov", "-attach", `http://127.0.0.1:${port}/x`, "-metadata:s:t", "mimetype=text/plain", "-c", "copy", "leak.mkv"], outputs: ["leak.mkv"], user: "tool_refused", sandbox: "encode_failed", because: /Connection refused/ },
  { name: "an http input behind a -protocol_whitelist swallowed as another option's value", args: (port) => ["-f", "null", "-user_agent", "-i", `http://127.0.0.1:${port}/swallowed`, "-i", `http://127.0.0.1:${port}/direct`, "-f", "null", "-"], user: "tool_refused", sandbox: "encode_failed", because: /Connection refused/ },
  { name: "-protocol_whitelist overridden for an http input", args: (port) => ["-protocol_whitelist", "http,tcp", "-i", `http://127.0.0.1:${port}/x`, "-c", "copy", "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /Connection refused/ },
  { name: "an output named tcp://host:port", args: (port) => ["-i", "source.mov", "-c", "copy", "-f", "mpegts", `tcp://127.0.0.1:${port}`], user: "tool_refused", sandbox: "encode_failed", because: /Connection refused/ },
  { name: "an rtp output with -sdp_file (runs: its datagrams stay on the sandbox's own loopback)", args: (port) => ["-i", "source.mov", "-an", "-c:v", "copy", "-f", "rtp", "-sdp_file", `/tmp/${ESCAPED}sdp`, `rtp://127.0.0.1:${port}`], user: "tool_refused", sandbox: "completed" },
  { name: "zmq listening for commands (runs: its socket is inside the sandbox)", args: () => ["-i", "source.mov", "-vf", "zmq", "-t", "0.2", "leak.mp4"], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "completed" },
  // writing outside the job dir
  { name: "-f tee '…|[f=mp4]\\/tmp/x' (runs: it writes the sandbox's private /tmp)", args: () => ["-i", "source.mov", "-map", "0", "-c", "copy", "-f", "tee", `[f=mp4]leak.mp4|[f=mp4]\\/tmp/${ESCAPED}tee.mp4`], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "completed" },
  { name: "-f tee into a host directory (runs: that branch fails in the sandbox, tee goes on with the other)", args: () => ["-i", "source.mov", "-map", "0", "-c", "copy", "-f", "tee", `[f=mp4]leak.mp4|[f=mp4]${outside.replace(/\//g, "\\/")}/escape-tee.mp4`], outputs: ["leak.mp4"], user: "tool_refused", sandbox: "completed" },
  { name: "-dump_attachment into a host directory", fetch: ["attached.mkv"], args: () => ["-dump_attachment:t:0", path.join(outside, "escape-dump"), "-i", "attached.mkv", "-f", "null", "-"], user: "tool_refused", sandbox: "encode_failed", because: /Could not open file .* for writing/ },
  { name: "-y /tmp/out.mp4 (runs: the sandbox's private /tmp)", args: () => ["-i", "source.mov", "-c", "copy", "-y", `/tmp/${ESCAPED}out.mp4`], user: "tool_refused", sandbox: "completed" },
  { name: "an output into a host directory", args: () => ["-i", "source.mov", "-c", "copy", path.join(outside, "escape-out.mp4")], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "a ../ output beside the job dir", args: () => ["-i", "source.mov", "-c", "copy", "../escape-parent.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /Read-only file system/ },
  { name: "-vstats_file into a host directory", args: () => ["-i", "source.mov", "-vstats_file", path.join(outside, "escape-vstats"), "-t", "0.2", "leak.mp4"], user: "tool_refused", sandbox: "encode_failed", because: /No such file or directory/ },
  { name: "-passlogfile in /tmp (runs: the sandbox's private /tmp)", args: () => ["-i", "source.mov", "-c:v", "libx264", "-pass", "1", "-passlogfile", `/tmp/${ESCAPED}pass`, "-an", "-f", "null", "-"], user: "tool_refused", sandbox: "completed" },
  // the encoder's pipes and its resources
  { name: "an output to pipe:1, into the progress stream", args: () => ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:duration=2", "-c:v", "rawvideo", "-f", "rawvideo", "pipe:1"], limits: { max_output_bytes: 64 * 1024 }, user: "tool_refused", sandbox: "resource_limit", because: /printed more than its limit/ },
  { name: "an output to pipe:2, into the task log", args: () => ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:duration=2", "-c:v", "rawvideo", "-f", "rawvideo", "pipe:2"], limits: { max_output_bytes: 64 * 1024 }, user: "tool_refused", sandbox: "resource_limit", because: /printed more than its limit/ },
  { name: "a huge -progress pipe:1 output", args: () => ["-stats_period", "0.0001", "-progress", "pipe:1", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=1000:duration=5", "-f", "null", "-"], limits: { max_output_bytes: 64 * 1024 }, user: "tool_refused", sandbox: "resource_limit", because: /printed more than its limit/ },
  { name: "a log flood, a line per frame at -loglevel trace (the allowlist passes it; the output limit ends it)", args: () => ["-loglevel", "trace", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=25:duration=5", "-vf", "showinfo", "-f", "null", "-"], limits: { max_output_bytes: 16 * 1024 }, user: "resource_limit", sandbox: "resource_limit", because: /printed more than its limit/ },
  { name: "fork-bomb-ish thread counts", args: () => ["-threads", "100000", "-filter_threads", "100000", "-i", "source.mov", "-c:v", "libx264", "leak.mp4"], outputs: ["leak.mp4"], limits: { max_processes: 64 }, user: "tool_refused", sandbox: "encode_failed", because: /Resource temporarily unavailable/ },
];

const eventsOf = (jobId: string) => sink.events.filter((e) => e.job_id === jobId);
const terminal = (jobId: string) => sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || e.type === "task_failed"));

function steps(attempt: Attempt): ToolsOrderInput["steps"] {
  const fetch = ["source.mov", ...(attempt.fetch ?? [])];
  return [
    { tool: "storage:get", task_id: "task_get", files: fetch.map((name) => ({ name, url: media.url(name) })) },
    { tool: "ffmpeg:cmd", task_id: "task_cmd", arguments: attempt.args(tcp.port) },
    ...(attempt.outputs ? [{ tool: "storage:put" as const, task_id: "task_put", files: attempt.outputs.map((name, i) => ({ name, output_id: `out_${i}` })) }] : []),
  ];
}

/** The side effects: nothing outside the job was read into the job's traces, written, or reached. */
function expectContained(jobId: string): void {
  expect(readFileSync(SECRET_PATH, "utf8")).toBe(`${SECRET_FILE}\n`);
  expect(sha256(Buffer.concat([readFileSync(OTHER), readFileSync(OTHER_SEGMENT)]))).toBe(otherSha);
  expect(readdirSync(outside)).toEqual(["secret.txt"]);
  expect(readdirSync(workDir)).toEqual([OTHER_JOB]);
  expect(readdirSync(path.join(workDir, OTHER_JOB)).sort()).toEqual(["input.mp4", "segment.ts"]);
  expect(readdirSync(os.tmpdir()).filter((name) => name.startsWith(ESCAPED))).toEqual([]);
  expect(tcp.connections).toBe(0);
  expect(udp.messages).toBe(0);
  const traces = [JSON.stringify(eventsOf(jobId)), ...[...sink.uploads.values()].map((u) => u.bytes.toString("latin1"))];
  for (const secret of SECRETS) expect(traces.filter((t) => t.includes(secret)).length, `${secret} leaked`).toBe(0);
}

async function runAttempt(jobId: string, attempt: Attempt, on: typeof asUser, expected: Outcome): Promise<EncoderEvent[]> {
  sink.uploads.clear();
  const accepted = await on.call("POST", "/work", sink.toolsOrder(jobId, steps(attempt), attempt.limits ?? {}));
  expect(accepted.status).toBe(202);
  const end = await terminal(jobId);
  // Containment first: it must hold whatever the outcome.
  expectContained(jobId);
  if (expected === "completed") expect(end.type, JSON.stringify(end)).toBe("job_completed");
  else expect(end, JSON.stringify(end)).toMatchObject({ type: "task_failed", error: { code: expected } });
  if (end.type === "task_failed" && expected !== "tool_refused") expect(end.error.message).toMatch(attempt.because!);
  return eventsOf(jobId);
}

const outcome = (o: Outcome) => (o === "completed" ? "runs, touching nothing outside the job" : o);

describe("sandbox escape corpus", { timeout: 60_000 }, () => {
  it("has at least 25 attempts", () => {
    expect(attempts.length).toBeGreaterThanOrEqual(25);
  });

  describe.each(attempts.map((a, i) => [a.name, a, i] as const))("%s", (_name, attempt, i) => {
    it(`as a user's job: ${outcome(attempt.user)}`, async () => {
      const events = await runAttempt(`job_escape_${i}_user`, attempt, asUser, attempt.user);
      if (attempt.user === "tool_refused") expect(events.some((e) => e.type === "task_log" && e.task_id === "task_cmd")).toBe(false);
    });

    it(`with the sandbox alone: ${outcome(attempt.sandbox)}`, async () => {
      await runAttempt(`job_escape_${i}_sandbox`, attempt, sandboxOnly, attempt.sandbox);
    });
  });

  it.each([
    ["as a user's job", () => asUser],
    ["with the sandbox alone", () => sandboxOnly],
  ])("a symlink planted in the job dir is not followed by storage:put, %s", async (mode, encoder) => {
    const jobId = `job_escape_symlink_${mode.replace(/\W/g, "_")}`;
    sink.uploads.clear();
    await encoder().call("POST", "/work", sink.toolsOrder(jobId, [
      { tool: "storage:get", task_id: "task_get", files: [{ name: "source.mov", url: media.url("source.mov") }] },
      // Long enough for the test to plant the link while it runs.
      { tool: "ffmpeg:cmd", task_id: "task_cmd", arguments: ["-re", "-i", "source.mov", "-f", "null", "-"] },
      { tool: "storage:put", task_id: "task_put", files: [{ name: "leak.txt", output_id: "out_leak" }] },
    ]));
    await sink.waitFor((e) => e.job_id === jobId && e.type === "task_started" && e.task_id === "task_cmd");
    const jobDir = readdirSync(workDir).find((name) => name.startsWith(jobId))!;
    symlinkSync(SECRET_PATH, path.join(workDir, jobDir, "leak.txt"));
    const end = await terminal(jobId);
    expect(end).toMatchObject({ type: "task_failed", stage: "export", task_id: "task_put", error: { code: "file_missing" } });
    expect((end as Extract<EncoderEvent, { type: "task_failed" }>).error.message).toMatch(/symbolic link/);
    expect(sink.uploads.size).toBe(0);
    expectContained(jobId);
  });

  it("control: the same channels carry a file that is inside the job dir (the attempts above are real reads)", async () => {
    const canary = "kiln-canary-inside-the-job";
    const control = async (name: string, args: string[], output: string) => {
      const attempt: Attempt = { name, fetch: ["canary.txt"], args: () => args, outputs: [output], user: "completed", sandbox: "completed" };
      await runAttempt(`job_escape_control_${name}`, attempt, sandboxOnly, "completed");
      expect(sink.uploads.get(output)!.bytes.toString("latin1"), name).toContain(canary);
    };
    await control("movie", ["-filter_complex", "movie=canary.txt:f=u8:s=da", "-c:a", "pcm_u8", "-f", "u8", "c1.raw"], "c1.raw");
    await control("raw_input", ["-f", "u8", "-i", "canary.txt", "-c:a", "pcm_u8", "-f", "u8", "c2.raw"], "c2.raw");
    await control("attach", ["-i", "source.mov", "-attach", "canary.txt", "-metadata:s:t", "mimetype=text/plain", "-c", "copy", "c3.mkv"], "c3.mkv");
  });
});
