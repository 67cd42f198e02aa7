import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { type Header, extract } from "tar-stream";

export interface TarMember {
  name: string;
  /** As tar-stream names a header's type: file, directory, symlink, link, character-device, … */
  type: NonNullable<Header["type"]>;
  size: number;
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
 * stream by tar-stream, which applies GNU long-name and pax headers to the member they
 * describe. Member data is passed over, never written. Throws on what is not a tar archive.
 */
export async function tarMembers(file: string): Promise<TarMember[]> {
  const members: TarMember[] = [];
  const reader = extract();
  const listing = (async () => {
    for await (const entry of reader) {
      const { name, type, size } = entry.header;
      members.push({ name, type: type ?? "file", size: size ?? 0 });
      entry.resume();
    }
  })();
  const source = createReadStream(file);
  await Promise.all([(await isGzip(file)) ? pipeline(source, createGunzip(), reader) : pipeline(source, reader), listing]);
  return members;
}
