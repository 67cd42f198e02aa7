import { readFile, readdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { OutputSpec } from "../contract";
import {
  type SubtitleRendition,
  addDashTextSets,
  addSubtitleGroup,
  finishCmafMediaPlaylist,
  markIndependentSegments,
  nameAudioRenditions,
  subtitlePlaylist,
} from "../ffmpeg/playlists";
import type { OutputLayout } from "../ffmpeg/renditions";

/**
 * Completes a stream package after ffmpeg: audio labels, the subtitle group (HLS) and
 * text adaptation sets (DASH) for the sidecar WebVTT files, and VOD markers on the HLS
 * playlists of an adaptive package. Files only; the edits themselves are pure (playlists.ts).
 */
export async function finishPackage(
  layout: OutputLayout,
  spec: OutputSpec,
  dir: string,
  subtitles: { staging: string; renditions: SubtitleRendition[] },
  durationS: number,
): Promise<void> {
  if (layout.type !== "hls" && layout.type !== "dash" && layout.type !== "adaptive") return;
  const playlistType = spec.hls?.playlist_type ?? "vod";
  const root = path.join(dir, layout.root);
  if (subtitles.renditions.length > 0) await rename(path.join(dir, subtitles.staging), path.join(root, "subtitles"));
  const edit = async (file: string, change: (text: string) => string) => writeFile(file, change(await readFile(file, "utf8")));

  for (const track of subtitles.renditions) {
    if (layout.type !== "dash") await writeFile(path.join(root, track.playlist), subtitlePlaylist(path.basename(track.vtt), durationS, playlistType));
  }
  if (layout.type === "hls" || layout.type === "adaptive") {
    const labels = layout.audio.map((a) => a.spec.label ?? a.spec.language ?? a.name);
    await edit(path.join(dir, layout.main), (master) => {
      const named = nameAudioRenditions(master, labels);
      return layout.type === "adaptive" ? addSubtitleGroup(markIndependentSegments(named), subtitles.renditions) : addSubtitleGroup(named, subtitles.renditions);
    });
  }
  if (layout.type === "adaptive") {
    for (const name of await readdir(root)) {
      if (/^media_\d+\.m3u8$/.test(name)) await edit(path.join(root, name), (p) => finishCmafMediaPlaylist(p, playlistType));
    }
  }
  const manifest = layout.type === "dash" ? layout.main : layout.manifest;
  if (manifest) await edit(path.join(dir, manifest), (mpd) => addDashTextSets(mpd, subtitles.renditions));
}
