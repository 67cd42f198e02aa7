/**
 * Files for Clipzy's upload tests: each container's real opening structure as ffmpeg
 * writes it (ISO-BMFF `ftyp`, RIFF/AVI, an EBML header with its DocType), followed by
 * filler. The Worker tells a format from these bytes alone; what the media holds is the
 * encoder's to measure, and in Worker tests the encoder double answers the probe (the
 * e2e suite uploads real clips to the real encoder).
 */

const ascii = (text: string) => Array.from(text, (ch) => ch.charCodeAt(0));
const u32be = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32le = (n: number) => u32be(n).reverse();

/** `head` then deterministic filler up to `size` bytes. */
function file(head: number[], size: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(size, head.length));
  bytes.set(head);
  for (let i = head.length; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

const ftyp = (major: string, compatible: string[]) => {
  const body = [...ascii(major), ...u32be(0x200), ...compatible.flatMap(ascii)];
  return [...u32be(8 + body.length), ...ascii("ftyp"), ...body];
};

/** EBML header: version 1, read version 1, max id length 4, max size length 8, the DocType, its versions. */
const ebml = (docType: string) => {
  const elements = [
    [0x42, 0x86, 0x81, 0x01],
    [0x42, 0xf7, 0x81, 0x01],
    [0x42, 0xf2, 0x81, 0x04],
    [0x42, 0xf3, 0x81, 0x08],
    [0x42, 0x82, 0x80 | docType.length, ...ascii(docType)],
    [0x42, 0x87, 0x81, 0x04],
    [0x42, 0x85, 0x81, 0x02],
  ].flat();
  return [0x1a, 0x45, 0xdf, 0xa3, 0x80 | elements.length, ...elements];
};

export const media = {
  mp4: (size = 2048) => file(ftyp("isom", ["isom", "iso2", "avc1", "mp41"]), size),
  mov: (size = 2048) => file(ftyp("qt  ", ["qt  "]), size),
  avi: (size = 2048) => file([...ascii("RIFF"), ...u32le(size - 8), ...ascii("AVI "), ...ascii("LIST"), ...u32le(192), ...ascii("hdrl")], size),
  mkv: (size = 2048) => file(ebml("matroska"), size),
  webm: (size = 2048) => file(ebml("webm"), size),
  /** A QuickTime file from before `ftyp`: a `wide` atom, then `mdat`. */
  oldQuickTime: (size = 2048) => file([...u32be(8), ...ascii("wide"), ...u32be(size - 8), ...ascii("mdat")], size),
  /** A HEIF still: an ISO-BMFF `ftyp`, but an image brand. */
  heic: (size = 512) => file(ftyp("heic", ["mif1", "heic"]), size),
  /** A PNG image: a media file, but no video. */
  png: (size = 256) => file([0x89, ...ascii("PNG\r\n"), 0x1a, 0x0a, ...u32be(13), ...ascii("IHDR")], size),
  text: (text = "This is not a video, whatever its name says.\n") => new TextEncoder().encode(text),
};
