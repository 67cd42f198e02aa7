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
  settlePlaylistType,
  subtitlePlaylist,
} from "../ffmpeg/playlists";
import type { OutputLayout } from "../ffmpeg/renditions";
import { type Cenc, addCmafKey, addContentProtection } from "../ffmpeg/drm";
import { CencError, encryptInitSegment, encryptMediaSegment, readTracks } from "../media/cenc";
import { PipelineError } from "../errors";

/**
 * The master playlist as the package shows it: audio labels, the independent-segments
 * marker of an adaptive package, and the subtitle group. A package published while it
 * grows shows it without subtitles until the run is over (their playlists are written after it).
 */
export function editMaster(layout: OutputLayout, master: string, subtitles: SubtitleRendition[]): string {
  const named = nameAudioRenditions(master, layout.audio.map((a) => a.spec.label ?? a.spec.language ?? a.name));
  return addSubtitleGroup(layout.type === "adaptive" ? markIndependentSegments(named) : named, subtitles);
}

/** Gives the media playlists under `root` (all but `main`) the type asked for, once ffmpeg wrote them as EVENT ones to publish them as they grew. */
export async function settleMediaPlaylists(dir: string, root: string, main: string, playlistType: "vod" | "event"): Promise<void> {
  const entries = await readdir(path.join(dir, root), { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    const file = path.join(entry.parentPath, entry.name);
    if (!entry.isFile() || !entry.name.endsWith(".m3u8") || file === path.join(dir, main)) continue;
    await writeFile(file, settlePlaylistType(await readFile(file, "utf8"), playlistType));
  }
}

/**
 * Completes a stream package after ffmpeg: audio labels, the subtitle group (HLS) and
 * text adaptation sets (DASH) for the sidecar WebVTT files, and VOD markers on the HLS
 * playlists of an adaptive package (or of an hls one written as EVENT to be published
 * as it grew); for CENC, the segments' encryption and its signalling in the manifests.
 * Files only; the edits themselves are pure (playlists.ts, drm.ts, media/cenc.ts).
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
  if (layout.type === "hls" || layout.type === "adaptive") await edit(path.join(dir, layout.main), (master) => editMaster(layout, master, subtitles.renditions));
  if (layout.type === "hls" && layout.progressive) await settleMediaPlaylists(dir, layout.root, layout.main, playlistType);
  const cenc = spec.drm?.scheme === "cenc" ? spec.drm : null;
  if (cenc) await encryptSegments(root, cenc);
  if (layout.type === "adaptive") {
    for (const name of await readdir(root)) {
      if (/^media_\d+\.m3u8$/.test(name)) await edit(path.join(root, name), (p) => {
        const finished = finishCmafMediaPlaylist(p, playlistType);
        return cenc ? addCmafKey(finished, cenc) : finished;
      });
    }
  }
  const manifest = layout.type === "dash" ? layout.main : layout.manifest;
  if (manifest) await edit(path.join(dir, manifest), (mpd) => addDashTextSets(cenc ? addContentProtection(mpd, cenc) : mpd, subtitles.renditions));
}

/** CENC over the dash muxer's clear `init_<rep>.mp4` and `seg_<rep>_<n>.m4s` files, in place. */
async function encryptSegments(root: string, drm: Cenc): Promise<void> {
  const key = Buffer.from(drm.key, "hex");
  const keyId = Buffer.from(drm.key_id, "hex");
  const names = await readdir(root);
  try {
    for (const init of names.filter((n) => /^init_\d+\.mp4$/.test(n))) {
      const rep = init.slice("init_".length, -".mp4".length);
      const clear = await readFile(path.join(root, init));
      const tracks = readTracks(clear);
      for (const segment of names.filter((n) => n.startsWith(`seg_${rep}_`) && n.endsWith(".m4s"))) {
        const file = path.join(root, segment);
        await writeFile(file, encryptMediaSegment(await readFile(file), key, tracks));
      }
      await writeFile(path.join(root, init), encryptInitSegment(clear, keyId));
    }
  } catch (err) {
    // The packager's messages name boxes, never key material.
    if (err instanceof CencError) throw new PipelineError("encode_failed", `cenc packaging failed: ${err.message}`);
    throw err;
  }
}
