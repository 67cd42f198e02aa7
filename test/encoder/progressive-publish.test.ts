import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncoderEvent, OutputSpec, TranscodeOrderInput } from "../../encoder/contract";
import { clipPath, clips } from "./clips";
import { startEncoder, startSink } from "./harness";

/**
 * HLS packages published while ffmpeg writes them, against real ffmpeg: the input is a
 * faststart MP4 whose last half second the origin holds back until the test lets it go,
 * so whatever the sink received before that was published by a run that could not have
 * ended. Then the run ends and the package is made final.
 */

const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-progressive-work-"));
process.env.KILN_WORK_DIR = workDir;
const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-progressive-media-"));

interface Manifest {
  segments: { uri: string; duration: number; map?: { uri: string } }[];
  playlists?: { uri: string }[];
  mediaGroups?: { AUDIO?: Record<string, Record<string, { uri?: string }>> };
  endList?: boolean;
  playlistType?: string;
}
// m3u8-parser ships no types; this is the part of its manifest the tests read.
const { Parser } = createRequire(import.meta.url)("m3u8-parser") as { Parser: new () => { push(text: string): void; end(): void; manifest: Manifest } };
function parse(text: string): Manifest {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest;
}

let origin: Server;
let originUrl: string;
let bytes: Buffer;
/** Where the held-back tail starts: the first packet at or after 4.5 s. */
let holdAt: number;
/** The responses whose tail is held, by path; answering one sends the rest. */
const held = new Map<string, ServerResponse>();
let sink: Awaited<ReturnType<typeof startSink>>;
let encoder: Awaited<ReturnType<typeof startEncoder>>;

beforeAll(async () => {
  const input = path.join(scratch, "input.mp4");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", clipPath("fiveSeconds"), "-c", "copy", "-movflags", "+faststart", input]);
  bytes = readFileSync(input);
  const packets = execFileSync("ffprobe", ["-v", "error", "-show_entries", "packet=pts_time,pos", "-of", "csv=p=0", input], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.split(",").map(Number) as [number, number]);
  holdAt = Math.min(...packets.filter(([pts]) => pts >= 4.5).map(([, pos]) => pos));
  expect(holdAt).toBeGreaterThan(bytes.length / 2);
  origin = createServer((req, res) => {
    res.writeHead(200, { "content-type": "video/mp4", "content-length": bytes.length });
    res.write(bytes.subarray(0, holdAt));
    held.set(req.url ?? "", res);
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  sink = await startSink();
  // The held tail comes when the test says so: the encoder waits for it as long as it takes.
  encoder = await startEncoder({ growingInputWaitMs: 120_000 });
});
afterAll(async () => {
  for (const res of held.values()) res.destroy();
  await encoder.close();
  await sink.close();
  await new Promise<void>((resolve) => origin.close(() => resolve()));
});

const release = (route: string) => held.get(route)!.end(bytes.subarray(holdAt));
const eventsOf = (jobId: string) => sink.events.filter((e) => e.job_id === jobId);
const ended = (jobId: string) => sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)), 90_000);
const playables = (jobId: string) => eventsOf(jobId).filter((e): e is Extract<EncoderEvent, { type: "output_playable" }> => e.type === "output_playable");
const text = (p: { bytes: Buffer }) => p.bytes.toString("utf8");

async function start(jobId: string, route: string, tasks: TranscodeOrderInput["tasks"]) {
  const res = await encoder.call("POST", "/work", sink.order(jobId, `${originUrl}${route}`, tasks));
  expect(res.status).toBe(202);
}

/**
 * What was stored of a package before `count` PUTs: every media playlist its master
 * names, as last stored, is a growing EVENT playlist that starts players at the
 * beginning, and everything it names (and the master's variants) was stored before it.
 */
function checkPublishedInOrder(root: string, count: number) {
  const puts = sink.puts.slice(0, count).filter((p) => p.path.startsWith(`${root}/`));
  const when = (file: string) => puts.findIndex((p) => p.path === file);
  const lastWhen = (file: string) => puts.map((p) => p.path).lastIndexOf(file);
  const masterAt = when(`${root}/master.m3u8`);
  expect(masterAt, "the master was stored").toBeGreaterThanOrEqual(0);
  const master = parse(text(puts[masterAt]!));
  const variants = [...(master.playlists ?? []).map((p) => p.uri), ...Object.values(master.mediaGroups?.AUDIO ?? {}).flatMap((g) => Object.values(g).map((r) => r.uri!))];
  expect(variants.length).toBeGreaterThan(1);
  const media = new Map<string, Manifest>();
  for (const uri of variants) {
    const file = path.join(root, uri);
    const at = lastWhen(file);
    expect(at, `${file} was stored`).toBeGreaterThanOrEqual(0);
    expect(when(file), `${file} before the master`).toBeLessThan(masterAt);
    const stored = text(puts[at]!);
    expect(stored).toContain("#EXT-X-START:TIME-OFFSET=0");
    const playlist = parse(stored);
    expect(playlist.playlistType).toBe("EVENT");
    expect(playlist.endList).toBeFalsy();
    expect(playlist.segments.length).toBeGreaterThan(0);
    for (const named of [...new Set(playlist.segments.map((s) => s.map!.uri)), ...playlist.segments.map((s) => s.uri)]) {
      const segment = path.join(path.dirname(file), named);
      expect(when(segment), `${segment} was stored`).toBeGreaterThanOrEqual(0);
      expect(when(segment), `${segment} before the playlist naming it`).toBeLessThan(at);
    }
    media.set(file, playlist);
  }
  return { puts, media };
}

/** The package as finally stored: VOD playlists that end, naming only stored files, covering the clip. */
function checkFinal(root: string, mediaPlaylists: string[]) {
  for (const file of mediaPlaylists) {
    const stored = sink.uploads.get(file)!;
    const playlist = parse(text(stored));
    expect(playlist.playlistType, file).toBe("VOD");
    expect(playlist.endList, file).toBe(true);
    expect(text(stored)).not.toContain("#EXT-X-START");
    for (const s of playlist.segments) expect(sink.uploads.has(path.join(path.dirname(file), s.uri)), s.uri).toBe(true);
    const total = playlist.segments.reduce((sum, s) => sum + s.duration, 0);
    expect(Math.abs(total - clips.fiveSeconds.seconds), file).toBeLessThanOrEqual(0.1);
  }
  // A segment is stored once: the export does not send again what the publisher stored.
  const segments = sink.puts.filter((p) => p.path.startsWith(`${root}/`) && p.path.endsWith(".m4s")).map((p) => p.path);
  expect(segments.length).toBeGreaterThan(0);
  expect(new Set(segments).size).toBe(segments.length);
}

describe("progressive publish", () => {
  it("stores an adaptive_video package's segments and EVENT playlists while ffmpeg runs, then ends them as VOD", async () => {
    const jobId = "job_progressive_kind";
    await start(jobId, "/kind.mp4", [{ task_id: "t_hls", output_id: "o_hls", spec: { kind: "adaptive_video", format: "hls" } }]);
    const playable = await sink.waitFor((e) => e.job_id === jobId && e.type === "output_playable", 60_000);
    expect(playable).toMatchObject({ task_id: "t_hls", output_id: "o_hls", main: "o_hls/master.m3u8" });
    // All of this while the input's last half second had not even arrived.
    const before = sink.puts.length;
    const { media } = checkPublishedInOrder("o_hls", before);
    expect([...media.keys()].sort()).toEqual(["o_hls/240p/index.m3u8", "o_hls/360p/index.m3u8", "o_hls/audio/index.m3u8"]);
    expect(eventsOf(jobId).some((e) => e.type === "task_completed" && e.stage === "encode")).toBe(false);

    release("/kind.mp4");
    expect((await ended(jobId)).type).toBe("job_completed");
    expect(playables(jobId)).toHaveLength(1);
    checkFinal("o_hls", [...media.keys()]);
    // The facts name every file as stored, the playlists in their final form.
    const done = eventsOf(jobId).find((e) => e.type === "task_completed" && e.stage === "encode") as Extract<EncoderEvent, { type: "task_completed" }>;
    for (const file of done.output!.files) expect(file.sha256, file.path).toBe(sink.uploads.get(file.path)!.sha256);
    expect(done.output!.files.map((f) => f.path)).not.toContain(expect.stringMatching(/\.progressive|\.tmp$/));
    expect(readdirSync(workDir)).toEqual([]);
  }, 120_000);

  it("publishes hls and adaptive outputs of one run as they grow, but not a CENC package, encrypted only after the run", async () => {
    const jobId = "job_progressive_outputs";
    const out = (type: OutputSpec["type"], extra: Partial<OutputSpec> = {}): OutputSpec => ({ kind: "output", type, video: [{ codec: "h264", height: 360 }, { codec: "h264", height: 240 }], ...extra });
    const cenc = { scheme: "cenc" as const, key: "8f3c2a1b0d9e8f7a6b5c4d3e2f1a0b9c", key_id: "a1b2c3d4e5f60718293a4b5c6d7e8f90", license_url: "https://kiln.test/key" };
    await start(jobId, "/outputs.mp4", [
      { task_id: "t_hls", output_id: "o_hls_1s", spec: out("hls", { segments: { duration: 1 } }) },
      { task_id: "t_cmaf", output_id: "o_cmaf", spec: out("adaptive", { segments: { duration: 1 } }) },
      { task_id: "t_cenc", output_id: "o_cenc", spec: out("adaptive", { segments: { duration: 1 }, drm: cenc }) },
    ]);
    await sink.until("both clear packages playable", () => playables(jobId).length === 2, 60_000);
    expect(playables(jobId).map((e) => e.output_id).sort()).toEqual(["o_cmaf", "o_hls_1s"]);
    const before = sink.puts.length;
    const hls = checkPublishedInOrder("o_hls_1s", before);
    const cmaf = checkPublishedInOrder("o_cmaf", before);
    expect(sink.puts.slice(0, before).some((p) => p.path.startsWith("o_cenc/") || p.path.endsWith(".mpd"))).toBe(false);

    release("/outputs.mp4");
    expect((await ended(jobId)).type).toBe("job_completed");
    expect(playables(jobId)).toHaveLength(2);
    checkFinal("o_hls_1s", [...hls.media.keys()]);
    checkFinal("o_cmaf", [...cmaf.media.keys()]);
    expect(sink.uploads.has("o_cmaf/manifest.mpd")).toBe(true);
    expect(sink.uploads.has("o_cenc/master.m3u8")).toBe(true);
  }, 120_000);

  it("stops publishing when the job is canceled: nothing is stored after", async () => {
    const jobId = "job_progressive_cancel";
    await start(jobId, "/cancel.mp4", [{ task_id: "t_hls", output_id: "o_cancel", spec: { kind: "adaptive_video", format: "hls" } }]);
    await sink.waitFor((e) => e.job_id === jobId && e.type === "output_playable", 60_000);
    expect((await encoder.call("DELETE", `/work/${jobId}`)).status).toBeLessThan(300);
    const last = await ended(jobId);
    expect(last).toMatchObject({ type: "task_failed", error: { code: "canceled" } });
    const stored = sink.puts.length;
    // The tail arrives after all; the canceled job makes nothing of it, and a publisher
    // left running would have stored something within a few of its 200 ms looks.
    release("/cancel.mp4");
    await new Promise((r) => setTimeout(r, 1_000));
    expect(readdirSync(workDir)).toEqual([]);
    expect(sink.puts.length).toBe(stored);
    expect(sink.puts.some((p) => p.path.startsWith("o_cancel/") && parse(text(p)).endList === true && p.path.endsWith(".m3u8"))).toBe(false);
  }, 120_000);
});
