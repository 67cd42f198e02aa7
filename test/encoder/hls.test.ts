import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { EncodeSpec } from "../../encoder/contract";
import { type ClipName, clips } from "./clips";
import { encodeClip } from "./encode-clip";
import { audioStream, ffprobe, videoStream } from "./ffprobe";

/** Real HLS packages, read back the way a player would: playlists through m3u8-parser. */

interface Manifest {
  playlists?: { uri: string; attributes: { BANDWIDTH?: number; CODECS?: string; AUDIO?: string; RESOLUTION?: { width: number; height: number } } }[];
  mediaGroups?: { AUDIO?: Record<string, Record<string, { uri?: string }>> };
  segments: { uri: string; duration: number; map?: { uri: string } }[];
  endList?: boolean;
  playlistType?: string;
  targetDuration?: number;
}
// m3u8-parser ships no types; this is the part of its manifest the tests read.
const { Parser } = createRequire(import.meta.url)("m3u8-parser") as { Parser: new () => { push(text: string): void; end(): void; manifest: Manifest } };

function parse(file: string): Manifest {
  const parser = new Parser();
  parser.push(readFileSync(file, "utf8"));
  parser.end();
  return parser.manifest;
}

/** Encodes a clip to HLS and reads every playlist; returns paths relative to the package. */
async function encodeHls(clip: ClipName, options: Partial<Extract<EncodeSpec, { kind: "adaptive_video" }>> = {}) {
  const { dir, cmd } = await encodeClip(clip, { kind: "adaptive_video", format: "hls", ...options }, "pkg");
  const masterFile = path.join(dir, cmd.main);
  const master = parse(masterFile);
  const root = path.dirname(masterFile);
  const variants = (master.playlists ?? []).map((p) => ({ ...p, file: path.join(root, p.uri), media: parse(path.join(root, p.uri)) }));
  return { dir, cmd, root, master, variants };
}

/** Every file a media playlist names (init segment and media segments), relative to the playlist. */
function referenced(playlistFile: string, media: Manifest): string[] {
  const base = path.dirname(playlistFile);
  const maps = new Set(media.segments.flatMap((s) => (s.map ? [s.map.uri] : [])));
  return [...maps, ...media.segments.map((s) => s.uri)].map((uri) => path.join(base, uri));
}

describe("adaptive video (HLS)", () => {
  it("a 360p source with audio: rungs ≤ 360, complete VOD playlists, audio as a group", async () => {
    const { dir, cmd, root, master, variants } = await encodeHls("landscape");
    for (const output of cmd.outputs) expect(existsSync(path.join(dir, output)), output).toBe(true);

    const video = variants.filter((v) => v.attributes.RESOLUTION);
    expect(video.map((v) => v.attributes.RESOLUTION)).toEqual([
      { width: 640, height: 360 },
      { width: 426, height: 240 },
    ]);
    for (const v of video) {
      expect(v.attributes.RESOLUTION!.height).toBeLessThanOrEqual(clips.landscape.height);
      expect(v.attributes.BANDWIDTH).toBeGreaterThan(0);
      expect(v.attributes.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(v.attributes.AUDIO).toBe("group_audio");
    }
    const audioUris = Object.values(master.mediaGroups?.AUDIO?.group_audio ?? {}).map((r) => r.uri);
    expect(audioUris).toEqual(["audio/index.m3u8"]);

    const segmentCounts = new Set<number>();
    for (const v of variants) {
      expect(v.media.endList).toBe(true);
      expect(v.media.playlistType).toBe("VOD");
      expect(v.media.targetDuration).toBe(2);
      expect(v.media.segments[0]!.map?.uri).toMatch(/^init_\w+\.mp4$/);
      for (const file of referenced(v.file, v.media)) expect(existsSync(file), file).toBe(true);
      const total = v.media.segments.reduce((sum, s) => sum + s.duration, 0);
      expect(Math.abs(total - clips.landscape.seconds)).toBeLessThanOrEqual(0.05);
      if (v.attributes.RESOLUTION) segmentCounts.add(v.media.segments.length);
    }
    // Forced keyframes make every rung cut at the same instants.
    expect([...segmentCounts]).toEqual([2]);

    const probed = ffprobe(path.join(root, "360p/index.m3u8"));
    expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 640, height: 360 });
    expect(audioStream(probed)).toBeUndefined();
    expect(audioStream(ffprobe(path.join(root, "audio/index.m3u8")))?.codec_name).toBe("aac");
  });

  it("a silent source: no audio group and no audio in any variant", async () => {
    const { master, variants, root } = await encodeHls("silent");
    expect(master.mediaGroups?.AUDIO ?? {}).toEqual({});
    expect(variants).toHaveLength(2);
    for (const v of variants) {
      expect(v.attributes.AUDIO).toBeUndefined();
      expect(v.attributes.CODECS).toMatch(/^avc1\.[0-9a-f]{6}$/);
    }
    expect(audioStream(ffprobe(path.join(root, "240p/index.m3u8")))).toBeUndefined();
  });

  it("a portrait source: rungs by the short side, within its size", async () => {
    const { variants } = await encodeHls("portrait");
    const video = variants.filter((v) => v.attributes.RESOLUTION);
    expect(video.map((v) => v.attributes.RESOLUTION)).toEqual([
      { width: 360, height: 640 },
      { width: 240, height: 426 },
    ]);
    for (const v of video) {
      expect(v.attributes.RESOLUTION!.width).toBeLessThanOrEqual(clips.portrait.width);
      expect(v.attributes.RESOLUTION!.height).toBeLessThanOrEqual(clips.portrait.height);
      for (const file of referenced(v.file, v.media)) expect(existsSync(file), file).toBe(true);
    }
    const probed = ffprobe(video[1]!.file);
    expect(videoStream(probed)).toMatchObject({ codec_name: "h264", width: 240, height: 426 });
  });

  it("height caps the top rung, and a trimmed window is what gets packaged", async () => {
    const { variants } = await encodeHls("landscape", { height: 240, start: 0.5, end: 2.5, quality: "low" });
    expect(variants.filter((v) => v.attributes.RESOLUTION).map((v) => v.attributes.RESOLUTION)).toEqual([{ width: 426, height: 240 }]);
    for (const v of variants) {
      const total = v.media.segments.reduce((sum, s) => sum + s.duration, 0);
      expect(Math.abs(total - 2)).toBeLessThanOrEqual(0.05);
    }
  });
});
