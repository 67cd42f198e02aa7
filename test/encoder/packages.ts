import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import type { Probed } from "./ffprobe";

/**
 * Reading stream packages back the way players do: playlists through m3u8-parser, and
 * the few parts of an MPD a player needs (representations, their segment templates or
 * base URLs) with a small reader that expands every segment file name.
 */

export interface M3u8 {
  playlists?: { uri: string; attributes: { BANDWIDTH?: number; CODECS?: string; AUDIO?: string; SUBTITLES?: string; RESOLUTION?: { width: number; height: number } } }[];
  mediaGroups?: {
    AUDIO?: Record<string, Record<string, { uri?: string; language?: string; default?: boolean }>>;
    SUBTITLES?: Record<string, Record<string, { uri?: string; language?: string; default?: boolean }>>;
  };
  segments: { uri: string; duration: number; map?: { uri: string }; byterange?: unknown }[];
  endList?: boolean;
  playlistType?: string;
  targetDuration?: number;
}
const { Parser } = createRequire(import.meta.url)("m3u8-parser") as { Parser: new () => { push(text: string): void; end(): void; manifest: M3u8 } };

export function parseM3u8(text: string): M3u8 {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest;
}

/** Every file a media playlist names (init segment and media segments), relative to the package root. */
export function hlsMediaFiles(playlistPath: string, media: M3u8): string[] {
  const base = path.posix.dirname(playlistPath);
  const maps = new Set(media.segments.flatMap((s) => (s.map ? [s.map.uri] : [])));
  return [...new Set([...maps, ...media.segments.map((s) => s.uri)])].map((uri) => path.posix.normalize(path.posix.join(base, uri)));
}

export interface MpdRepresentation {
  id: string;
  contentType: string | null;
  mimeType: string | null;
  codecs: string | null;
  width: number | null;
  height: number | null;
  lang: string | null;
  /** Every file the representation needs: init and media segments, or its one file. */
  files: string[];
}

const attr = (tag: string, name: string): string | null => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1] ?? null;

/** Representations of an MPD with SegmentTemplate (+SegmentTimeline, $Number$) or BaseURL addressing. */
export function parseMpd(xml: string): { type: string | null; durationS: number | null; representations: MpdRepresentation[] } {
  const mpdTag = /<MPD[\s\S]*?>/.exec(xml)?.[0] ?? "";
  const duration = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$/.exec(attr(mpdTag, "mediaPresentationDuration") ?? "");
  const representations: MpdRepresentation[] = [];
  for (const set of xml.matchAll(/<AdaptationSet([^>]*)>([\s\S]*?)<\/AdaptationSet>/g)) {
    const setTag = set[1]!;
    for (const rep of set[2]!.matchAll(/<Representation([^>]*?)(?:\/>|>([\s\S]*?)<\/Representation>)/g)) {
      const tag = rep[1]!;
      const body = rep[2] ?? "";
      const id = attr(tag, "id")!;
      const files: string[] = [];
      const baseUrl = /<BaseURL>([^<]*)<\/BaseURL>/.exec(body)?.[1];
      const template = /<SegmentTemplate([^>]*)>([\s\S]*?)<\/SegmentTemplate>/.exec(body);
      if (template) {
        const sub = (pattern: string, n?: number) =>
          pattern.replace(/\$RepresentationID\$/g, id).replace(/\$Number(?:%0(\d+)d)?\$/g, (_, width?: string) => String(n).padStart(Number(width ?? 0), "0"));
        files.push(sub(attr(template[1]!, "initialization")!));
        let count = 0;
        for (const s of template[2]!.matchAll(/<S\s([^>]*)\/>/g)) count += 1 + Number(attr(` ${s[1]}`, "r") ?? 0);
        const start = Number(attr(template[1]!, "startNumber") ?? 1);
        for (let n = start; n < start + count; n++) files.push(sub(attr(template[1]!, "media")!, n));
      } else if (baseUrl) {
        files.push(baseUrl);
      }
      representations.push({
        id,
        contentType: attr(setTag, "contentType"),
        mimeType: attr(tag, "mimeType") ?? attr(setTag, "mimeType"),
        codecs: attr(tag, "codecs"),
        width: attr(tag, "width") === null ? null : Number(attr(tag, "width")),
        height: attr(tag, "height") === null ? null : Number(attr(tag, "height")),
        lang: attr(setTag, "lang"),
        files,
      });
    }
  }
  return {
    type: attr(mpdTag, "type"),
    durationS: duration ? Number(duration[1] ?? 0) * 3600 + Number(duration[2] ?? 0) * 60 + Number(duration[3] ?? 0) : null,
    representations,
  };
}

/** ffprobe of a master playlist or MPD, letting its demuxer open the package's WebVTT sidecars too. */
export function ffprobePackage(file: string): Probed {
  return JSON.parse(
    execFileSync("ffprobe", ["-v", "error", "-allowed_extensions", "ALL", "-print_format", "json", "-show_format", "-show_streams", file], { encoding: "utf8" }),
  );
}
