import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";

const BLOCK = 512;
/** A GNU long name or a pax header is a few hundred bytes; past this it is not one. */
const MAX_META_BYTES = 64 * 1024;

export interface TarMember {
  name: string;
  /** The header's type: 0 file, 5 directory, 1 hard link, 2 symbolic link, 3/4 devices, 6 FIFO, … */
  type: string;
  size: number;
}

const text = (block: Buffer, start: number, length: number) => {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString("utf8");
};

function octal(block: Buffer, start: number, length: number): number {
  // Base-256 sizes (the high bit set) are for members past 8 GiB: refused as unreadable.
  if ((block[start]! & 0x80) !== 0) return Number.NaN;
  const digits = text(block, start, length).trim();
  return digits === "" ? 0 : Number.parseInt(digits, 8);
}

/** The `path` of a pax extended header's records (`"<len> key=value\n"`), if it has one. */
function paxPath(data: Buffer): string | null {
  let path: string | null = null;
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number.parseInt(data.subarray(at, space).toString("ascii"), 10);
    if (space === -1 || !(length > 0)) break;
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (record.slice(0, eq) === "path") path = record.slice(eq + 1);
    at += length;
  }
  return path;
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * The members of a tar archive (gzip-compressed or not), read from its headers as a
 * stream: names as GNU long-name and pax headers give them, types as written. Throws on
 * what is not a tar archive.
 */
export async function tarMembers(file: string): Promise<TarMember[]> {
  const source = createReadStream(file);
  const stream = (await isGzip(file)) ? source.pipe(createGunzip()) : source;
  const members: TarMember[] = [];
  let pending: Buffer = Buffer.alloc(0);
  /** Bytes of member data still to pass over, and (for a name-carrying entry) to keep. */
  let skip = 0;
  let keep: { type: string; size: number; chunks: Buffer[] } | null = null;
  let nextName: string | null = null;
  let ended = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (!ended) {
      if (skip > 0) {
        const take = Math.min(skip, pending.length);
        if (keep) keep.chunks.push(pending.subarray(0, take));
        pending = pending.subarray(take);
        skip -= take;
        if (skip > 0) break;
        if (keep) {
          const data = Buffer.concat(keep.chunks).subarray(0, keep.size);
          nextName = keep.type === "L" ? text(data, 0, data.length) : (paxPath(data) ?? nextName);
          keep = null;
        }
        continue;
      }
      if (pending.length < BLOCK) break;
      const header = pending.subarray(0, BLOCK);
      pending = pending.subarray(BLOCK);
      if (header.every((b) => b === 0)) {
        ended = true;
        break;
      }
      const sum = header.reduce((acc, b, i) => acc + (i >= 148 && i < 156 ? 0x20 : b), 0);
      if (sum !== octal(header, 148, 8)) throw new Error("not a tar archive (a header's checksum is wrong)");
      const size = octal(header, 124, 12);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error("a member's size is unreadable");
      const type = String.fromCharCode(header[156]!) === "\0" ? "0" : String.fromCharCode(header[156]!);
      const prefix = header.subarray(257, 262).toString("ascii") === "ustar" ? text(header, 345, 155) : "";
      const name = nextName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
      skip = Math.ceil(size / BLOCK) * BLOCK;
      if (type === "L" || type === "x") {
        if (size > MAX_META_BYTES) throw new Error("a long-name header is too large");
        keep = { type, size, chunks: [] };
        continue;
      }
      nextName = null;
      // A global pax header describes the archive, not a member.
      if (type !== "g") members.push({ name, type: type === "7" ? "0" : type, size });
    }
  }
  if (skip > 0 || keep) throw new Error("the archive ends inside a member");
  return members;
}
