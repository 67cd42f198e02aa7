/**
 * Pure edits of the manifests ffmpeg writes, for what its muxers cannot say: track
 * labels, subtitle groups (HLS) and text adaptation sets (DASH) for sidecar WebVTT
 * files, and VOD markers on the HLS playlists the dash muxer writes for adaptive
 * packages. Text in, text out; the pipeline reads and writes the files.
 */

export interface SubtitleRendition {
  /** The WebVTT file, relative to the package root. */
  vtt: string;
  /** Its HLS media playlist, relative to the package root. */
  playlist: string;
  language: string;
  label: string;
  default: boolean;
}

const SUBTITLE_GROUP = "subs";

/** An HLS quoted-string cannot hold a double quote or a line break. */
function quoted(value: string): string {
  return `"${value.replace(/["\r\n]/g, "").replace(/[\u0000-\u001f]/g, " ")}"`;
}

function xml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/[\u0000-\u001f]/g, " ");
}

/** Sets the NAME of the audio renditions in order (ffmpeg names them audio_<stream index>). */
export function nameAudioRenditions(master: string, names: string[]): string {
  let i = 0;
  return master
    .split("\n")
    .map((line) => {
      if (!line.startsWith("#EXT-X-MEDIA:") || !/TYPE=AUDIO/.test(line)) return line;
      const name = names[i++];
      return name === undefined ? line : line.replace(/NAME="[^"]*"/, `NAME=${quoted(name)}`);
    })
    .join("\n");
}

/**
 * Adds a subtitle group to a master playlist: one EXT-X-MEDIA per track, after the other
 * renditions, and SUBTITLES on every variant so players offer the tracks with each rung.
 */
export function addSubtitleGroup(master: string, tracks: SubtitleRendition[]): string {
  if (tracks.length === 0) return master;
  const media = tracks.map(
    (t) =>
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="${SUBTITLE_GROUP}",NAME=${quoted(t.label)},LANGUAGE=${quoted(t.language)},` +
      `DEFAULT=${t.default ? "YES" : "NO"},AUTOSELECT=YES,URI=${quoted(t.playlist)}`,
  );
  const lines = master.split("\n");
  const firstVariant = lines.findIndex((l) => l.startsWith("#EXT-X-STREAM-INF:"));
  if (firstVariant < 0) throw new Error("the master playlist has no variants");
  const out = [...lines.slice(0, firstVariant), ...media, ...lines.slice(firstVariant)];
  return out.map((l) => (l.startsWith("#EXT-X-STREAM-INF:") && !l.includes("SUBTITLES=") ? `${l},SUBTITLES="${SUBTITLE_GROUP}"` : l)).join("\n");
}

/** A media playlist holding one WebVTT file as a single segment covering the whole presentation. */
export function subtitlePlaylist(vttName: string, durationS: number, playlistType: "vod" | "event"): string {
  return [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(durationS))}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    `#EXT-X-PLAYLIST-TYPE:${playlistType.toUpperCase()}`,
    `#EXTINF:${durationS.toFixed(3)},`,
    vttName,
    "#EXT-X-ENDLIST",
    "",
  ].join("\n");
}

/**
 * ffmpeg's mpegts muxer starts timestamps at 1.4 s; WebVTT cues beside TS segments need
 * that mapping to line up (fMP4 segments start at 0 and need none).
 */
export const MPEGTS_START_TICKS = 126_000;
export function withTimestampMap(vtt: string, mpegtsTicks: number): string {
  const lines = vtt.replace(/^\uFEFF/, "").split("\n");
  if (lines.some((l) => l.startsWith("X-TIMESTAMP-MAP="))) return lines.join("\n");
  return [lines[0]!, `X-TIMESTAMP-MAP=MPEGTS:${mpegtsTicks},LOCAL:00:00:00.000`, ...lines.slice(1)].join("\n");
}

/**
 * The dash muxer's HLS media playlists are written like live ones: wall-clock
 * PROGRAM-DATE-TIME on every segment and no playlist type. A finished package drops the
 * clock and says VOD (or EVENT), so players treat it as the file it is.
 */
export function finishCmafMediaPlaylist(playlist: string, playlistType: "vod" | "event"): string {
  const lines = playlist.split("\n").filter((l) => !l.startsWith("#EXT-X-PROGRAM-DATE-TIME:"));
  if (!lines.some((l) => l.startsWith("#EXT-X-PLAYLIST-TYPE:"))) {
    const at = lines.findIndex((l) => l.startsWith("#EXT-X-TARGETDURATION:"));
    lines.splice(at < 0 ? 1 : at + 1, 0, `#EXT-X-PLAYLIST-TYPE:${playlistType.toUpperCase()}`);
  }
  return lines.join("\n");
}

/** Every segment starts on a forced keyframe, which the master may declare. */
export function markIndependentSegments(master: string): string {
  return addHeaderTag(master, "#EXT-X-INDEPENDENT-SEGMENTS", "#EXT-X-INDEPENDENT-SEGMENTS");
}

/** Adds a header tag after the version line (or the first line) unless the playlist has `present` already. */
function addHeaderTag(playlist: string, tag: string, present: string): string {
  if (playlist.includes(present)) return playlist;
  const lines = playlist.split("\n");
  const at = lines.findIndex((l) => l.startsWith("#EXT-X-VERSION:"));
  lines.splice(at < 0 ? 1 : at + 1, 0, tag);
  return lines.join("\n");
}

/** Adds one text adaptation set per WebVTT sidecar to the MPD's (only) period. */
export function addDashTextSets(mpd: string, tracks: SubtitleRendition[]): string {
  if (tracks.length === 0) return mpd;
  const end = mpd.lastIndexOf("</Period>");
  if (end < 0) throw new Error("the manifest has no Period");
  const ids = [...mpd.matchAll(/<AdaptationSet[^>]*\sid="(\d+)"/g)].map((m) => Number(m[1]));
  let next = ids.length > 0 ? Math.max(...ids) + 1 : 0;
  const sets = tracks.map((t, i) =>
    [
      `\t\t<AdaptationSet id="${next++}" contentType="text" mimeType="text/vtt" lang="${xml(t.language)}">`,
      `\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="${t.default ? "main" : "subtitle"}" />`,
      `\t\t\t<Label>${xml(t.label)}</Label>`,
      `\t\t\t<Representation id="text_${i}" bandwidth="256">`,
      `\t\t\t\t<BaseURL>${xml(t.vtt)}</BaseURL>`,
      "\t\t\t</Representation>",
      "\t\t</AdaptationSet>",
    ].join("\n"),
  );
  const lineStart = mpd.lastIndexOf("\n", end) + 1;
  return `${mpd.slice(0, lineStart)}${sets.join("\n")}\n${mpd.slice(lineStart)}`;
}

/** What a playlist names, as written: a master's media playlists, a media playlist's init segments and segments. */
export interface PlaylistEntries {
  playlists: string[];
  maps: string[];
  segments: string[];
}

/**
 * The URIs a playlist names, by role. Only what HLS ffmpeg writes is read: the URI line
 * after an EXT-X-STREAM-INF (a variant), URI attributes of EXT-X-MEDIA (a rendition) and
 * EXT-X-MAP (an init segment), and other URI lines (segments). Keys are not package files.
 * m3u8-parser reads the same, but the publisher also writes playlists, line by line.
 */
export function playlistEntries(playlist: string): PlaylistEntries {
  const entries: PlaylistEntries = { playlists: [], maps: [], segments: [] };
  let variantNext = false;
  for (const raw of playlist.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (!line.startsWith("#")) {
      (variantNext ? entries.playlists : entries.segments).push(line);
      variantNext = false;
      continue;
    }
    if (line.startsWith("#EXT-X-STREAM-INF:")) variantNext = true;
    const uri = /URI="([^"]*)"/.exec(line)?.[1];
    if (uri && line.startsWith("#EXT-X-MEDIA:")) entries.playlists.push(uri);
    if (uri && line.startsWith("#EXT-X-MAP:")) entries.maps.push(uri);
  }
  return entries;
}

/**
 * A playlist published while it grows starts players at its beginning: hls.js and
 * Safari otherwise join a playlist without ENDLIST near its live edge, and a viewer
 * who presses play a minute in would miss that minute.
 */
export function startAtBeginning(playlist: string): string {
  return addHeaderTag(playlist, "#EXT-X-START:TIME-OFFSET=0", "#EXT-X-START:");
}

/** A playlist ffmpeg wrote as EVENT for publishing while it ran, given the type it was asked to have. */
export function settlePlaylistType(playlist: string, playlistType: "vod" | "event"): string {
  return playlist.replace(/^#EXT-X-PLAYLIST-TYPE:.*$/m, `#EXT-X-PLAYLIST-TYPE:${playlistType.toUpperCase()}`);
}
