import type { ThumbnailEncodeSpec } from "../contract";
import type { FfmpegCommand, SourceInfo } from "./command";
import { type FramePlan, type Size, type TimeWindow, displaySize, frameFilters, planFrame, seconds, wholeSource } from "./framing";
import { frameTime } from "./image";
import { DEFAULT_QUALITY, imageQuality } from "./quality";
import { vttTime } from "./subtitles";

/**
 * Thumbnails: stills at chosen instants, each its own file or tiled into one sprite
 * sheet with a WebVTT storyboard (`<base>.sprite.jpg#xywh=x,y,w,h` cues) that players
 * use for scrub-bar previews. The frame choice, the grid and the storyboard are pure
 * functions, separate from the argv they become.
 */

export const MAX_FRAMES = 100;
/** A storyboard's tiles are small; without a size they are this wide. */
export const DEFAULT_TILE_WIDTH = 160;
export const DEFAULT_COLUMNS = 10;
/** WebP's limit on either side, and so the sheet's, whatever the format. */
export const MAX_SHEET_SIDE = 16_383;

/** One frame: the instant it is taken at and the span of the timeline it stands for. */
export interface FramePick {
  at: number;
  from: number;
  to: number;
}

/**
 * The instants, clamped to the last frame. Times keep their order (stills are numbered
 * as asked); an interval starts at 0 and is widened when it would give more than
 * MAX_FRAMES; a count takes the middle of N equal spans.
 */
export function pickFrames(frames: ThumbnailEncodeSpec["frames"], source: SourceInfo): FramePick[] {
  const duration = source.durationS;
  const clamp = (t: number) => frameTime(t, source);
  switch (frames.mode) {
    case "times": {
      const instants = frames.times.map((t) => clamp("seconds" in t ? t.seconds : (duration * t.percent) / 100));
      const ends = [...instants].sort((a, b) => a - b);
      return instants.map((at) => ({ at, from: at, to: ends.find((t) => t > at) ?? Math.max(duration, at) }));
    }
    case "interval": {
      const step = Math.max(frames.seconds, duration / MAX_FRAMES);
      const n = Math.max(1, Math.min(MAX_FRAMES, Math.ceil(duration / step - 1e-9)));
      return Array.from({ length: n }, (_, i) => ({ at: clamp(i * step), from: i * step, to: Math.min((i + 1) * step, Math.max(duration, i * step)) }));
    }
    case "count": {
      const span = duration / frames.count;
      return Array.from({ length: frames.count }, (_, i) => ({ at: clamp((i + 0.5) * span), from: i * span, to: (i + 1) * span }));
    }
  }
}

export interface SpriteGrid {
  columns: number;
  rows: number;
  width: number;
  height: number;
}

/** Tiles left to right, top to bottom; more columns than asked when the sheet would be too tall. */
export function spriteGrid(frameCount: number, tile: Size, columns = DEFAULT_COLUMNS): SpriteGrid {
  let cols = Math.max(1, Math.min(columns, frameCount));
  while (cols < frameCount && Math.ceil(frameCount / cols) * tile.height > MAX_SHEET_SIDE) cols++;
  const rows = Math.ceil(frameCount / cols);
  return { columns: cols, rows, width: cols * tile.width, height: rows * tile.height };
}

/** The rectangle of tile `index` in the sheet. */
export function tileRect(index: number, grid: SpriteGrid, tile: Size): { x: number; y: number; w: number; h: number } {
  return { x: (index % grid.columns) * tile.width, y: Math.floor(index / grid.columns) * tile.height, w: tile.width, h: tile.height };
}

/**
 * The storyboard: one cue per tile, in timeline order, naming the sheet relative to
 * the storyboard's own URL. A cue needs a positive span, so instants that coincide
 * keep only their first tile.
 */
export function storyboardVtt(picks: FramePick[], grid: SpriteGrid, tile: Size, sheetName: string): string {
  const cues = picks
    .map((pick, index) => ({ ...pick, index }))
    .filter((pick) => pick.to > pick.from)
    .sort((a, b) => a.from - b.from || a.index - b.index)
    .filter((pick, i, all) => i === 0 || pick.from !== all[i - 1]!.from);
  const lines = ["WEBVTT", ""];
  for (const cue of cues) {
    const r = tileRect(cue.index, grid, tile);
    lines.push(`${vttTime(cue.from)} --> ${vttTime(cue.to)}`, `${sheetName}#xywh=${r.x},${r.y},${r.w},${r.h}`, "");
  }
  return lines.join("\n");
}

const extension = { jpeg: "jpg", png: "png", webp: "webp" } as const;

function encoderArgs(format: ThumbnailEncodeSpec["format"]): string[] {
  const quality = imageQuality[DEFAULT_QUALITY];
  switch (format) {
    case "jpeg":
      return ["-c:v", "mjpeg", "-q:v", String(quality.jpegQscale)];
    case "png":
      return ["-c:v", "png"];
    case "webp":
      return ["-c:v", "libwebp", "-quality", String(quality.webp)];
  }
}

/** The tile size: as asked, or the source's size (a storyboard's default is DEFAULT_TILE_WIDTH wide). */
function planTile(spec: ThumbnailEncodeSpec, source: SourceInfo): FramePlan {
  const asked = spec.width === undefined && spec.height === undefined && spec.sprite ? { width: DEFAULT_TILE_WIDTH } : { width: spec.width, height: spec.height };
  return planFrame(asked, displaySize(source));
}

/**
 * One ffmpeg run for all frames: each frame is its own input, seeked to its instant
 * (decoding from the keyframe before it, so it is frame-accurate without decoding the
 * whole file) and read for a moment only; `trim` keeps its first frame. Stills map
 * each frame to its own file; a sprite concatenates them into the `tile` filter.
 * Files are `<base>.001.jpg`…, or `<base>.sprite.jpg` and `<base>.storyboard.vtt`,
 * which the post step writes. With a clip, frames are chosen on the clip's timeline
 * (times, percentages and the storyboard's cues count from its start), as the job's
 * other outputs have it.
 */
export function buildThumbnailCommand(spec: ThumbnailEncodeSpec, source: SourceInfo, outputBase: string, clip: TimeWindow = wholeSource(source)): FfmpegCommand {
  const picks = pickFrames(spec.frames, { ...source, durationS: clip.durationS });
  const plan = planTile(spec, source);
  const tile = { width: plan.width, height: plan.height };
  const readFor = seconds(Math.max(1, 4 / (source.fps || 25)));
  const inputs = picks.flatMap((pick) => {
    const at = clip.start + pick.at;
    return [...(at > 0 ? ["-ss", seconds(at)] : []), "-t", readFor, "-threads", "1", "-i", source.file];
  });
  const frames = picks.map((_, i) => `[${i}:v:0]trim=end_frame=1,${frameFilters(plan).join(",")}[f${i}]`);
  const ext = extension[spec.format];
  const encode = [...encoderArgs(spec.format), "-f", "image2"];
  const durationS = picks.length / (source.fps || 25);

  if (spec.sprite) {
    const grid = spriteGrid(picks.length, tile, spec.sprite.columns);
    const sheet = `${outputBase}.sprite.${ext}`;
    const storyboard = `${outputBase}.storyboard.vtt`;
    const tiled = `${picks.map((_, i) => `[f${i}]`).join("")}concat=n=${picks.length}:v=1:a=0,tile=${grid.columns}x${grid.rows}[sheet]`;
    return {
      args: [...inputs, "-filter_complex", [...frames, tiled].join(";"), "-map", "[sheet]", "-frames:v", "1", ...encode, sheet],
      outputs: [sheet, storyboard],
      main: storyboard,
      factsFrom: sheet,
      durationS,
      post: { kind: "text", target: storyboard, text: storyboardVtt(picks, grid, tile, sheet) },
    };
  }
  const stills = picks.map((_, i) => `${outputBase}.${String(i + 1).padStart(3, "0")}.${ext}`);
  return {
    args: [...inputs, "-filter_complex", frames.join(";"), ...stills.flatMap((file, i) => ["-map", `[f${i}]`, "-frames:v", "1", ...encode, file])],
    outputs: stills,
    main: stills[0]!,
    durationS,
  };
}
