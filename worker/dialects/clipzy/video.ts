import type { UploadRow } from "../../uploads/store";
import { type ClipzyFormat, formatOfContentType, formatOfName } from "./format";

/**
 * An upload as Clipzy's video `data` (CZ-CODE app/schemas: the upload response):
 * `{video_id, filename, file_size_bytes, metadata, uploaded_at, storage_url}`. The
 * metadata is what the encoder's ffprobe measured, each field null until the probe has
 * answered (or when it found no video in the file), never a stand-in value.
 */

export interface VideoMetadata {
  width: number | null;
  height: number | null;
  duration_seconds: number | null;
  frame_rate: number | null;
  codec: string | null;
  bitrate_kbps: number | null;
  format: ClipzyFormat | null;
}

/** The container: the one sniffed at a Clipzy upload (kept as its content type), else the one its name says. */
function formatOf(row: UploadRow): ClipzyFormat | null {
  return formatOfContentType(row.contentType) ?? (row.filename === null ? null : formatOfName(row.filename));
}

/** The probe's facts, width and height as displayed (a rotated phone video's turned). */
export function videoMetadata(row: UploadRow): VideoMetadata {
  const probed = row.probeStatus === "completed" ? row.probeMetadata : null;
  const turned = probed !== null && Math.abs(probed.rotation) % 180 === 90;
  return {
    width: (turned ? probed.height : probed?.width) ?? null,
    height: (turned ? probed.width : probed?.height) ?? null,
    duration_seconds: probed ? probed.duration_ms / 1000 : null,
    frame_rate: probed?.framerate ?? null,
    codec: probed?.codec ?? null,
    bitrate_kbps: probed?.bitrate_kbps ?? null,
    format: formatOf(row),
  };
}

export function clipzyVideo(row: UploadRow, storageUrl: string) {
  return {
    video_id: row.id,
    filename: row.filename,
    file_size_bytes: row.sizeBytes,
    metadata: videoMetadata(row),
    uploaded_at: row.completedAt ?? row.createdAt,
    storage_url: storageUrl,
  };
}
export type ClipzyVideo = ReturnType<typeof clipzyVideo>;
