import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPath } from "../encoder/clips";
import { parseMpd } from "../encoder/packages";
import { type E2EStack, bootStack, download, downloadHls, ffprobeJson, parsePlaylist, saveTemp, serveFiles, sha256, watchJob } from "./harness";

/**
 * Transcodely's outputs[] through the whole local stack: one job, several outputs and
 * variants made from one decode, each fetched back through its signed URL the way a
 * player or a downloader would.
 */

let stack: E2EStack;
let media: Awaited<ReturnType<typeof serveFiles>>;

beforeAll(async () => {
  stack = await bootStack();
  const scratch = mkdtempSync(path.join(os.tmpdir(), "kiln-e2e-subs-"));
  writeFileSync(path.join(scratch, "en.vtt"), "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello from Kiln\n");
  media = await serveFiles({ "clip.mp4": clipPath("landscape"), "en.vtt": path.join(scratch, "en.vtt") });
});
afterAll(async () => {
  await media?.close();
  await stack?.stop();
});

async function runToEnd(outputs: unknown[]) {
  const created = await stack.api("/v1/jobs", { body: { input: media.url("clip.mp4"), outputs } });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const watch = await watchJob(stack, created.json.id);
  await watch.closed;
  expect(watch.events.at(-1)!.event).toBe("completed");
  return (await stack.api(`/v1/jobs/${created.json.id}`)).json;
}

const videoHeights = (probed: any) =>
  probed.streams
    .filter((s: any) => s.codec_type === "video")
    .map((s: any) => s.height)
    .sort((a: number, b: number) => b - a);

/** Every file of a DASH representation, fetched relative to the MPD's signed URL. */
async function dashRepresentation(mpdUrl: string, files: string[]) {
  const urls = files.map((f) => new URL(f, mpdUrl).toString());
  return { urls, bytes: await Promise.all(urls.map(download)) };
}

describe("outputs[] through the whole local stack", () => {
  it("an HLS ladder with subtitles, a DASH package, an adaptive package and an mkv from one job", async () => {
    const job = await runToEnd([
      {
        type: "hls",
        video: [{ codec: "h264", height: 360 }, { codec: "h264", height: 240 }, { codec: "h264", height: 144, quality: "economy" }],
        subtitle_tracks: [{ source: media.url("en.vtt"), language: "en", label: "English", default: true }],
      },
      { type: "dash", video: [{ codec: "h264", height: 360 }, { codec: "h264", height: 180 }] },
      { type: "adaptive", video: [{ codec: "h264", resolution: "1080p" }, { codec: "h264", height: 240 }] },
      { type: "mkv", video: [{ codec: "h264", resolution: "720p", h264: { profile: "main" } }] },
    ]);
    expect(job.status).toBe("completed");
    expect(job.outputs.map((o: any) => [o.type, o.status])).toEqual([
      ["hls", "completed"],
      ["dash", "completed"],
      ["adaptive", "completed"],
      ["mkv", "completed"],
    ]);
    const [hls, dash, adaptive, mkv] = job.outputs;

    // HLS: three rungs at their sizes, each walkable from the signed master URL, plus the subtitle group.
    const { master, variants } = await downloadHls(hls.output_url);
    expect(variants.map((v) => v.attributes.RESOLUTION)).toEqual([
      { width: 640, height: 360 },
      { width: 426, height: 240 },
      { width: 256, height: 144 },
    ]);
    for (const v of variants) {
      expect(v.manifest.endList).toBe(true);
      expect(v.attributes.SUBTITLES).toBe("subs");
      const probed = ffprobeJson(saveTemp(Buffer.concat([v.initBytes!, ...v.segments]), "rung.mp4"));
      expect(probed.streams.find((s: any) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", height: v.attributes.RESOLUTION.height });
    }
    const sub = master.mediaGroups.SUBTITLES.subs.English;
    expect(sub).toMatchObject({ language: "en", default: true });
    const subUrl = new URL(sub.uri, hls.output_url).toString();
    const subPlaylist = parsePlaylist((await download(subUrl)).toString());
    const vtt = (await download(new URL(subPlaylist.segments[0].uri, subUrl).toString())).toString();
    expect(vtt).toMatch(/^WEBVTT/);
    expect(vtt).toContain("Hello from Kiln");

    // DASH: the MPD from its signed URL; every representation's segments fetched and decoded.
    expect(dash.output_url).toMatch(/manifest\.mpd$/);
    const mpd = parseMpd((await download(dash.output_url)).toString());
    const dashVideo = mpd.representations.filter((r) => r.contentType === "video");
    expect(dashVideo.map((r) => [r.width, r.height])).toEqual([
      [640, 360],
      [320, 180],
    ]);
    for (const rep of dashVideo) {
      const { bytes } = await dashRepresentation(dash.output_url, rep.files);
      const probed = ffprobeJson(saveTemp(Buffer.concat(bytes), `rep${rep.id}.mp4`));
      expect(probed.streams[0]).toMatchObject({ codec_name: "h264", width: rep.width, height: rep.height });
      expect(Number(probed.format.duration)).toBeCloseTo(3, 0);
    }

    // Adaptive: master.m3u8 and manifest.mpd name the very same segment files (same signed URLs).
    expect(adaptive.output_url).toMatch(/master\.m3u8$/);
    expect(adaptive.manifest_url).toMatch(/manifest\.mpd$/);
    const aHls = await downloadHls(adaptive.output_url);
    const fromHls = new Set<string>();
    const aMasterUrl = adaptive.output_url as string;
    const mediaUris = [...aHls.master.playlists.map((p: any) => p.uri), ...Object.values(aHls.master.mediaGroups.AUDIO).flatMap((g: any) => Object.values(g).map((r: any) => r.uri))];
    for (const uri of mediaUris) {
      const url = new URL(uri, aMasterUrl).toString();
      const playlist = parsePlaylist((await download(url)).toString());
      expect(playlist.playlistType).toBe("VOD");
      for (const s of playlist.segments) {
        fromHls.add(new URL(s.uri, url).toString());
        if (s.map) fromHls.add(new URL(s.map.uri, url).toString());
      }
    }
    const aMpd = parseMpd((await download(adaptive.manifest_url)).toString());
    const fromDash = new Set(aMpd.representations.flatMap((r) => r.files.map((f) => new URL(f, adaptive.manifest_url).toString())));
    expect(fromHls.size).toBeGreaterThan(4);
    expect([...fromHls].sort()).toEqual([...fromDash].sort());
    // Stored once: the package's files are the manifests, the media playlists and those segments.
    expect(adaptive.facts.files).toBe(fromDash.size + mediaUris.length + 2);
    expect(aMpd.representations.filter((r) => r.contentType === "video").map((r) => r.height)).toEqual([360, 240]);

    // mkv: the 720p variant of a 360p source stays 360p.
    const mkvBytes = await download(mkv.output_url);
    expect(mkvBytes.length).toBe(mkv.file_size_bytes);
    expect(sha256(mkvBytes)).toBe(mkv.facts.sha256);
    const probed = ffprobeJson(saveTemp(mkvBytes, "out.mkv"));
    expect(probed.format.format_name).toContain("matroska");
    expect(probed.streams.map((s: any) => s.codec_name)).toEqual(["h264", "aac"]);
    expect(videoHeights(probed)).toEqual([360]);
    expect(probed.streams[0].profile).toBe("Main");
  }, 300_000);

  it("ends partial when one output fails (its subtitle file is missing) and the others complete", async () => {
    const job = await runToEnd([
      { type: "mp4", video: [{ codec: "h264", height: 180, quality: "economy" }] },
      { type: "hls", video: [{ codec: "h264", height: 180 }], subtitle_tracks: [{ source: media.url("missing.vtt"), language: "en" }] },
    ]);
    expect(job.status).toBe("partial");
    const [mp4, hls] = job.outputs;
    expect(mp4).toMatchObject({ status: "completed", error: null });
    expect(hls).toMatchObject({ status: "failed", output_url: null, error: { code: "input_unreachable" } });
    expect(hls.error.message).toMatch(/subtitle track 1 \(en\)/);
    expect(job.tasks.find((t: any) => t.output_id === hls.id)).toMatchObject({ status: "failed" });
    const probed = ffprobeJson(saveTemp(await download(mp4.output_url), "out.mp4"));
    expect(probed.streams[0]).toMatchObject({ codec_name: "h264", width: 320, height: 180 });
  }, 180_000);
});
