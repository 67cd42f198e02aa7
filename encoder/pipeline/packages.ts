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
import { type Cenc, addCmafKey, addContentProtection } from "../ffmpeg/drm";
import { CencError, encryptInitSegment, encryptMediaSegment, readTracks } from "../media/cenc";
import { PipelineError } from "../errors";

/**
 * Completes a stream package after ffmpeg: audio labels, the subtitle group (HLS) and
 * text adaptation sets (DASH) for the sidecar WebVTT files, and VOD markers on the HLS
 * playlists of an adaptive package; for CENC, the segments' encryption and its signalling
 * in the manifests. Files only; the edits themselves are pure (playlists.ts, drm.ts, media/cenc.ts).
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
