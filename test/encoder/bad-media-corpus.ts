import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { deflateSync } from "node:zlib";

/**
 * The bad media corpus: every file is made here, by ffmpeg from lavfi sources and by
 * byte surgery in Node on what it made, so nothing is committed and each defect is the
 * only thing wrong with its file.
 */

export type JobKind = "video" | "audio" | "image" | "outputs" | "style";

export interface BadMedia {
  name: string;
  /** What is wrong with it, for the report. */
  what: string;
  file: string;
  /** The job kinds it is run through, each with the one code the job must fail with. */
  expect: Partial<Record<JobKind, string>>;
}

function ffmpeg(args: string[]): void {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);
}

/** Top-level (or, inside `within`, child) ISO BMFF boxes: type and [start, end) offsets. */
export function boxes(buf: Buffer, from = 0, to = buf.length): { type: string; start: number; end: number }[] {
  const out: { type: string; start: number; end: number }[] = [];
  for (let at = from; at + 8 <= to; ) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString("latin1", at + 4, at + 8);
    if (size === 1) size = Number(buf.readBigUInt64BE(at + 8));
    if (size === 0) size = to - at;
    if (size < 8) break;
    out.push({ type, start: at, end: at + size });
    at += size;
  }
  return out;
}

/** The first box of `type` found by descending through `path` (e.g. moov/trak/mdia/mdhd). */
function findBox(buf: Buffer, boxPath: string[], from = 0, to = buf.length): { start: number; end: number } {
  const [head, ...rest] = boxPath;
  for (const b of boxes(buf, from, to)) {
    if (b.type !== head) continue;
    if (rest.length === 0) return b;
    // Full boxes with children after their header (stsd, meta) are not on the paths used here.
    try {
      return findBox(buf, rest, b.start + 8, b.end);
    } catch {
      // another sibling of this type may hold the rest of the path
    }
  }
  throw new Error(`no box ${boxPath.join("/")}`);
}

/** The video track's box under moov (the one whose hdlr says vide). */
function videoTrak(buf: Buffer): { start: number; end: number } {
  const moov = findBox(buf, ["moov"]);
  for (const b of boxes(buf, moov.start + 8, moov.end)) {
    if (b.type !== "trak") continue;
    const hdlr = findBox(buf, ["mdia", "hdlr"], b.start + 8, b.end);
    if (buf.toString("latin1", hdlr.start + 16, hdlr.start + 20) === "vide") return b;
  }
  throw new Error("no video trak");
}

// ---------------------------------------------------------------------------------------
// H.264 SPS surgery: the picture size is two Exp-Golomb numbers deep in the bitstream.

class Bits {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}
  bit(): number {
    const b = (this.bytes[this.pos >> 3]! >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) zeros++;
    let v = 0;
    for (let i = 0; i < zeros; i++) v = (v << 1) | this.bit();
    return (1 << zeros) - 1 + v;
  }
}

class BitWriter {
  bits: number[] = [];
  put(bit: number): void {
    this.bits.push(bit);
  }
  ue(v: number): void {
    const code = (v + 1).toString(2);
    for (let i = 1; i < code.length; i++) this.put(0);
    for (const c of code) this.put(Number(c));
  }
  bytes(): Buffer {
    const out = Buffer.alloc(Math.ceil(this.bits.length / 8));
    this.bits.forEach((b, i) => (out[i >> 3]! |= b << (7 - (i & 7))));
    return out;
  }
}

function unescapeRbsp(nal: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Buffer.from(out);
}

function escapeRbsp(rbsp: Buffer): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

/** A baseline SPS (no chroma or scaling fields) with its picture size set to `mbsW`×`mbsH` macroblocks. */
function resizeSps(nal: Buffer, mbsW: number, mbsH: number): Buffer {
  const rbsp = unescapeRbsp(nal.subarray(1));
  if (rbsp[0] !== 66) throw new Error(`expected a baseline SPS, got profile ${rbsp[0]}`);
  const r = new Bits(rbsp);
  const w = new BitWriter();
  const copy = (n: number) => {
    for (let i = 0; i < n; i++) w.put(r.bit());
  };
  const copyUe = () => w.ue(r.ue());
  copy(24); // profile, constraints, level
  copyUe(); // sps id
  copyUe(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  w.ue(pocType);
  if (pocType === 0) copyUe();
  else if (pocType === 1) throw new Error("poc type 1 not handled");
  copyUe(); // max_num_ref_frames
  copy(1); // gaps_in_frame_num_allowed
  r.ue();
  r.ue();
  w.ue(mbsW - 1);
  w.ue(mbsH - 1);
  // The rest (frame_mbs_only, direct_8x8, cropping, VUI, trailing bits) as it was.
  while (r.pos < rbsp.length * 8) w.put(r.bit());
  return Buffer.concat([nal.subarray(0, 1), escapeRbsp(w.bytes())]);
}

/** Annex B NAL units (without start codes). */
function nalUnits(stream: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = 0; i + 3 <= stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : stream.length;
    while (end > s && stream[end - 1] === 0) end--;
    return stream.subarray(s, end);
  });
}

// ---------------------------------------------------------------------------------------
// Files

/** A GIF with a `w`×`h` logical screen and one 1×1 image in it. */
function gifWithCanvas(w: number, h: number): Buffer {
  const header = Buffer.from("GIF89a", "latin1");
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(w, 0);
  screen.writeUInt16LE(h, 2);
  screen[4] = 0x80; // a global colour table of 2 entries
  const palette = Buffer.from([0, 0, 0, 255, 255, 255]);
  const image = Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
  // LZW minimum code size 2; one sub-block: clear, index 0, end.
  const data = Buffer.from([0x02, 0x02, 0x44, 0x01, 0x00]);
  return Buffer.concat([header, screen, palette, image, data, Buffer.from([0x3b])]);
}

function crc32(bytes: Buffer): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A black greyscale PNG of `side`×`side`: a few hundred KB that decode to side² bytes. */
function blackPng(side: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc((side + 1) * side); // each row: filter 0 and zeros
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk("IHDR", ihdr), pngChunk("IDAT", deflateSync(raw, { level: 9 })), pngChunk("IEND", Buffer.alloc(0))]);
}

/** Builds the corpus in `dir` (a fresh temporary directory) and returns it. */
export function buildCorpus(dir: string): BadMedia[] {
  const at = (name: string) => path.join(dir, name);
  const write = (name: string, bytes: Buffer | string) => {
    writeFileSync(at(name), bytes);
    return at(name);
  };
  const video = "testsrc2=size=320x240:rate=25:duration=2";
  const tone = "sine=frequency=440:sample_rate=48000:duration=2";
  // The sources the surgery starts from: an MP4 with its index at the end (ffmpeg's default), and one with it first.
  ffmpeg(["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", tone, "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-b:a", "64k", at("base.mp4")]);
  ffmpeg(["-i", at("base.mp4"), "-c", "copy", "-movflags", "+faststart", at("faststart.mp4")]);
  const base = readFileSync(at("base.mp4"));
  const faststart = readFileSync(at("faststart.mp4"));
  const list: BadMedia[] = [];
  const add = (name: string, what: string, file: string, expect: BadMedia["expect"]) => list.push({ name, what, file, expect });
  // Each file goes through two job kinds (three for the playlist), spread so every kind
  // meets every kind of damage somewhere: a run costs about 2 s, with the job after it.
  const unreadable = (...kinds: JobKind[]) => Object.fromEntries(kinds.map((k) => [k, "input_unreadable"]));

  add("zero-bytes", "an empty file", write("empty.mp4", Buffer.alloc(0)), unreadable("video", "style"));
  add("random-bytes", "64 KiB of random bytes", write("random.mp4", randomBytes(64 * 1024)), unreadable("audio", "outputs"));
  for (const pct of [10, 50, 90]) {
    add(`truncated-${pct}`, `an MP4 (index at the end) cut at ${pct} %`, write(`cut${pct}.mp4`, base.subarray(0, Math.floor((base.length * pct) / 100))), unreadable(pct === 50 ? "audio" : "video", pct === 90 ? "image" : "outputs"));
  }
  for (const pct of [50, 90]) {
    add(`faststart-truncated-${pct}`, `a faststart MP4 cut at ${pct} % (its index intact)`, write(`fcut${pct}.mp4`, faststart.subarray(0, Math.floor((faststart.length * pct) / 100))), {
      video: "input_unreadable",
      outputs: "input_unreadable",
    });
  }

  // No moov: the file ends where its index would start (ffmpeg's default layout puts it last).
  add("moov-missing", "an MP4 whose moov box is gone", write("nomoov.mp4", base.subarray(0, findBox(base, ["moov"]).start)), unreadable("video", "audio"));

  // The mdat declares a 64-bit size of 2^62 bytes.
  const mdat = findBox(base, ["mdat"]);
  const hugeBox = Buffer.concat([base.subarray(0, mdat.start), Buffer.from([0, 0, 0, 1]), Buffer.from("mdat", "latin1"), Buffer.alloc(8), base.subarray(mdat.start + 8)]);
  hugeBox.writeBigUInt64BE(1n << 62n, mdat.start + 8);
  add("enormous-box", "an MP4 whose mdat declares 2^62 bytes", write("hugebox.mp4", hugeBox), unreadable("image", "outputs"));

  // A WebM and an MP3 under the wrong names: only their content counts, and neither has video.
  ffmpeg(["-f", "lavfi", "-i", tone, "-c:a", "libopus", "-f", "webm", at("opus-webm.mp4")]);
  add("webm-named-mp4", "an audio-only WebM named .mp4", at("opus-webm.mp4"), { video: "input_no_video", outputs: "input_no_video" });
  ffmpeg(["-f", "lavfi", "-i", tone, "-c:a", "libmp3lame", "-f", "mp3", at("mp3.mov")]);
  add("mp3-named-mov", "an MP3 named .mov", at("mp3.mov"), { image: "input_no_video", style: "input_no_video" });

  // 1×1: the smallest picture, which no 4:2:0 encode can take.
  ffmpeg(["-f", "lavfi", "-i", "color=c=red:size=16x16:rate=25:duration=1", "-vf", "scale=1:1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", at("1x1.mp4")]);
  add("frame-1x1", "a 1×1 video", at("1x1.mp4"), unreadable("video", "image"));

  add("png-16384", "a 16384×16384 PNG (about 300 KB, 256 MiB decoded)", write("huge.png", blackPng(16384)), { video: "input_too_large", image: "input_too_large" });

  // A raw H.264 stream whose SPS declares 16384×16384 ahead of a 320×240 picture.
  ffmpeg(["-f", "lavfi", "-i", video, "-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline", "-f", "h264", at("small.h264")]);
  const annexB = nalUnits(readFileSync(at("small.h264"))).map((nal) => ((nal[0]! & 0x1f) === 7 ? resizeSps(nal, 1024, 1024) : nal));
  add(
    "h264-sps-16384",
    "a one-frame raw H.264 stream whose SPS declares 16384×16384",
    write("huge-sps.h264", Buffer.concat(annexB.flatMap((nal) => [Buffer.from([0, 0, 0, 1]), nal]))),
    { outputs: "input_too_large", style: "input_too_large" },
  );

  // A decompression bomb: two 64×64 frames six hours apart at a declared 1000 fps, so a constant-rate encode makes 21.6 million.
  ffmpeg(["-f", "lavfi", "-i", "color=c=black:size=64x64:rate=1000:duration=0.002", "-c:v", "libx264", "-preset", "ultrafast", "-bsf:v", "setts=ts=if(eq(N\\,1)\\,21590000\\,0)", "-video_track_timescale", "1000", at("bomb-frames.mkv")]);
  add("frame-count-bomb", "a tiny Matroska whose two frames 1000 fps apart span six hours", at("bomb-frames.mkv"), { video: "input_too_large", outputs: "input_too_large", style: "input_too_large" });

  add("gif-huge-canvas", "a 40-byte GIF with a 65535×65535 canvas", write("canvas.gif", gifWithCanvas(65535, 65535)), { video: "input_too_large", image: "input_too_large" });

  ffmpeg(["-f", "lavfi", "-i", tone, "-c:a", "aac", at("tone.m4a")]);
  add("audio-only-to-video", "an AAC-only M4A", at("tone.m4a"), { video: "input_no_video", style: "input_no_video" });
  ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", at("still.png")]);
  add("image-to-audio", "a PNG still", at("still.png"), { audio: "input_unreadable", video: "input_no_video" });

  // Ten hours declared by a 1 s Matroska: its Segment Duration (an EBML float, in ms) rewritten.
  ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-preset", "ultrafast", at("onesec.mkv")]);
  const longMkv = readFileSync(at("onesec.mkv"));
  const durationAt = longMkv.indexOf(Buffer.from([0x44, 0x89, 0x88]));
  if (durationAt < 0) throw new Error("no 8-byte Duration element");
  longMkv.writeDoubleBE(10 * 3600 * 1000, durationAt + 3);
  add("ten-hour-header", "a 1 s Matroska whose header says 10 hours", write("tenhours.mkv", longMkv), unreadable("video", "audio"));

  // Flipped bytes in the middle of every video sample after the first: the container is fine, the H.264 is not.
  const corrupt = Buffer.from(base);
  const mdatBox = findBox(corrupt, ["mdat"]);
  for (let i = mdatBox.start + 4096; i < mdatBox.end; i += 97) corrupt[i] = corrupt[i]! ^ 0xff;
  add("corrupt-h264", "an MP4 whose H.264 samples have bytes flipped every 97 bytes past the first 4 KiB", write("corrupt.mp4", corrupt), unreadable("video", "outputs"));

  // 100 tracks: one picture and 99 tones.
  const many = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1", "-f", "lavfi", "-i", "sine=duration=1:sample_rate=8000"];
  const maps = ["-map", "0:v"];
  for (let i = 0; i < 99; i++) maps.push("-map", "1:a");
  ffmpeg([...many, ...maps, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", at("tracks100.mkv")]);
  add("mkv-100-tracks", "a Matroska with 100 tracks", at("tracks100.mkv"), { audio: "input_too_large", outputs: "input_too_large" });

  // An edit list that starts the video 1000 s into media that lasts 2 s.
  ffmpeg(["-f", "lavfi", "-i", video, "-c:v", "libx264", "-preset", "veryfast", "-g", "25", at("bframes.mp4")]);
  const edited = readFileSync(at("bframes.mp4"));
  const trak = videoTrak(edited);
  const elst = findBox(edited, ["edts", "elst"], trak.start + 8, trak.end);
  const mdhd = findBox(edited, ["mdia", "mdhd"], trak.start + 8, trak.end);
  const timescale = edited.readUInt32BE(mdhd.start + 20);
  if (edited[elst.start + 8] !== 0) throw new Error("expected a version 0 elst");
  edited.writeInt32BE(timescale * 1000, elst.start + 20);
  add("editlist-past-end", "an MP4 whose edit list starts 1000 s into 2 s of media", write("editlist.mp4", edited), unreadable("video", "image"));

  // An MP4 with no tracks: every trak box renamed free, the rest intact.
  const noTracks = Buffer.from(base);
  const moovBox = findBox(noTracks, ["moov"]);
  for (const b of boxes(noTracks, moovBox.start + 8, moovBox.end)) if (b.type === "trak") noTracks.write("free", b.start + 4, "latin1");
  add("no-streams", "an MP4 whose tracks are all gone (renamed free)", write("nostreams.mp4", noTracks), unreadable("audio", "style"));

  write("subs.srt", "1\n00:00:00,000 --> 00:00:01,000\nhello\n");
  ffmpeg(["-i", at("subs.srt"), "-c:s", "subrip", at("subs-only.mkv")]);
  add("subtitle-only", "a Matroska with one subtitle track", at("subs-only.mkv"), unreadable("video", "audio"));

  // A video track with no samples: ffmpeg writes the track and an empty index.
  ffmpeg(["-f", "lavfi", "-i", video, "-frames:v", "0", "-c:v", "libx264", at("zero-duration.mp4")]);
  add("zero-duration", "an MP4 whose video track has no samples", at("zero-duration.mp4"), unreadable("image", "outputs"));

  // A time scale of 0 makes every timestamp a division by zero.
  const nan = readFileSync(at("base.mp4"));
  const nanTrak = videoTrak(nan);
  nan.writeUInt32BE(0, findBox(nan, ["mdia", "mdhd"], nanTrak.start + 8, nanTrak.end).start + 20);
  nan.writeUInt32BE(0, findBox(nan, ["moov", "mvhd"]).start + 20);
  add("nan-timestamps", "an MP4 whose movie and video time scales are 0", write("nan.mp4", nan), unreadable("video", "outputs"));

  // Sample durations of -2^31 ticks: every timestamp after the first goes backwards.
  const negative = readFileSync(at("base.mp4"));
  const negTrak = videoTrak(negative);
  const stts = findBox(negative, ["mdia", "minf", "stbl", "stts"], negTrak.start + 8, negTrak.end);
  for (let entry = 0, n = negative.readUInt32BE(stts.start + 12); entry < n; entry++) negative.writeInt32BE(-(2 ** 31), stts.start + 16 + entry * 8 + 4);
  add("negative-timestamps", "an MP4 whose video sample durations are negative", write("negative.mp4", negative), unreadable("video", "outputs"));

  // A WAV of 1 s whose header claims 2 GiB of samples at a rate of 0 Hz.
  ffmpeg(["-f", "lavfi", "-i", "sine=duration=1:sample_rate=48000", "-c:a", "pcm_s16le", at("short.wav")]);
  const wav = readFileSync(at("short.wav"));
  const fmt = wav.indexOf(Buffer.from("fmt ", "latin1"));
  const data = wav.indexOf(Buffer.from("data", "latin1"));
  wav.writeUInt32LE(0x7ffffff0, 4);
  wav.writeUInt32LE(0, fmt + 12);
  wav.writeUInt32LE(0x7ffffff0, data + 4);
  add("wav-lying-header", "a 1 s WAV whose header claims 2 GiB of samples at 0 Hz", write("lying.wav", wav), unreadable("audio", "video"));

  // A playlist naming segments by absolute path: read from the job's directory, it would open files outside it.
  ffmpeg(["-f", "lavfi", "-i", video, "-c:v", "libx264", "-preset", "ultrafast", "-f", "hls", "-hls_time", "1", "-hls_segment_filename", at("seg%d.ts"), at("generated.m3u8")]);
  const playlist = readFileSync(at("generated.m3u8"), "utf8").replace(/^seg(\d+)\.ts$/gm, (name) => at(name));
  add("hls-playlist", "an HLS playlist whose segments are absolute paths on the encoder", write("playlist.m3u8", playlist), unreadable("video", "audio", "style"));

  add("text-file", "a plain text file", write("notes.txt", "These are meeting notes, not a video.\n".repeat(40)), unreadable("image", "style"));
  add(
    "html-error-page",
    "an origin's HTML 404 page saved as the input",
    write("error.mp4", "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n"),
    unreadable("audio", "outputs"),
  );
  return list;
}
