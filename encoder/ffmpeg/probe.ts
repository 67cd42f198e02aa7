import { stat } from "node:fs/promises";
import path from "node:path";
import type { EncodeSpec, InputMetadata } from "../contract";
import { PipelineError } from "../errors";
import type { SourceInfo } from "./command";
import { type FfprobeRunOptions, PipeProbe, ProbeError, describeArgv, runProbe } from "./ffprobe-run";
import { even } from "./framing";
import { MAX_INPUT_STREAMS, MAX_PICTURE_PIXELS, MIN_PICTURE_SIDE, maxAllocArgs } from "./limits";
import type { ByteSource } from "./stdin-feed";

/**
 * The input probe: ffprobe's JSON turned into the job's InputMetadata and the
 * SourceInfo the builders need, plus the checks that tell a readable media file from
 * something ffprobe merely tolerated. Argv and parsing are pure; probeFile spawns.
 */

export interface ProbeResult {
  metadata: InputMetadata;
  source: SourceInfo;
  /** A single picture (png, jpeg, …): it has a video stream but is not a video. */
  isStillImage: boolean;
  /** The size of the video stream as stored, before rotation and sample aspect ratio. */
  coded: { width: number; height: number } | null;
  /** ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  formatName: string;
}

/** The ffprobe argv for one input; `file` is relative to the job's working directory. */
export function ffprobeArgv(file: string): string[] {
  return describeArgv("file", inputUrl(file));
}

/** Decodes the first frame(s) of one stream: no output frame means the data does not decode. */
export function headCheckArgv(file: string, streamIndex: number): string[] {
  return [
    "-v", "error", ...maxAllocArgs(), "-protocol_whitelist", "file",
    "-select_streams", String(streamIndex), "-read_intervals", "%+#5",
    "-show_frames", "-show_entries", "frame=media_type", "-of", "csv=p=0",
    inputUrl(file),
  ];
}

/** Lists the packets from `fromS` to the end: a truncated file's packets stop short of its declared end. */
export function tailCheckArgv(file: string, fromS: number): string[] {
  return [
    "-v", "error", ...maxAllocArgs(), "-protocol_whitelist", "file",
    "-read_intervals", `${Math.max(0, fromS).toFixed(3)}%`,
    "-show_packets", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0",
    inputUrl(file),
  ];
}

/**
 * `file:` names the protocol so a name can never read as an option or another protocol;
 * the name must stay inside the working directory.
 */
function inputUrl(file: string): string {
  if (file === "" || path.isAbsolute(file) || file.split(/[\\/]/).includes("..")) {
    throw new Error(`probe input must be a path inside the job directory: ${JSON.stringify(file)}`);
  }
  return `file:${file}`;
}

// ---------------------------------------------------------------------------------------
// Parsing

interface RawStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  start_time?: string;
  duration?: string;
  nb_frames?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number | string }[];
}
interface RawFormat {
  format_name?: string;
  start_time?: string;
  duration?: string;
  bit_rate?: string;
}

interface RawProbe {
  streams?: RawStream[];
  format?: RawFormat;
}

/**
 * Sets the durations of `raw` (a probe of a file's first bytes) from where each stream
 * ends in `sketch` (a probe of its first and last bytes), as ffprobe computes them for the
 * whole file: a stream's duration runs from its own start to its end, the format's from
 * the earliest start to the latest end. Without a sketch, or a stream's end in it, the
 * durations stay unknown and the probe fails as for any input without one.
 */
function withEndsOf(raw: RawProbe, sketch: RawProbe | null): void {
  let latest: number | null = null;
  for (const stream of raw.streams ?? []) {
    const seen = sketch?.streams?.find((s) => s.index === stream.index);
    const start = num(stream.start_time);
    const end = (num(seen?.start_time) ?? Number.NaN) + (num(seen?.duration) ?? Number.NaN);
    if (start === null || !Number.isFinite(end) || end <= start) continue;
    stream.duration = (end - start).toFixed(6);
    latest = Math.max(latest ?? end, end);
  }
  const start = num(raw.format?.start_time);
  if (raw.format && start !== null && latest !== null) raw.format.duration = (latest - start).toFixed(6);
}

/** Codecs that are pictures, not video, when they come alone. */
const IMAGE_CODECS = new Set([
  "png", "apng", "mjpeg", "jpeg2000", "jpegls", "webp", "bmp", "tiff", "gif", "pam", "pbm", "pgm", "pgmyuv",
  "ppm", "pcx", "qoi", "sgi", "targa", "dpx", "exr", "xbm", "xpm", "xwd", "sunrast", "photocd", "psd", "hdr", "svg",
]);
/** Text rendered as pictures (the tty demuxer takes any .txt): ffprobe calls it video, it is not. */
const TEXT_CODECS = new Set(["ansi", "bintext", "xbin", "idf"]);
const TEXT_FORMATS = new Set(["tty", "bin", "xbin", "adf", "idf"]);
/**
 * Demuxers that read other files the input names (playlists, concatenation lists): read
 * from the job's directory they could open any file of the encoder's the name points at.
 */
const REFERENCE_FORMATS = new Set(["hls", "dash", "concat", "imf"]);

function num(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string" || value.trim() === "" || value === "N/A") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** "30000/1001" → 29.97…; "0/0", absent or absurd → null. */
function rate(value: string | undefined): number | null {
  if (!value) return null;
  const [n, d] = value.split("/").map(Number);
  if (!n || !d || !Number.isFinite(n) || !Number.isFinite(d)) return null;
  const r = n / d;
  return r > 0 && r <= 1000 ? r : null;
}

/** Degrees normalised to 0, 90, 180 or 270. */
export function normaliseRotation(degrees: number): number {
  if (!Number.isFinite(degrees)) return 0;
  const quarter = Math.round(degrees / 90);
  return (((quarter % 4) + 4) % 4) * 90;
}

/**
 * Rotation in ffprobe's display-matrix convention (counter-clockwise degrees, as it prints
 * `rotation` in side data), normalised. The legacy `rotate` tag counts clockwise, so a tag
 * of 90 is a display-matrix rotation of -90, i.e. 270; either way 90 and 270 swap the sides.
 */
function rotationOf(stream: RawStream): number {
  for (const side of stream.side_data_list ?? []) {
    const r = num(side.rotation);
    if (r !== null && (side.side_data_type === undefined || side.side_data_type === "Display Matrix")) return normaliseRotation(r);
  }
  const tag = num(stream.tags?.rotate);
  return tag === null ? 0 : normaliseRotation(-tag);
}

function sampleAspect(stream: RawStream): number {
  const [n, d] = (stream.sample_aspect_ratio ?? "").split(":").map(Number);
  return n && d && n > 0 && d > 0 ? n / d : 1;
}

function isCover(stream: RawStream): boolean {
  return stream.disposition?.attached_pic === 1 || stream.disposition?.timed_thumbnails === 1;
}

/**
 * ffprobe's JSON (`-show_format -show_streams`) as the job's metadata and the builders'
 * SourceInfo. Throws input_unreadable when it describes nothing ffmpeg could use: no
 * audio or video stream, only undecodable ones, text, or a stream without a duration
 * that is not a picture. An input without video is returned (hasVideo false): whether
 * that is an error depends on the task (see requireStreams).
 */
export function parseProbe(json: unknown, fileSizeBytes: number, file = "", ownOutput = false): ProbeResult {
  const doc = (typeof json === "string" ? safeJson(json) : json) as { format?: RawFormat; streams?: RawStream[] } | null;
  const format: RawFormat = doc?.format ?? {};
  const streams: RawStream[] = Array.isArray(doc?.streams) ? doc.streams : [];
  const formatName = format.format_name ?? "";

  const videos = streams.filter((s) => s.codec_type === "video" && !isCover(s));
  const audios = streams.filter((s) => s.codec_type === "audio");
  if (TEXT_FORMATS.has(formatName) || videos.some((s) => TEXT_CODECS.has(s.codec_name ?? ""))) {
    throw new ProbeError("input_unreadable", "The input is a text file, not audio, video or an image");
  }
  // A playlist Kiln wrote (an output being verified) names only files beside it.
  if (REFERENCE_FORMATS.has(formatName) && !ownOutput) {
    throw new ProbeError("input_unreadable", `The input is a playlist (${formatName}) naming other files, not a media file: give one of its media files instead`);
  }
  if (streams.length > MAX_INPUT_STREAMS) {
    throw new ProbeError("input_too_large", `The input has ${streams.length} streams; the limit is ${MAX_INPUT_STREAMS}`);
  }
  const video = videos.find((s) => !!s.codec_name && (s.width ?? 0) > 0 && (s.height ?? 0) > 0);
  const audio = audios.find((s) => !!s.codec_name);
  if (video && video.width! * video.height! > MAX_PICTURE_PIXELS) {
    throw new ProbeError("input_too_large", `The input's picture is ${video.width}×${video.height}; the limit is ${MAX_PICTURE_PIXELS / 1e6} Mpx`);
  }
  if (video && Math.min(video.width!, video.height!) < MIN_PICTURE_SIDE) {
    throw new ProbeError("input_unreadable", `The input's picture is ${video.width}×${video.height}, smaller than the ${MIN_PICTURE_SIDE}×${MIN_PICTURE_SIDE} an encode needs`);
  }
  if (!video && videos.length > 0) {
    throw new ProbeError("input_unreadable", "The input's video stream uses a codec or format that cannot be decoded");
  }
  if (!video && !audio) {
    throw new ProbeError(
      "input_unreadable",
      audios.length > 0 ? "The input's audio stream uses a codec that cannot be decoded" : "The input has no audio or video streams",
    );
  }

  const isStillImage =
    !!video &&
    !audio &&
    (formatName === "image2" ||
      formatName.endsWith("_pipe") ||
      (IMAGE_CODECS.has(video.codec_name!) && (num(format.duration) === null || video.nb_frames === "1")));

  const streamEnd = Math.max(0, ...[video, audio].map((s) => num(s?.duration) ?? 0));
  const durationS = isStillImage ? 0 : (num(format.duration) ?? (streamEnd > 0 ? streamEnd : null));
  if (durationS === null || (!isStillImage && durationS <= 0)) {
    throw new ProbeError("input_unreadable", "The input has no duration: it is damaged or not a media file ffmpeg can read");
  }

  let width: number | null = null;
  let height: number | null = null;
  let coded: ProbeResult["coded"] = null;
  let rotation = 0;
  let fps: number | null = null;
  if (video) {
    coded = { width: video.width!, height: video.height! };
    const sar = sampleAspect(video);
    let w = video.width!;
    const h = video.height!;
    if (sar !== 1) w = even(w * sar);
    rotation = rotationOf(video);
    [width, height] = rotation === 90 || rotation === 270 ? [h, w] : [w, h];
    fps = isStillImage ? null : (rate(video.avg_frame_rate) ?? rate(video.r_frame_rate));
  }

  const bitRate = num(format.bit_rate);
  const bitrate_kbps = isStillImage
    ? null
    : bitRate !== null && bitRate > 0
      ? Math.round(bitRate / 1000)
      : fileSizeBytes > 0 && durationS > 0
        ? Math.round((fileSizeBytes * 8) / durationS / 1000)
        : null;

  const metadata: InputMetadata = {
    duration_ms: Math.round(durationS * 1000),
    width,
    height,
    codec: (video ?? audio)?.codec_name ?? null,
    bitrate_kbps,
    framerate: fps === null ? null : Math.round(fps * 1000) / 1000,
    file_size_bytes: fileSizeBytes,
    has_audio: !!audio,
    audio_codec: audio?.codec_name ?? null,
    rotation,
  };
  const source: SourceInfo = { file, width, height, durationS, fps, hasVideo: !!video, hasAudio: !!audio };
  return { metadata, source, isStillImage, coded, formatName };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// Kind rules

/** Whether the probed input can feed a task of this kind; throws the failure if not. */
export function requireStreams(result: ProbeResult, kind: EncodeSpec["kind"]): void {
  switch (kind) {
    case "video":
    case "adaptive_video":
    case "animation":
      if (!result.source.hasVideo) throw new ProbeError("input_no_video", `The input has no video stream, which a ${kind} output needs`);
      if (result.isStillImage) throw new ProbeError("input_no_video", `The input is a still image, not a video, which a ${kind} output needs`);
      return;
    case "image":
    case "thumbnail":
      if (!result.source.hasVideo) throw new ProbeError("input_no_video", `The input has no video stream or picture to take ${kind === "image" ? "an image" : "thumbnails"} from`);
      return;
    case "audio":
      if (!result.source.hasAudio) {
        throw new ProbeError(
          "input_unreadable",
          result.isStillImage
            ? "The input is a still image and has no audio, which an audio output needs"
            : "The input has no audio stream, which an audio output needs",
        );
      }
      return;
  }
}

// ---------------------------------------------------------------------------------------
// Probing a file

export interface ProbeOptions extends FfprobeRunOptions {
  /** The file is an output this job wrote, being verified: a playlist is what it should be, not a refused input. */
  ownOutput?: boolean;
  /**
   * Decode the first frame and read the tail (default). Off for files ffmpeg has just
   * written and closed with success: the streams probe still checks what they are.
   */
  integrityChecks?: boolean;
  /**
   * Read the file from these bytes, front to back through ffprobe's stdin, instead of
   * from disk: a file still arriving, `sizeBytes` long when complete, or one for a warm
   * ffprobe (`warm`, see WarmProbes; without one, an ffprobe is started). Any error it
   * logs fails the probe: the description may come from part of the file.
   */
  piped?: { bytes: ByteSource; sizeBytes?: number; warm?: PipeProbe | null };
  /**
   * With `piped`: a file in `cwd` of the input's first and last bytes, for a format
   * whose timing is read from its end (an MPEG-TS declares no duration). Each stream's
   * end comes from it; starts and everything else from the piped bytes.
   */
  timing?: string;
}

/** The last line of ffprobe's stderr without the file name or demuxer address, for the user. */
function reason(stderr: string, file: string): string {
  const line = stderr.trim().split("\n").filter(Boolean).pop() ?? "";
  return line
    .replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, "")
    .split(`file:${file}: `).join("")
    .split(`${file}: `).join("")
    .slice(0, 200)
    .trim();
}

/**
 * ffmpeg refuses a picture over its own size limit (about 268 Mpx) before any decode and
 * describes the stream with no size, which on its own reads as an unknown codec: its
 * log line tells the two apart. Returns that line, or null.
 */
function refusedPicture(stderr: string): string | null {
  const size = /Picture size (\d+)x(\d+) is invalid/.exec(stderr);
  if (size && Number(size[1]) > 0 && Number(size[2]) > 0) return `${size[1]}×${size[2]}`;
  return /mb_width\/height overflow/.test(stderr) ? "its declared size overflows" : null;
}

/**
 * Probes `file` (relative to `cwd`, the job's working directory) and checks that it is
 * really readable: the first frame of the main stream decodes, and in containers that
 * declare their length up front (MP4/MOV, Matroska/WebM) the packets reach the end, which
 * catches uploads cut short whose index survived.
 */
export async function probeFile(file: string, cwd: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const { result, verify } = await probeStreams(file, cwd, options);
  if (options.integrityChecks !== false) await verify();
  return result;
}

/**
 * The streams probe alone, with the damage checks (first-frame decode, tail read) as a
 * separate step: a job runs them only when its encode gives cause (see runJob).
 */
export async function probeStreams(file: string, cwd: string, options: ProbeOptions = {}): Promise<{ result: ProbeResult; verify: () => Promise<void> }> {
  try {
    return await describeStreams(file, cwd, options);
  } finally {
    // Taken for this probe: it must not outlive it, whether it ran or not.
    options.piped?.warm?.discard();
  }
}

async function describeStreams(file: string, cwd: string, options: ProbeOptions): Promise<{ result: ProbeResult; verify: () => Promise<void> }> {
  const argv = ffprobeArgv(file);
  if (options.signal?.aborted) throw new PipelineError("canceled", "The job was canceled");
  const { piped } = options;
  let size: number;
  try {
    const st = await stat(path.join(cwd, file));
    if (!st.isFile()) throw new Error("not a file");
    size = piped?.sizeBytes ?? st.size;
  } catch {
    throw new ProbeError("input_unreadable", "The input file could not be read");
  }
  if (size === 0) throw new ProbeError("input_unreadable", "The input file is empty");

  // Through a pipe it reads front to back and is done after the first frames.
  const main = piped ? await (piped.warm ?? PipeProbe.start(options.ffprobe)).run(piped.bytes, options) : await runProbe(argv, cwd, options);
  const refused = refusedPicture(main.stderr);
  if (refused) throw new ProbeError("input_too_large", `The input's picture is too large to decode (${refused})`);
  if (main.code !== 0 || (piped && main.stderr.trim() !== "")) {
    const why = reason(main.stderr, file);
    throw new ProbeError("input_unreadable", `The input is not a media file ffmpeg can read${why ? ` (${why})` : ""}`);
  }
  // Read through a pipe, the format has no size and no bit rate computed from it: the
  // metadata's comes from `sizeBytes`.
  const raw = safeJson(main.stdout) as RawProbe | null;
  if (raw && piped && options.timing) {
    const sketch = await runProbe(describeArgv("file", inputUrl(options.timing)), cwd, options);
    withEndsOf(raw, sketch.code === 0 ? (safeJson(sketch.stdout) as RawProbe | null) : null);
  }
  const result = parseProbe(raw, size, file, options.ownOutput === true);
  // parseProbe has thrown for anything but a readable description.
  const streams = raw!.streams ?? [];
  const primary = streams.find((s) => s.codec_type === (result.source.hasVideo ? "video" : "audio") && !isCover(s) && s.codec_name);
  const end = declaredEnd(raw!, result);
  const verify = async () => {
    const checks: Promise<void>[] = [];
    if (primary?.index !== undefined) checks.push(headCheck(file, cwd, primary.index, options));
    if (!result.isStillImage && end !== null && /(^|,)(mov|matroska)(,|$)/.test(result.formatName)) {
      checks.push(tailCheck(file, cwd, end, options));
    }
    await Promise.all(checks);
  };
  return { result, verify };
}

async function headCheck(file: string, cwd: string, index: number, options: ProbeOptions): Promise<void> {
  const run = await runProbe(headCheckArgv(file, index), cwd, options);
  if (run.overflow) return;
  const frames = run.stdout.split("\n").filter((l) => l.trim() !== "").length;
  if (run.code !== 0 || frames === 0) {
    const why = reason(run.stderr, file);
    throw new ProbeError("input_unreadable", `The input is damaged: its first frame does not decode${why ? ` (${why})` : ""}`);
  }
}

/**
 * Where the streams say the media ends, in the timestamps ffprobe seeks by: the longest
 * audio/video stream (its sample index) or, without per-stream durations, the format's.
 */
function declaredEnd(raw: RawProbe, result: ProbeResult): number | null {
  let end: number | null = null;
  for (const s of raw.streams ?? []) {
    if ((s.codec_type !== "video" && s.codec_type !== "audio") || isCover(s)) continue;
    const d = num(s.duration);
    if (d === null) continue;
    const e = (num(s.start_time) ?? 0) + d;
    end = end === null ? e : Math.max(end, e);
  }
  if (end !== null) return end;
  const fd = num(raw.format?.duration);
  return fd === null ? (result.source.durationS > 0 ? result.source.durationS : null) : (num(raw.format?.start_time) ?? 0) + fd;
}

/** Whether media that reaches `reachedS` stops short of `expectedS`, beyond a frame or rounding's worth. */
export function fallsShort(reachedS: number, expectedS: number): boolean {
  // 1 % bounded to 0.1–1 s: a fixed 1 s missed half of a 2 s file cut short.
  return reachedS < expectedS - Math.min(1, Math.max(0.1, expectedS * 0.01));
}

async function tailCheck(file: string, cwd: string, end: number, options: ProbeOptions): Promise<void> {
  const run = await runProbe(tailCheckArgv(file, end - 2), cwd, options);
  if (run.overflow) return;
  let reached = -Infinity;
  for (const line of run.stdout.split("\n")) {
    const [pts, dur] = line.split(",").map((v) => num(v));
    if (pts !== null && pts !== undefined) reached = Math.max(reached, pts + (dur ?? 0));
  }
  if (run.code !== 0 || fallsShort(reached, end)) {
    const where = Number.isFinite(reached) ? `at ${Math.max(0, reached).toFixed(1)} s` : "well before the end";
    throw new ProbeError("input_unreadable", `The input is truncated: it declares ${end.toFixed(1)} s but its data stops ${where}`);
  }
}
