/** Media types by file extension, for objects stored without a specific Content-Type. */
export const contentTypes: Readonly<Record<string, string>> = {
  mp4: "video/mp4",
  m4v: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  mkv: "video/x-matroska",
  m3u8: "application/vnd.apple.mpegurl",
  mpd: "application/dash+xml",
  m4s: "video/iso.segment",
  ts: "video/mp2t",
  vtt: "text/vtt",
  srt: "application/x-subrip",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  avif: "image/avif",
  gif: "image/gif",
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  aac: "audio/aac",
  ogg: "audio/ogg",
  // RFC 7845: Ogg Opus files are audio/ogg (audio/opus is the RTP payload type).
  opus: "audio/ogg",
  wav: "audio/wav",
  flac: "audio/flac",
  json: "application/json",
};

export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** The media type for a key's extension (case-insensitive), or application/octet-stream. */
export function contentTypeFor(key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return DEFAULT_CONTENT_TYPE;
  return contentTypes[name.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}
