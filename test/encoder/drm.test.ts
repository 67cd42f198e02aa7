import { execFileSync, spawnSync } from "node:child_process";
import { createDecipheriv } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EncoderEvent, OutputSpec } from "../../encoder/contract";
import { addCmafKey, addContentProtection } from "../../encoder/ffmpeg/drm";
import { buildRenditionsCommand } from "../../encoder/ffmpeg/renditions";
import { clipPath } from "./clips";
import { sourceOf } from "./encode-clip";
import { startEncoder, startMediaServer, startSink } from "./harness";
import { parseM3u8, parseMpd } from "./packages";

const KEY = "8f3c2a1b0d9e8f7a6b5c4d3e2f1a0b9c";
const KID = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const KEY_URI = "https://kiln.test/v1/jobs/job_drm/outputs/out_hls/key";
const LICENSE_URL = "https://kiln.test/v1/jobs/job_drm/outputs/out_dash/key";
const aes128 = { scheme: "aes-128" as const, key: KEY, key_uri: KEY_URI };
const cenc = (license_url = LICENSE_URL) => ({ scheme: "cenc" as const, key: KEY, key_id: KID, license_url });
const out = (type: OutputSpec["type"], extra: Partial<OutputSpec> = {}): OutputSpec => ({ kind: "output", type, video: [{ codec: "h264", height: 360 }], ...extra });
const landscape = sourceOf("landscape");

describe("drm builders (pure)", () => {
  it("hands the hls muxer a key info file, never the key in argv", () => {
    const cmd = buildRenditionsCommand([{ outputId: "o", spec: out("hls", { hls: { segment_type: "ts" }, drm: aes128 }) }], landscape);
    expect(cmd.args.join(" ")).not.toContain(KEY);
    expect(cmd.args[cmd.args.indexOf("-hls_key_info_file") + 1]).toBe("o.keyinfo");
    const files = new Map(cmd.secretFiles.map((f) => [f.path, f.data]));
    expect(files.get("o.key")!.toString("hex")).toBe(KEY);
    expect(files.get("o.keyinfo")!.toString()).toBe(`${KEY_URI}\no.key\n`);
    // Outside the package directory, so never exported.
    expect(cmd.secretFiles.every((f) => !f.path.startsWith("o/"))).toBe(true);
  });

  it("refuses what the schemes cannot protect", () => {
    const build = (spec: OutputSpec) => () => buildRenditionsCommand([{ outputId: "o", spec }], landscape);
    expect(build(out("hls", { drm: aes128 }))).toThrow(/TS segments/);
    expect(build(out("dash", { drm: aes128 }))).toThrow(/hls output/);
    expect(build(out("hls", { hls: { segment_type: "ts" }, drm: cenc() }))).toThrow(/dash or adaptive/);
    expect(build(out("dash", { dash: { profile: "on-demand" }, drm: cenc() }))).toThrow(/live/);
    expect(build(out("dash", { video: [{ codec: "vp9" }], drm: cenc() }))).toThrow(/h264 and h265/);
  });

  it("signals CENC and ClearKey in the MPD's media adaptation sets and in CMAF playlists", () => {
    const mpd =
      '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">\n<Period>\n<AdaptationSet id="0" contentType="video">\n</AdaptationSet>\n' +
      '<AdaptationSet id="1" contentType="audio">\n</AdaptationSet>\n<AdaptationSet id="2" contentType="text">\n</AdaptationSet>\n</Period>\n</MPD>';
    const edited = addContentProtection(mpd, cenc("https://k.test/key?a=1&b=2"));
    expect(edited.match(/cenc:default_KID="a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90"/g)).toHaveLength(2);
    expect(edited.match(/urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e/g)).toHaveLength(2);
    expect(edited).toContain("<dashif:Laurl>https://k.test/key?a=1&amp;b=2</dashif:Laurl>");
    expect(edited).toContain('xmlns:cenc="urn:mpeg:cenc:2013"');
    expect(edited).not.toContain(KEY);
    expect(() => addContentProtection('<MPD><AdaptationSet contentType="text"></AdaptationSet></MPD>', cenc())).toThrow(/no video or audio/);
    const playlist = addCmafKey("#EXTM3U\n#EXT-X-MAP:URI=\"init_0.mp4\"\n#EXTINF:2,\nseg_0_00001.m4s\n", cenc());
    expect(playlist.split("\n")[1]).toBe(`#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI="${LICENSE_URL}",KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1"`);
  });
});

// ---------------------------------------------------------------------------------------
// Through the encoder service, decrypted with ffmpeg.

let media: Awaited<ReturnType<typeof startMediaServer>>;
let sink: Awaited<ReturnType<typeof startSink>>;
let encoder: Awaited<ReturnType<typeof startEncoder>>;
const workDir = mkdtempSync(path.join(os.tmpdir(), "kiln-drm-work-"));
process.env.KILN_WORK_DIR = workDir;

beforeAll(async () => {
  media = await startMediaServer({ "landscape.mp4": clipPath("landscape") });
  sink = await startSink();
  encoder = await startEncoder({ concurrency: 1, heartbeatMs: 1000 });
});
afterAll(async () => {
  await encoder.close();
  await sink.close();
  await media.close();
});

type Completed = Extract<EncoderEvent, { type: "task_completed" }>;
const text = (p: string) => sink.uploads.get(p)!.bytes.toString("utf8");
const bytes = (p: string) => sink.uploads.get(p)!.bytes;

function materialise(paths: string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "kiln-drm-out-"));
  for (const p of paths) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), bytes(p));
  }
  return root;
}

/** Decodes every frame of a file; frames counted and any decoder complaint returned. */
function decode(args: string[]): { frames: number; errors: string; md5: string } {
  const run = spawnSync("ffmpeg", ["-v", "error", ...args, "-map", "0:v:0", "-f", "framemd5", "-"], { encoding: "utf8" });
  const lines = run.stdout.split("\n").filter((l) => /^\d/.test(l));
  return { frames: lines.length, errors: run.stderr + (run.status === 0 ? "" : `exit ${run.status}`), md5: lines.map((l) => l.split(",").pop()).join() };
}

describe("encrypted packages through the encoder", () => {
  it("AES-128 HLS and CENC DASH and adaptive: unreadable without the key, decoded by ffmpeg with it; the key never leaves the encoder", async () => {
    const jobId = "job_drm";
    const res = await encoder.call(
      "POST",
      "/work",
      sink.order(jobId, media.url("landscape.mp4"), [
        { task_id: "t_hls", output_id: "out_hls", spec: out("hls", { hls: { segment_type: "ts" }, segments: { duration: 1 }, drm: aes128 }) },
        { task_id: "t_dash", output_id: "out_dash", spec: out("dash", { drm: cenc() }) },
        { task_id: "t_adaptive", output_id: "out_adaptive", spec: out("adaptive", { drm: cenc() }) },
        { task_id: "t_clear", output_id: "out_clear", spec: out("dash") },
      ]),
    );
    expect(res.status).toBe(202);
    await sink.waitFor((e) => e.job_id === jobId && (e.type === "job_completed" || (e.type === "task_failed" && e.task_id === null)), 240_000);
    const events = sink.events.filter((e) => e.job_id === jobId);
    expect(events.filter((e) => e.type === "task_failed")).toEqual([]);
    const completed = new Map(events.filter((e): e is Completed => e.type === "task_completed" && e.stage === "encode").map((e) => [e.task_id!, e.output!]));
    expect([...completed.keys()].sort()).toEqual(["t_adaptive", "t_clear", "t_dash", "t_hls"]);
    // Nothing the Worker hears, and no stored file, holds the key (raw or hex).
    expect(JSON.stringify(events)).not.toContain(KEY);
    const rawKey = Buffer.from(KEY, "hex");
    for (const [p, upload] of sink.uploads) {
      if (!p.startsWith("out_")) continue;
      expect(upload.bytes.includes(rawKey), p).toBe(false);
      expect(upload.bytes.toString("latin1").includes(KEY), p).toBe(false);
    }

    // --- AES-128 HLS ---
    const hls = completed.get("t_hls")!;
    expect(hls).toMatchObject({ width: 640, height: 360, codec: "h264" });
    const hlsFiles = hls.files.map((f) => f.path);
    expect(hlsFiles.some((f) => /\.key(info)?$|\.verify\//.test(f))).toBe(false);
    const variantUri = parseM3u8(text(hls.main)).playlists![0]!.uri;
    const variantPath = `out_hls/${variantUri}`;
    const playlist = text(variantPath);
    const keyLines = playlist.split("\n").filter((l) => l.startsWith("#EXT-X-KEY:"));
    expect(keyLines.length).toBeGreaterThan(0);
    expect(keyLines.every((l) => l.startsWith(`#EXT-X-KEY:METHOD=AES-128,URI="${KEY_URI}",IV=0x`))).toBe(true);
    const segments = parseM3u8(playlist).segments;
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const root = materialise(hlsFiles);
    const firstSegment = path.join(root, path.posix.dirname(variantPath), segments[0]!.uri);
    // Without the key a segment is not media at all.
    expect(spawnSync("ffprobe", ["-v", "error", "-show_streams", firstSegment]).status).not.toBe(0);
    // AES-128-CBC with the playlist's IV turns it back into an MPEG-TS with the video.
    const iv = Buffer.from(keyLines[0]!.match(/IV=0x([0-9a-fA-F]{32})/)![1]!, "hex");
    const decipher = createDecipheriv("aes-128-cbc", rawKey, iv);
    const clearSegment = path.join(root, "seg0.ts");
    writeFileSync(clearSegment, Buffer.concat([decipher.update(readFileSync(firstSegment)), decipher.final()]));
    const probed = JSON.parse(execFileSync("ffprobe", ["-v", "error", "-print_format", "json", "-show_streams", clearSegment], { encoding: "utf8" }));
    expect(probed.streams.find((s: { codec_type: string }) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 640, height: 360 });
    // ffmpeg plays the whole playlist, fetching the key from the URI (here, served as a file).
    writeFileSync(path.join(root, "served.key"), rawKey);
    const localPlaylist = path.join(root, path.posix.dirname(variantPath), "local.m3u8");
    writeFileSync(localPlaylist, playlist.replaceAll(KEY_URI, path.join(root, "served.key")));
    const played = decode(["-allowed_extensions", "ALL", "-i", localPlaylist]);
    expect(played.errors).toBe("");
    expect(played.frames).toBeGreaterThanOrEqual(70); // 3 s at 25 fps
    writeFileSync(path.join(root, "wrong.key"), Buffer.alloc(16, 7));
    writeFileSync(localPlaylist, playlist.replaceAll(KEY_URI, path.join(root, "wrong.key")));
    expect(decode(["-allowed_extensions", "ALL", "-i", localPlaylist]).frames).toBeLessThan(played.frames);

    // --- CENC DASH ---
    const dash = completed.get("t_dash")!;
    expect(dash).toMatchObject({ width: 640, height: 360, codec: "h264" });
    const mpdText = text(dash.main);
    expect(mpdText).toContain('cenc:default_KID="a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90"');
    expect(mpdText).toContain(`<dashif:Laurl>${LICENSE_URL}</dashif:Laurl>`);
    const clearDecoded = decodeRepresentation("out_clear", parseMpd(text("out_clear/manifest.mpd")));
    expect(clearDecoded.frames).toBeGreaterThanOrEqual(70);
    for (const [output, mpdPath] of [["out_dash", dash.main], ["out_adaptive", "out_adaptive/manifest.mpd"]] as const) {
      const mpd = parseMpd(text(mpdPath));
      const init = bytes(`${output}/${mpd.representations.find((r) => r.contentType === "video")!.files[0]}`);
      expect(init.includes(Buffer.from("encv")) && init.includes(Buffer.from("tenc")) && init.includes(Buffer.from(KID, "hex"))).toBe(true);
      const withKey = decodeRepresentation(output, mpd, KEY);
      expect(withKey.errors).toBe("");
      // Decrypted, the pictures are the very ones of the same encode left clear.
      expect(withKey.md5).toBe(clearDecoded.md5);
      const withoutKey = decodeRepresentation(output, mpd);
      expect(withoutKey.md5).not.toBe(clearDecoded.md5);
      expect(withoutKey.errors).not.toBe("");
    }
    const adaptiveMedia = text("out_adaptive/media_0.m3u8");
    expect(adaptiveMedia).toContain(`#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI="${LICENSE_URL}"`);
  }, 300_000);
});

/** The video representation's init and media segments joined into one fragmented MP4 and decoded. */
function decodeRepresentation(output: string, mpd: ReturnType<typeof parseMpd>, key?: string) {
  const video = mpd.representations.find((r) => r.contentType === "video")!;
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kiln-drm-rep-")), "joined.mp4");
  writeFileSync(file, Buffer.concat(video.files.map((f) => bytes(`${output}/${f}`))));
  return decode([...(key ? ["-decryption_key", key] : []), "-i", file]);
}
