import type { EncodeSpec } from "../contract";
import { PipelineError } from "../errors";
import type { SourceInfo } from "./command";

/**
 * Where the output's picture and time come from: sizes, fit and position (space) and
 * start/end (time). The math is pure and separate from the filter strings it becomes,
 * so it can be tested without ffmpeg.
 */

export interface Size {
  width: number;
  height: number;
}

type VisualSpec = Extract<EncodeSpec, { kind: "video" }>;
export type Framing = Pick<VisualSpec, "width" | "height" | "fit" | "position" | "background">;
export type Position = NonNullable<VisualSpec["position"]>;

/**
 * What the picture becomes. `scale` covers fill, a single requested side and no
 * request at all; contain and cover scale first, then pad or crop to the box.
 */
export type FramePlan =
  | { fit: "scale"; width: number; height: number }
  | { fit: "contain"; width: number; height: number; scaled: Size; x: number; y: number; background: string }
  | { fit: "cover"; width: number; height: number; scaled: Size; x: number; y: number };

/** The nearest even size, at least 2: 4:2:0 chroma and most encoders need even sides. */
export function even(n: number): number {
  return Math.max(2, 2 * Math.round(n / 2));
}

/** Pixels as given, or "50%" of the source side. */
export function resolveDimension(value: number | string, source: number): number {
  if (typeof value === "number") return value;
  const percent = /^(\d{1,3})%$/.exec(value);
  if (!percent) throw new PipelineError("encode_failed", `"${value}" is neither pixels nor a percentage`);
  return (source * Number(percent[1])) / 100;
}

/** The display size (after rotation and sample aspect ratio) the filters will see. */
export function displaySize(source: SourceInfo): Size {
  if (!source.hasVideo || !source.width || !source.height) throw new PipelineError("input_no_video", "The input has no video stream");
  return { width: source.width, height: source.height };
}

export function planFrame(framing: Framing, source: Size): FramePlan {
  const width = framing.width === undefined ? undefined : resolveDimension(framing.width, source.width);
  const height = framing.height === undefined ? undefined : resolveDimension(framing.height, source.height);
  if (width === undefined) {
    if (height === undefined) return { fit: "scale", width: even(source.width), height: even(source.height) };
    return { fit: "scale", width: even((height * source.width) / source.height), height: even(height) };
  }
  if (height === undefined) return { fit: "scale", width: even(width), height: even((width * source.height) / source.width) };

  const box = { width: even(width), height: even(height) };
  switch (framing.fit ?? "contain") {
    case "fill":
      return { fit: "scale", ...box };
    case "contain": {
      // The box is even, so rounding the fitted side to even never leaves it.
      const ratio = Math.min(box.width / source.width, box.height / source.height);
      const scaled = { width: even(source.width * ratio), height: even(source.height * ratio) };
      return { fit: "contain", ...box, scaled, ...offsets(box, scaled, "center"), background: padColor(framing.background) };
    }
    case "cover": {
      const ratio = Math.max(box.width / source.width, box.height / source.height);
      const scaled = { width: even(source.width * ratio), height: even(source.height * ratio) };
      return { fit: "cover", ...box, scaled, ...offsets(scaled, box, framing.position ?? "center") };
    }
  }
}

/** Where the smaller rectangle sits inside the larger, on even pixels so chroma lines up. */
export function offsets(outer: Size, inner: Size, position: Position): { x: number; y: number } {
  const free = { x: outer.width - inner.width, y: outer.height - inner.height };
  const at = (axis: "x" | "y", side: "start" | "middle" | "end") =>
    side === "start" ? 0 : side === "end" ? free[axis] : 2 * Math.floor(free[axis] / 4);
  const horizontal = position.endsWith("left") ? "start" : position.endsWith("right") ? "end" : "middle";
  const vertical = position.startsWith("top") ? "start" : position.startsWith("bottom") ? "end" : "middle";
  return { x: at("x", horizontal), y: at("y", vertical) };
}

/**
 * The Worker accepts #rgb and #rrggbb; anything else is refused here too, because
 * the value lands inside a filter graph where a crafted string could add filters.
 */
export function padColor(background: string | undefined): string {
  if (background === undefined) return "black";
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(background)?.[1];
  if (!hex) throw new PipelineError("encode_failed", `background "${background}" is not a #rgb or #rrggbb colour`);
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join("") : hex;
  return `0x${full.toUpperCase()}`;
}

/** The plan as filters; setsar=1 because the sizes above are already display pixels. */
export function frameFilters(plan: FramePlan): string[] {
  switch (plan.fit) {
    case "scale":
      return [`scale=${plan.width}:${plan.height}`, "setsar=1"];
    case "contain":
      return [`scale=${plan.scaled.width}:${plan.scaled.height}`, `pad=${plan.width}:${plan.height}:${plan.x}:${plan.y}:color=${plan.background}`, "setsar=1"];
    case "cover":
      return [`scale=${plan.scaled.width}:${plan.scaled.height}`, `crop=${plan.width}:${plan.height}:${plan.x}:${plan.y}`, "setsar=1"];
  }
}

/** The part of the source an output covers: end clamped to the source, never empty. */
export interface TimeWindow {
  start: number;
  durationS: number;
  /** Whether the output stops before the source does. */
  cut: boolean;
}

export function timeWindow(requested: { start?: number; end?: number }, sourceDurationS: number): TimeWindow {
  const start = requested.start ?? 0;
  const end = Math.min(requested.end ?? Infinity, sourceDurationS);
  if (end <= start) throw new PipelineError("encode_failed", `start ${start} s is not before the end of the input (${sourceDurationS} s)`);
  return { start, durationS: end - start, cut: end < sourceDurationS };
}

/** The whole source as a window: what an output covers without a clip. */
export function wholeSource(source: Pick<SourceInfo, "durationS">): TimeWindow {
  return { start: 0, durationS: source.durationS, cut: false };
}

/**
 * The input with its window. Seeking before `-i` while re-encoding is frame-accurate
 * (ffmpeg decodes from the previous keyframe and drops what precedes `-ss`) and far
 * faster than decoding from the start; `-t` there bounds every stream alike.
 */
export function windowedInput(file: string, window: TimeWindow): string[] {
  return [...(window.start > 0 ? ["-ss", seconds(window.start)] : []), ...(window.cut ? ["-t", seconds(window.durationS)] : []), "-i", file];
}

/** Seconds for argv, to the millisecond, without float noise such as 0.30000000000000004. */
export function seconds(s: number): string {
  return String(Math.round(s * 1000) / 1000);
}
