import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { indexComesFirst } from "../../encoder/media/mp4-layout";
import { streamingLayout } from "../../encoder/media/streaming-layout";
import { clipPath } from "./clips";

const dir = mkdtempSync(path.join(os.tmpdir(), "kiln-mp4-layout-"));
/** The clip remuxed into `name` with extra ffmpeg flags; returns its first 64 KiB. */
function headOf(name: string, ...flags: string[]): Buffer {
  const file = path.join(dir, name);
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", clipPath("landscape"), "-c", "copy", ...flags, file]);
  return readFileSync(file).subarray(0, 64 * 1024);
}
const box = (type: string, size: number, body = 0) => {
  const b = Buffer.alloc(8 + body);
  b.writeUInt32BE(size, 0);
  b.write(type, 4, "latin1");
  return b;
};

describe("indexComesFirst", () => {
  it("is true for a faststart mp4 and mov, false for the index at the end", () => {
    expect(indexComesFirst(headOf("fast.mp4", "-movflags", "+faststart"))).toBe(true);
    expect(indexComesFirst(headOf("fast.mov", "-movflags", "+faststart"))).toBe(true);
    expect(indexComesFirst(headOf("plain.mp4"))).toBe(false);
  });

  it("is false for other containers and for bytes that are not boxes", () => {
    expect(indexComesFirst(headOf("clip.mkv"))).toBe(false);
    expect(indexComesFirst(headOf("clip.ts"))).toBe(false);
    expect(indexComesFirst(Buffer.from("this is not a video, just text that goes on"))).toBe(false);
  });

  it("walks 64-bit sizes and stops at a box that runs to the end of the file", () => {
    const large = Buffer.alloc(24);
    large.writeUInt32BE(1, 0);
    large.write("free", 4, "latin1");
    large.writeBigUInt64BE(24n, 8);
    expect(indexComesFirst(Buffer.concat([box("ftyp", 16, 8), large, box("moov", 8)]))).toBe(true);
    expect(indexComesFirst(Buffer.concat([box("ftyp", 16, 8), box("free", 0), box("moov", 8)]))).toBe(false);
  });

  it("is false when the head ends before the index or media data is reached", () => {
    expect(indexComesFirst(Buffer.concat([box("ftyp", 16, 8), box("free", 4096)]))).toBe(false);
    expect(indexComesFirst(box("ftyp", 16, 8).subarray(0, 6))).toBe(false);
    expect(indexComesFirst(Buffer.alloc(0))).toBe(false);
  });
});

describe("streamingLayout", () => {
  it("tells a faststart MP4, an MPEG-TS (188 and 192-byte packets), Matroska and WebM apart", () => {
    expect(streamingLayout(headOf("s-fast.mp4", "-movflags", "+faststart"))).toBe("mp4");
    expect(streamingLayout(headOf("s-clip.ts"))).toBe("mpegts");
    expect(streamingLayout(headOf("s-clip.m2ts", "-f", "mpegts", "-mpegts_m2ts_mode", "1"))).toBe("mpegts");
    expect(streamingLayout(headOf("s-clip.mkv"))).toBe("matroska");
    expect(streamingLayout(headOf("s-clip.webm", "-c:v", "libvpx-vp9", "-b:v", "100k", "-c:a", "libopus", "-t", "0.5"))).toBe("matroska");
  });

  it("is null for an MP4 indexed at its end and for bytes that only start like a stream", () => {
    expect(streamingLayout(headOf("s-plain.mp4"))).toBeNull();
    // One sync byte where a packet would start is not three.
    expect(streamingLayout(Buffer.concat([Buffer.from([0x47]), Buffer.alloc(400)]))).toBeNull();
    expect(streamingLayout(Buffer.from([0x1a, 0x45, 0xdf]))).toBeNull();
    expect(streamingLayout(Buffer.alloc(0))).toBeNull();
  });
});
