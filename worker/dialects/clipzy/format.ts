/**
 * The video containers Clipzy accepts (CZ-CODE app/core/constants.py), told from a
 * file's first bytes rather than its name, so a renamed text file is refused.
 */

export const clipzyFormats = ["mp4", "mov", "avi", "mkv", "webm"] as const;
export type ClipzyFormat = (typeof clipzyFormats)[number];

/** How many leading bytes sniffing reads: an EBML header with its DocType fits well within. */
export const SNIFF_BYTES = 64;

export const contentTypes: Record<ClipzyFormat, string> = {
  mp4: "video/mp4",
  mov: "video/quicktime",
  avi: "video/x-msvideo",
  mkv: "video/x-matroska",
  webm: "video/webm",
};

/** The format a stored content type stands for (the inverse of contentTypes), or null. */
export function formatOfContentType(contentType: string): ClipzyFormat | null {
  return clipzyFormats.find((format) => contentTypes[format] === contentType) ?? null;
}

const ascii = (bytes: Uint8Array, from: number, length: number) => String.fromCharCode(...bytes.subarray(from, from + length));

/** ISO-BMFF brands of still images (HEIF, AVIF): an `ftyp` box, but no video. */
const imageBrands = new Set(["heic", "heix", "heim", "heis", "mif1", "msf1", "avif", "avis"]);

/** QuickTime files written before `ftyp` existed start with one of these atoms. */
const quickTimeAtoms = new Set(["moov", "mdat", "wide", "free", "skip", "pnot"]);

/**
 * The EBML header's DocType (element 0x4282): "webm" or "matroska". Its size is an EBML
 * variable-length integer; a header naming no DocType is Matroska, the default.
 */
function ebmlDocType(bytes: Uint8Array): string {
  for (let i = 4; i + 3 < bytes.length; i++) {
    if (bytes[i] !== 0x42 || bytes[i + 1] !== 0x82) continue;
    const sizeByte = bytes[i + 2]!;
    if (sizeByte & 0x80) return ascii(bytes, i + 3, sizeByte & 0x7f).replace(/\0+$/, "");
  }
  return "matroska";
}

/**
 * Whether the first box's 32-bit size fits the file: a text that happens to spell an
 * atom name at bytes 4–8 has letters for a size, far past its end. 1 (a 64-bit size
 * follows) and 0 (to the end) are valid sizes.
 */
function plausibleBox(head: Uint8Array, fileSize: number): boolean {
  const size = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
  return size === 0 || size === 1 || (size >= 8 && size <= fileSize);
}

/** The container a file of `fileSize` bytes beginning with `head` is in, when it is one Clipzy takes; null for anything else. */
export function sniffFormat(head: Uint8Array, fileSize: number): ClipzyFormat | null {
  if (head.length >= 12 && ascii(head, 4, 4) === "ftyp" && plausibleBox(head, fileSize)) {
    const brand = ascii(head, 8, 4);
    if (brand === "qt  ") return "mov";
    return imageBrands.has(brand) ? null : "mp4";
  }
  if (head.length >= 8 && quickTimeAtoms.has(ascii(head, 4, 4)) && plausibleBox(head, fileSize)) return "mov";
  if (head.length >= 12 && ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 4) === "AVI ") return "avi";
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    const docType = ebmlDocType(head);
    return docType === "webm" ? "webm" : docType === "matroska" ? "mkv" : null;
  }
  return null;
}

/** The accepted format a file name ends with, or null. */
export function formatOfName(name: string): ClipzyFormat | null {
  const extension = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  return clipzyFormats.find((format) => format === extension) ?? null;
}
