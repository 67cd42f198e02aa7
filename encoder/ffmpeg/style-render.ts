import type { FfmpegCommand } from "./command";
import { type FramePlan, frameFilters, seconds } from "./framing";

/**
 * The ffmpeg runs of style application (encoder/style/render.ts runs them): the render
 * itself, the measuring run over the same graph that planning reads before deciding the
 * grade and the loudness, and the grade's trial runs on the measuring run's sample. Pure.
 *
 * Each output shot is its own input (`-ss … -t … -i source`): seeking lands on the piece
 * directly, and pieces played out of source order never wait in the graph for each other.
 */

/** One output shot: where it starts in the source and how many output frames it lasts, its transitions' overlap included. */
export interface RenderPiece {
  start: number;
  frames: number;
}

/** How consecutive shots meet: xfade's `fade` blends them (a dissolve), `fadeblack` fades through black. */
export type Join = { kind: "cut" } | { kind: "dissolve" | "fade"; frames: number };

export interface AudioShaping {
  /** acompressor above the mean level. */
  compressor: { thresholdDb: number; ratio: number } | null;
  /** A low shelf at `frequency`, gain in dB. */
  bass: { gainDb: number; frequency: number } | null;
}

/** loudnorm's second pass: the target and what the measuring run found. */
export interface LoudnessPass {
  targetLufs: number;
  truePeakDb: number;
  measured: { lufs: number; rangeLu: number; truePeakDb: number };
}

export interface StyleRenderSpec {
  /** The source, relative to the working directory (or absolute). */
  source: string;
  sourceFps: number;
  /** Whether the source's audio is rendered (a video-only source gives a video-only output). */
  audio: boolean;
  /** The output's shots in order; null for the whole source as one shot. */
  pieces: RenderPiece[] | null;
  join: Join;
  frameRate: number;
  frame: FramePlan;
  /** A zoom in through each shot, ln scale per second (0: none). */
  zoomRate: number;
  /** The grade as a filter (lutyuv), or null. */
  grade: string | null;
  shaping: AudioShaping;
}

export const SAMPLE_RATE = 48_000;
/** The measuring run's picture sample: frames a second, and the width (the analysis's) the grade is measured at. */
export const SAMPLE_FPS = 5;
export const SAMPLE_WIDTH = 160;
export const SAMPLE_FILE = "style-sample.nut";
export const LOUDNESS_FILE = "style-loudness.txt";

const num = (v: number) => String(Math.round(v * 1e6) / 1e6);

/** The inputs: one per shot, each seeking to its piece with a frame to spare (the filters trim exactly). */
export function inputArgs(spec: StyleRenderSpec): string[] {
  if (spec.pieces === null) return ["-i", spec.source];
  return spec.pieces.flatMap((p) => [
    ...(p.start > 0 ? ["-ss", seconds(p.start)] : []),
    "-t", seconds((p.frames + 1) / spec.frameRate),
    "-i", spec.source,
  ]);
}

/** A gentle zoom in to the centre, ln `rate` per second of the shot, as zoompan (one output frame per input frame). */
export function zoomFilter(rate: number, frameRate: number, frame: FramePlan): string {
  const z = `exp(${num(rate / frameRate)}*on)`;
  return `zoompan=z='${z}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=${frame.width}x${frame.height}:fps=${num(frameRate)}`;
}

/** One shot's picture: reframed, at the output rate, exactly its frames, zoomed, graded. */
export function videoChain(spec: StyleRenderSpec, frames: number | null): string {
  const rate = `fps=${num(spec.frameRate)}`;
  const reframe = frameFilters(spec.frame);
  // Dropping frames first spares scaling them; repeating them after spares scaling the copies.
  const filters = ["setpts=PTS-STARTPTS", ...(spec.sourceFps > spec.frameRate ? [rate, ...reframe] : [...reframe, rate]), "format=yuv420p"];
  if (frames !== null) filters.push(`trim=end_frame=${frames}`);
  if (spec.zoomRate > 0) filters.push(zoomFilter(spec.zoomRate, spec.frameRate, spec.frame));
  if (spec.grade) filters.push(spec.grade);
  return filters.join(",");
}

/** One shot's sound: 48 kHz stereo, exactly as long as its picture (silence added if the source's audio ends first). */
export function audioChain(spec: StyleRenderSpec, frames: number | null): string {
  const filters = ["asetpts=PTS-STARTPTS", `aresample=${SAMPLE_RATE}`, "aformat=sample_fmts=fltp:channel_layouts=stereo"];
  if (frames !== null) {
    const samples = Math.round((frames / spec.frameRate) * SAMPLE_RATE);
    filters.push(`apad=whole_len=${samples}`, `atrim=end_sample=${samples}`);
  }
  return filters.join(",");
}

/** Where each transition starts in the joined output, seconds: after the shots before it, less their overlaps. */
export function transitionOffsets(pieces: RenderPiece[], overlap: number, frameRate: number): number[] {
  const offsets: number[] = [];
  let length = pieces[0]!.frames;
  for (let k = 1; k < pieces.length; k++) {
    offsets.push((length - overlap) / frameRate);
    length += pieces[k]!.frames - overlap;
  }
  return offsets;
}

/** The shots joined: concat for cuts, a chain of xfade (and acrossfade) for fades and dissolves. Labels [vj] and [aj]. */
export function joinGraph(spec: StyleRenderSpec): string[] {
  const pieces = spec.pieces ?? [null];
  const parts = pieces.flatMap((p, k) => [
    `[${k}:v:0]${videoChain(spec, p?.frames ?? null)}[v${k}]`,
    ...(spec.audio ? [`[${k}:a:0]${audioChain(spec, p?.frames ?? null)}[a${k}]`] : []),
  ]);
  const n = pieces.length;
  if (n === 1) return [...parts, "[v0]null[vj]", ...(spec.audio ? ["[a0]anull[aj]"] : [])];
  if (spec.join.kind === "cut") {
    const inputs = pieces.map((_, k) => `[v${k}]${spec.audio ? `[a${k}]` : ""}`).join("");
    return [...parts, `${inputs}concat=n=${n}:v=1:a=${spec.audio ? 1 : 0}[vj]${spec.audio ? "[aj]" : ""}`];
  }
  const { frames } = spec.join;
  const duration = num(frames / spec.frameRate);
  const transition = spec.join.kind === "fade" ? "fadeblack" : "fade";
  const offsets = transitionOffsets(spec.pieces!, frames, spec.frameRate);
  const label = (prefix: string, k: number) => (k === n - 1 ? `[${prefix}j]` : `[${prefix}x${k}]`);
  for (let k = 1; k < n; k++) {
    const before = k === 1 ? "[v0]" : `[vx${k - 1}]`;
    parts.push(`${before}[v${k}]xfade=transition=${transition}:duration=${duration}:offset=${num(offsets[k - 1]!)}${label("v", k)}`);
    if (spec.audio) parts.push(`${k === 1 ? "[a0]" : `[ax${k - 1}]`}[a${k}]acrossfade=d=${duration}${label("a", k)}`);
  }
  return parts;
}

/** Compression and the bass shelf, as filters (none when neither applies). */
export function shapingFilters(shaping: AudioShaping): string[] {
  const filters: string[] = [];
  if (shaping.compressor) {
    const threshold = num(Math.max(10 ** (shaping.compressor.thresholdDb / 20), 0.000976563));
    filters.push(`acompressor=threshold=${threshold}:ratio=${num(shaping.compressor.ratio)}:attack=5:release=100:detection=peak`);
  }
  if (shaping.bass) filters.push(`bass=g=${num(shaping.bass.gainDb)}:f=${num(shaping.bass.frequency)}:width_type=o:w=1`);
  return filters;
}

/**
 * loudnorm's linear second pass: a gain to the target. It takes the linear path only
 * with every measured value set; a loudness range of 0 (a steady tone) reads as unset,
 * hence the floor, and the gate threshold, which the linear path does not use, is the
 * relative gate's (10 LU below the integrated loudness).
 */
export function loudnormFilter(pass: LoudnessPass): string {
  const { measured } = pass;
  return [
    `loudnorm=I=${num(pass.targetLufs)}:TP=${num(pass.truePeakDb)}:LRA=50`,
    `measured_I=${num(measured.lufs)}:measured_LRA=${num(Math.max(measured.rangeLu, 0.1))}`,
    `measured_TP=${num(measured.truePeakDb)}:measured_thresh=${num(measured.lufs - 10)}:linear=true`,
  ].join(":");
}

/** Seconds of output the shots make. */
export function renderedSeconds(spec: StyleRenderSpec, sourceSeconds: number): number {
  if (spec.pieces === null) return sourceSeconds;
  const overlap = spec.join.kind === "cut" ? 0 : spec.join.frames;
  const frames = spec.pieces.reduce((sum, p) => sum + p.frames, 0) - overlap * (spec.pieces.length - 1);
  return frames / spec.frameRate;
}

/**
 * The measuring run: the render's graph without its grade and loudness, the pictures
 * sampled at SAMPLE_FPS into a small raw file (the grade's trials read it) and the sound
 * measured as the analysis measures it (ebur128, astats), printed to LOUDNESS_FILE.
 */
export function measureCommand(spec: StyleRenderSpec, sourceSeconds: number, measureAudio: boolean): FfmpegCommand {
  const ungraded = { ...spec, grade: null, audio: spec.audio && measureAudio };
  const graph = joinGraph(ungraded);
  graph.push(`[vj]fps=${SAMPLE_FPS},scale=${SAMPLE_WIDTH}:-2:flags=area,format=yuv420p[sample]`);
  if (ungraded.audio) {
    const measures = [
      ...shapingFilters(spec.shaping),
      "ebur128=peak=true:metadata=1",
      "astats=metadata=1:reset=0:measure_perchannel=none:measure_overall=Peak_level+RMS_level",
      `ametadata=mode=print:file=${LOUDNESS_FILE}`,
      "anullsink",
    ];
    graph.push(`[aj]${measures.join(",")}`);
  }
  return {
    args: [...inputArgs(spec), "-filter_complex", graph.join(";"), "-map", "[sample]", "-c:v", "rawvideo", "-f", "nut", SAMPLE_FILE],
    outputs: [SAMPLE_FILE, ...(ungraded.audio ? [LOUDNESS_FILE] : [])],
    main: SAMPLE_FILE,
    durationS: renderedSeconds(spec, sourceSeconds),
  };
}

/** A grade's trial on the sample: graded (or not), then signalstats per frame, printed to `statsFile`. */
export function gradeTrialCommand(grade: string | null, statsFile: string): FfmpegCommand {
  const filters = [...(grade ? [grade] : []), "signalstats", `metadata=mode=print:file=${statsFile}`];
  return { args: ["-i", SAMPLE_FILE, "-vf", filters.join(","), "-f", "null", "-"], outputs: [statsFile], main: statsFile, durationS: 0 };
}

export interface RenderEncoding {
  crf: number;
  preset: string;
  audioArgs: string[];
}

/** The render: the graph graded, shaped and levelled, to an H.264 (and AAC) MP4. */
export function renderCommand(spec: StyleRenderSpec, loudness: LoudnessPass | null, encoding: RenderEncoding, output: string, sourceSeconds: number): FfmpegCommand {
  const graph = joinGraph(spec);
  graph.push("[vj]format=yuv420p[vout]");
  if (spec.audio) {
    // loudnorm works at 192 kHz and leaves the channel layout open, which the encoder's link then cannot settle.
    const level = loudness ? [loudnormFilter(loudness), `aresample=${SAMPLE_RATE}`, "aformat=channel_layouts=stereo"] : [];
    const filters = [...shapingFilters(spec.shaping), ...level];
    graph.push(`[aj]${filters.length > 0 ? filters.join(",") : "anull"}[aout]`);
  }
  return {
    args: [
      ...inputArgs(spec),
      "-filter_complex", graph.join(";"),
      "-map", "[vout]",
      ...(spec.audio ? ["-map", "[aout]"] : []),
      "-c:v", "libx264", "-preset", encoding.preset, "-crf", String(encoding.crf), "-pix_fmt", "yuv420p", "-r", num(spec.frameRate),
      ...(spec.audio ? [...encoding.audioArgs, "-ar", String(SAMPLE_RATE)] : []),
      "-movflags", "+faststart", "-f", "mp4", output,
    ],
    outputs: [output],
    main: output,
    durationS: renderedSeconds(spec, sourceSeconds),
  };
}
