import { createCipheriv, randomBytes } from "node:crypto";

/**
 * Common Encryption (ISO/IEC 23001-7, scheme `cenc`: AES-128-CTR) of fragmented MP4,
 * applied to the clear init and media segments the dash muxer writes. ffmpeg 5.1's mov
 * muxer encrypts samples but writes the sample auxiliary information (senc/saiz/saio)
 * only into the moov, never into fragments, so its fragmented output cannot be
 * decrypted; this module does the packaging instead. Pure: bytes in, bytes out.
 *
 * - Init segment: each track's sample entry becomes `encv`/`enca` with a `sinf`
 *   (frma, schm cenc 1.0, tenc with the key id and 8-byte per-sample IVs), and the moov
 *   gets a ClearKey `pssh` naming the key id.
 * - Media segment: every sample of every fragment is encrypted in place (mdat keeps its
 *   size); each traf gains saiz, saio and senc (a random IV per sample), and the trun
 *   data offsets and the sidx reference sizes grow by what the moof grew.
 * - H.264/H.265 samples are encrypted per NAL unit (subsamples): the length prefix and
 *   NAL header stay clear, the rest is protected in whole 16-byte blocks; parameter-set
 *   and SEI NAL units stay clear. Audio samples are encrypted whole.
 */

export const CLEARKEY_SYSTEM_ID = "1077efecc0b24d02ace33c1e52e2fb4b";
const IV_SIZE = 8;

export class CencError extends Error {}

interface Box {
  type: string;
  start: number;
  /** Where the payload begins (after size and type). */
  body: number;
  end: number;
}

function boxes(buf: Buffer, start = 0, end = buf.length): Box[] {
  const out: Box[] = [];
  for (let at = start; at < end; ) {
    if (at + 8 > end) throw new CencError("truncated box header");
    let size = buf.readUInt32BE(at);
    let body = at + 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      body = at + 16;
    } else if (size === 0) size = end - at;
    if (size < body - at || at + size > end) throw new CencError("box runs past its parent");
    out.push({ type: buf.toString("latin1", at + 4, at + 8), start: at, body, end: at + size });
    at += size;
  }
  return out;
}

const child = (buf: Buffer, parent: Box, type: string, offset = 0) => boxes(buf, parent.body + offset, parent.end).find((b) => b.type === type);
function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new CencError(`no ${what}`);
  return value;
}

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, "latin1");
  return Buffer.concat([head, body]);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version << 24) | flags) >>> 0);
  return box(type, vf, ...payload);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** A box with some children replaced or appended, its size fixed (and every ancestor's, by the caller's recursion). */
function rebuild(buf: Buffer, parent: Box, headerExtra: number, children: Buffer[]): Buffer {
  const head = Buffer.from(buf.subarray(parent.start, parent.body + headerExtra));
  if (parent.body - parent.start !== 8) throw new CencError(`64-bit ${parent.type} boxes are not supported`);
  const total = head.length + children.reduce((n, c) => n + c.length, 0);
  head.writeUInt32BE(total, 0);
  return Buffer.concat([head, ...children]);
}

const SAMPLE_ENTRY_HEADER: Record<string, number> = { vide: 78, soun: 28 };

/** The init segment with every track marked as protected under `keyId`. */
export function encryptInitSegment(init: Buffer, keyId: Buffer): Buffer {
  const top = boxes(init);
  const moov = need(top.find((b) => b.type === "moov"), "moov");
  const moovChildren = boxes(init, moov.body, moov.end).map((b) => (b.type === "trak" ? protectTrak(init, b, keyId) : init.subarray(b.start, b.end)));
  const pssh = fullBox("pssh", 1, 0, Buffer.from(CLEARKEY_SYSTEM_ID, "hex"), u32(1), keyId, u32(0));
  const newMoov = rebuild(init, moov, 0, [...moovChildren, pssh]);
  return Buffer.concat(top.map((b) => (b === moov ? newMoov : init.subarray(b.start, b.end))));
}

function protectTrak(buf: Buffer, trak: Box, keyId: Buffer): Buffer {
  const mdia = need(child(buf, trak, "mdia"), "mdia");
  const hdlr = need(child(buf, mdia, "hdlr"), "hdlr");
  const handler = buf.toString("latin1", hdlr.body + 8, hdlr.body + 12);
  const headerSize = SAMPLE_ENTRY_HEADER[handler];
  if (headerSize === undefined) throw new CencError(`cannot protect a ${handler} track`);
  const path = ["mdia", "minf", "stbl", "stsd"];
  const walk = (parent: Box, depth: number): Buffer => {
    const extra = depth === path.length ? 8 : 0; // stsd: version/flags and entry count
    const kids = boxes(buf, parent.body + extra, parent.end).map((b) => {
      if (depth < path.length && b.type === path[depth]) return walk(b, depth + 1);
      if (depth === path.length) return protectSampleEntry(buf, b, handler === "vide" ? "encv" : "enca", headerSize, keyId);
      return buf.subarray(b.start, b.end);
    });
    return rebuild(buf, parent, extra, kids);
  };
  return walk(trak, 0);
}

function protectSampleEntry(buf: Buffer, entry: Box, protectedType: string, headerSize: number, keyId: Buffer): Buffer {
  const original = entry.type;
  const tenc = fullBox("tenc", 0, 0, Buffer.from([0, 0, 1, IV_SIZE]), keyId);
  const sinf = box("sinf", box("frma", Buffer.from(original, "latin1")), fullBox("schm", 0, 0, Buffer.from("cenc", "latin1"), u32(0x10000)), box("schi", tenc));
  const rebuilt = rebuild(buf, entry, headerSize, [...boxes(buf, entry.body + headerSize, entry.end).map((b) => buf.subarray(b.start, b.end)), sinf]);
  rebuilt.write(protectedType, 4, "latin1");
  return rebuilt;
}

/** What encrypting a track's samples needs from the init segment. */
export interface TrackProtection {
  /** NAL length prefix size for H.264/H.265 (subsample encryption); null encrypts samples whole. */
  nalLengthSize: number | null;
  /** 1 for H.264 NAL headers, 2 for H.265. */
  nalHeaderSize: number;
  codec: "avc" | "hevc" | "other";
}

/** The tracks of a clear init segment, by track id. */
export function readTracks(init: Buffer): Map<number, TrackProtection> {
  const tracks = new Map<number, TrackProtection>();
  const moov = need(boxes(init).find((b) => b.type === "moov"), "moov");
  for (const trak of boxes(init, moov.body, moov.end).filter((b) => b.type === "trak")) {
    const tkhd = need(child(init, trak, "tkhd"), "tkhd");
    const trackId = init.readUInt32BE(tkhd.body + (init[tkhd.body] === 1 ? 20 : 12));
    const stsd = need(
      ["mdia", "minf", "stbl", "stsd"].reduce<Box | undefined>((b, type) => b && child(init, b, type), trak),
      "stsd",
    );
    const entry = need(boxes(init, stsd.body + 8, stsd.end)[0], "sample entry");
    const config = (type: string) => boxes(init, entry.body + SAMPLE_ENTRY_HEADER.vide!, entry.end).find((b) => b.type === type);
    let protection: TrackProtection = { nalLengthSize: null, nalHeaderSize: 0, codec: "other" };
    if (entry.type === "avc1" || entry.type === "avc3") {
      const avcC = need(config("avcC"), "avcC");
      protection = { nalLengthSize: (init[avcC.body + 4]! & 3) + 1, nalHeaderSize: 1, codec: "avc" };
    } else if (entry.type === "hvc1" || entry.type === "hev1") {
      const hvcC = need(config("hvcC"), "hvcC");
      protection = { nalLengthSize: (init[hvcC.body + 21]! & 3) + 1, nalHeaderSize: 2, codec: "hevc" };
    } else if (["vp09", "av01"].includes(entry.type)) {
      throw new CencError(`${entry.type} tracks are not supported for cenc`);
    }
    tracks.set(trackId, protection);
  }
  return tracks;
}

interface Subsample {
  clear: number;
  protected: number;
}

/** Video coding layer NAL units are the picture data; the rest (SPS, PPS, SEI…) stays clear. */
function isVcl(sample: Buffer, at: number, track: TrackProtection): boolean {
  if (track.codec === "avc") return (sample[at]! & 0x1f) >= 1 && (sample[at]! & 0x1f) <= 5;
  return ((sample[at]! >> 1) & 0x3f) <= 31;
}

function subsamples(sample: Buffer, track: TrackProtection): Subsample[] {
  const lengthSize = track.nalLengthSize!;
  const out: Subsample[] = [];
  let clear = 0;
  for (let at = 0; at < sample.length; ) {
    if (at + lengthSize > sample.length) throw new CencError("truncated NAL length");
    const nal = sample.readUIntBE(at, lengthSize);
    if (at + lengthSize + nal > sample.length) throw new CencError("NAL unit runs past its sample");
    const body = nal - track.nalHeaderSize;
    const protectedBytes = body > 0 && isVcl(sample, at + lengthSize, track) ? body - (body % 16) : 0;
    clear += lengthSize + nal - protectedBytes;
    if (protectedBytes > 0) {
      for (; clear > 0xffff; clear -= 0xffff) out.push({ clear: 0xffff, protected: 0 });
      out.push({ clear, protected: protectedBytes });
      clear = 0;
    }
    at += lengthSize + nal;
  }
  for (; clear > 0; clear -= Math.min(clear, 0xffff)) out.push({ clear: Math.min(clear, 0xffff), protected: 0 });
  return out;
}

/** Encrypts one sample in place; returns its subsample map (null when encrypted whole). */
function encryptSample(sample: Buffer, key: Buffer, iv: Buffer, track: TrackProtection): Subsample[] | null {
  const cipher = createCipheriv("aes-128-ctr", key, Buffer.concat([iv, Buffer.alloc(16 - IV_SIZE)]));
  if (track.nalLengthSize === null) {
    cipher.update(sample).copy(sample);
    return null;
  }
  const map = subsamples(sample, track);
  let at = 0;
  // One counter runs through all protected ranges of a sample.
  for (const s of map) {
    at += s.clear;
    cipher.update(sample.subarray(at, at + s.protected)).copy(sample, at);
    at += s.protected;
  }
  return map;
}

/** A media segment with every fragment's samples encrypted and described. */
export function encryptMediaSegment(segment: Buffer, key: Buffer, tracks: Map<number, TrackProtection>): Buffer {
  const out = Buffer.from(segment);
  const top = boxes(out);
  const grown: number[] = [];
  const parts: Buffer[] = [];
  for (const b of top) {
    if (b.type !== "moof") {
      parts.push(out.subarray(b.start, b.end));
      continue;
    }
    const moof = encryptFragment(out, b, key, tracks);
    grown.push(moof.length - (b.end - b.start));
    parts.push(moof);
  }
  const sidxIndex = top.findIndex((b) => b.type === "sidx");
  if (sidxIndex >= 0) parts[sidxIndex] = growSidx(out, top[sidxIndex]!, grown);
  return Buffer.concat(parts);
}

function encryptFragment(buf: Buffer, moof: Box, key: Buffer, tracks: Map<number, TrackProtection>): Buffer {
  const kids = boxes(buf, moof.body, moof.end);
  const trafs = kids.filter((b) => b.type === "traf");
  const extras = trafs.map((traf) => sampleInfo(buf, moof, traf, key, tracks));
  const growth = extras.reduce((n, e) => n + e.size, 0);
  const parts: Buffer[] = [];
  let offset = 8; // within the new moof
  for (const b of kids) {
    const i = trafs.indexOf(b);
    if (i < 0) {
      parts.push(buf.subarray(b.start, b.end));
      offset += b.end - b.start;
      continue;
    }
    const traf = rebuildTraf(buf, b, extras[i]!, growth, offset);
    parts.push(traf);
    offset += traf.length;
  }
  return rebuild(buf, moof, 0, parts);
}

interface SampleInfo {
  /** Bytes the traf grows by (saiz + saio + senc). */
  size: number;
  saiz: Buffer;
  senc: Buffer;
}

function sampleInfo(buf: Buffer, moof: Box, traf: Box, key: Buffer, tracks: Map<number, TrackProtection>): SampleInfo {
  const tfhd = need(child(buf, traf, "tfhd"), "tfhd");
  const tfhdFlags = buf.readUInt32BE(tfhd.body) & 0xffffff;
  const trackId = buf.readUInt32BE(tfhd.body + 4);
  const track = need(tracks.get(trackId), `track ${trackId} in the init segment`);
  if (tfhdFlags & 0x1) throw new CencError("fragments with an explicit base data offset are not supported");
  let at = tfhd.body + 8;
  if (tfhdFlags & 0x2) at += 4;
  if (tfhdFlags & 0x8) at += 4;
  const defaultSize = tfhdFlags & 0x10 ? buf.readUInt32BE(at) : null;
  const infos: { iv: Buffer; map: Subsample[] | null }[] = [];
  for (const trun of boxes(buf, traf.body, traf.end).filter((b) => b.type === "trun")) {
    const flags = buf.readUInt32BE(trun.body) & 0xffffff;
    const count = buf.readUInt32BE(trun.body + 4);
    let p = trun.body + 8;
    if (!(flags & 0x1)) throw new CencError("trun without a data offset");
    let data = moof.start + buf.readInt32BE(p);
    p += 4;
    if (flags & 0x4) p += 4;
    for (let n = 0; n < count; n++) {
      if (flags & 0x100) p += 4;
      const size = flags & 0x200 ? buf.readUInt32BE(p) : defaultSize;
      if (flags & 0x200) p += 4;
      if (flags & 0x400) p += 4;
      if (flags & 0x800) p += 4;
      if (size === null) throw new CencError("sample sizes are unknown");
      const iv = randomBytes(IV_SIZE);
      infos.push({ iv, map: encryptSample(buf.subarray(data, data + size), key, iv, track) });
      data += size;
    }
  }
  const sizes = infos.map((i) => IV_SIZE + (i.map ? 2 + 6 * i.map.length : 0));
  if (sizes.some((s) => s > 255)) throw new CencError("a sample has too many subsamples");
  const uniform = sizes.every((s) => s === sizes[0]);
  const saiz = fullBox("saiz", 0, 0, Buffer.from([uniform ? (sizes[0] ?? 0) : 0]), u32(infos.length), uniform ? Buffer.alloc(0) : Buffer.from(sizes));
  const subsampled = track.nalLengthSize !== null;
  const entries = infos.map(({ iv, map }) => {
    if (!map) return iv;
    const table = Buffer.alloc(2 + 6 * map.length);
    table.writeUInt16BE(map.length);
    map.forEach((s, i) => {
      table.writeUInt16BE(s.clear, 2 + 6 * i);
      table.writeUInt32BE(s.protected, 4 + 6 * i);
    });
    return Buffer.concat([iv, table]);
  });
  const senc = fullBox("senc", 0, subsampled ? 0x2 : 0, u32(infos.length), ...entries);
  return { size: saiz.length + SAIO_SIZE + senc.length, saiz, senc };
}

const SAIO_SIZE = 20;

/** The traf with its trun data offsets moved past the moof's growth, then saiz, saio and senc. */
function rebuildTraf(buf: Buffer, traf: Box, info: SampleInfo, growth: number, trafOffset: number): Buffer {
  const kids = boxes(buf, traf.body, traf.end).map((b) => {
    const copy = Buffer.from(buf.subarray(b.start, b.end));
    if (b.type === "trun") copy.writeInt32BE(copy.readInt32BE(16) + growth, 16);
    return copy;
  });
  const before = 8 + kids.reduce((n, k) => n + k.length, 0) + info.saiz.length + SAIO_SIZE;
  // saio points at the first IV: senc header (8), version/flags (4), sample count (4).
  const saio = fullBox("saio", 0, 0, u32(1), u32(trafOffset + before + 16));
  return rebuild(buf, traf, 0, [...kids, info.saiz, saio, info.senc]);
}

function growSidx(buf: Buffer, sidx: Box, grown: number[]): Buffer {
  const copy = Buffer.from(buf.subarray(sidx.start, sidx.end));
  const version = copy[8]!;
  const countAt = 8 + 4 + 8 + (version === 0 ? 8 : 16) + 2;
  const count = copy.readUInt16BE(countAt);
  if (count !== grown.length) throw new CencError(`sidx has ${count} references for ${grown.length} fragments`);
  for (let i = 0; i < count; i++) {
    const at = countAt + 2 + 12 * i;
    const word = copy.readUInt32BE(at);
    copy.writeUInt32BE(((word & 0x80000000) | ((word & 0x7fffffff) + grown[i]!)) >>> 0, at);
  }
  return copy;
}
