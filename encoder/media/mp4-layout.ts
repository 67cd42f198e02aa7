import { open } from "node:fs/promises";

/** How many of a file's first bytes the layout is decided from. */
export const LAYOUT_HEAD_BYTES = 64 * 1024;

/**
 * Whether an MP4/QuickTime file can be read while it is still arriving: its index
 * (`moov`) comes before its media data (`mdat`), as in a "faststart" file. Decided
 * from the first bytes alone by walking the top-level boxes (32-bit size and type,
 * a 64-bit size when the 32-bit one is 1). Anything else, or not enough bytes to
 * tell, is "no": the caller then waits for the whole file.
 */
export function indexComesFirst(head: Uint8Array): boolean {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let offset = 0;
  while (offset + 8 <= head.length) {
    const type = String.fromCharCode(...head.subarray(offset + 4, offset + 8));
    if (!/^[\x20-\x7e]{4}$/.test(type)) return false;
    if (type === "moov") return true;
    if (type === "mdat") return false;
    const size32 = view.getUint32(offset);
    let size: number;
    if (size32 === 1) {
      if (offset + 16 > head.length) return false;
      size = Number(view.getBigUint64(offset + 8));
    } else {
      // 0 means "to the end of the file": nothing can follow it.
      if (size32 < 8) return false;
      size = size32;
    }
    offset += size;
  }
  return false;
}

/** indexComesFirst of a complete file on disk. */
export async function fileIndexComesFirst(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const head = Buffer.alloc(LAYOUT_HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return indexComesFirst(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
