/** Media types of the files people upload, by extension; the API wants one on every upload. */
const byExtension: Record<string, string> = {
  mp4: "video/mp4",
  m4v: "video/mp4",
  mov: "video/quicktime",
  mkv: "video/x-matroska",
  webm: "video/webm",
  avi: "video/x-msvideo",
  ts: "video/mp2t",
  mxf: "application/mxf",
  mpg: "video/mpeg",
  mpeg: "video/mpeg",
  m4a: "audio/mp4",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  flac: "audio/flac",
  aac: "audio/aac",
  ogg: "audio/ogg",
  opus: "audio/opus",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  avif: "image/avif",
};

/** The media type a file name suggests; application/octet-stream when it suggests none. */
export function mediaTypeFor(filename: string | undefined): string {
  const extension = filename?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  return (extension && byExtension[extension]) ?? "application/octet-stream";
}
