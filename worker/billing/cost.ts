import type { Kind } from "../api/schemas/kinds";
import type { JobSpec, RequestedOutput } from "../jobs/job-spec";
import type { Output, Task } from "../jobs/model";
import { type ThumbnailSpec, thumbnailFrameCount } from "../api/schemas/thumbnails";
import {
  ANIMATION_CODEC,
  AUDIO_PRICE_PER_MINUTE,
  IMAGE_PRICE_EACH,
  THUMBNAIL_FRAME_PRICE,
  type VideoCodec,
  priorityMultiplier,
  roundEur,
  tierOf,
  videoPricePerMinute,
} from "./prices";

/** What the probe told us that prices depend on. */
export interface PricedInput {
  duration_ms: number;
  width: number | null;
  height: number | null;
}

/**
 * One output's price: per minute of output (`rate` × minutes) or per item (`rate` ×
 * count, for stills and thumbnail frames). Rates already carry the priority multiplier.
 */
export interface CostLine {
  output_id: string;
  unit: "minute" | "item";
  rate: number;
  quantity: number;
}

type Size = { width: number; height: number };

/** Standard HLS rungs by short side, as the encoder's ladder makes them (encoder/ffmpeg/quality.ts). */
const LADDER_SHORT_SIDES = [1080, 720, 480, 360, 240];
const RESOLUTION_SHORT_SIDE: Record<string, number> = { "480p": 480, "720p": 720, "1080p": 1080, "1440p": 1440, "2160p": 2160, "4320p": 4320 };

function pixels(value: unknown, sourceSide: number): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.endsWith("%")) return (sourceSide * Number(value.slice(0, -1))) / 100;
  return undefined;
}

/** The picture an output asks for: both sides as given, one side with the source's aspect, or the source. */
function pictureSize(options: { width?: unknown; height?: unknown }, source: Size): Size {
  const w = pixels(options.width, source.width);
  const h = pixels(options.height, source.height);
  const aspect = source.height > 0 ? source.width / source.height : 16 / 9;
  if (w !== undefined && h !== undefined) return { width: w, height: h };
  if (w !== undefined) return { width: w, height: w / aspect };
  if (h !== undefined) return { width: h * aspect, height: h };
  return source;
}

/** A picture whose short side is `short`, in the given picture's aspect. */
function withShortSide(short: number, like: Size): Size {
  const long = Math.max(like.width, like.height) / Math.max(1, Math.min(like.width, like.height));
  return { width: short * long, height: short };
}

function videoRate(codec: VideoCodec, size: Size): number {
  return videoPricePerMinute[codec][tierOf(size.width * size.height)];
}

/** Minutes of output from an optional start/end window over the input. */
function windowMinutes(options: { start?: unknown; end?: unknown }, durationS: number): number {
  const start = typeof options.start === "number" ? options.start : 0;
  const end = Math.min(typeof options.end === "number" ? options.end : Infinity, durationS);
  return Math.max(0, end - start) / 60;
}

/** The ladder an adaptive output gets: every standard rung up to the picture's short side (or one rung at it). */
function ladder(picture: Size, source: Size): Size[] {
  const ceiling = Math.min(picture.width, picture.height, source.width, source.height);
  const rungs = LADDER_SHORT_SIDES.filter((s) => s <= ceiling);
  return (rungs.length > 0 ? rungs : [ceiling]).map((s) => withShortSide(s, picture));
}

function kindLines(kind: Kind, options: Record<string, unknown>, outputId: string, input: PricedInput, source: Size): CostLine[] {
  const durationS = input.duration_ms / 1000;
  switch (kind) {
    case "video":
      return [{ output_id: outputId, unit: "minute", rate: videoRate(options.codec as VideoCodec, pictureSize(options, source)), quantity: windowMinutes(options, durationS) }];
    case "animation":
      return [{ output_id: outputId, unit: "minute", rate: videoRate(ANIMATION_CODEC, pictureSize(options, source)), quantity: windowMinutes(options, durationS) }];
    case "adaptive_video": {
      const rate = ladder(pictureSize(options, source), source).reduce((sum, rung) => sum + videoRate("h264", rung), 0);
      return [{ output_id: outputId, unit: "minute", rate, quantity: windowMinutes(options, durationS) }];
    }
    case "audio":
      return [{ output_id: outputId, unit: "minute", rate: AUDIO_PRICE_PER_MINUTE, quantity: windowMinutes(options, durationS) }];
    case "image":
      return [{ output_id: outputId, unit: "item", rate: IMAGE_PRICE_EACH, quantity: 1 }];
  }
}

type VariantSpec = { codec: VideoCodec; resolution?: string; width?: number; height?: number };

function variantSize(variant: VariantSpec, source: Size): Size {
  const short = variant.resolution ? RESOLUTION_SHORT_SIDE[variant.resolution] : undefined;
  if (short !== undefined) return withShortSide(short, source);
  return pictureSize(variant, source);
}

/**
 * The job's priced lines once the input is known, from its plan: one per output, by the
 * task that makes it (its options hold what the output asks for), thumbnails by frame
 * count. A tool pipeline runs commands Kiln cannot price in advance, and the price
 * table has no line for style analysis and rendering: null for both.
 */
export function costLines(job: { spec: Pick<JobSpec, "priority">; tasks: readonly Task[] }, input: PricedInput): CostLine[] | null {
  if (job.tasks.some((t) => t.engine !== "transcode")) return null;
  const source = { width: input.width ?? 0, height: input.height ?? 0 };
  const lines = job.tasks.flatMap((task): CostLine[] => {
    const outputId = task.output_id;
    if (outputId === null) return [];
    if (task.kind === "thumbnail") {
      return [{ output_id: outputId, unit: "item", rate: THUMBNAIL_FRAME_PRICE, quantity: thumbnailFrameCount(task.options as ThumbnailSpec, input.duration_ms / 1000) }];
    }
    if (task.kind === "encode") {
      const video = (task.options as RequestedOutput).video ?? [];
      const rate = video.reduce((sum, v) => sum + videoRate(v.codec, variantSize(v as VariantSpec, source)), 0);
      return [{ output_id: outputId, unit: "minute", rate, quantity: input.duration_ms / 60_000 }];
    }
    return kindLines(task.kind as Kind, task.options, outputId, input, source);
  });
  const multiplier = priorityMultiplier[job.spec.priority];
  return lines.map((line) => ({ ...line, rate: line.rate * multiplier }));
}

/** The estimate: every line at its planned quantity. */
export function estimatedCost(lines: readonly CostLine[]): number {
  return roundEur(lines.reduce((sum, line) => sum + line.rate * line.quantity, 0));
}

/**
 * The actual cost: completed outputs only, per-minute lines at the duration ffprobe
 * found in the output (the planned one when it has none), per-item lines as planned.
 */
export function actualCost(lines: readonly CostLine[], outputs: readonly Output[]): number {
  let sum = 0;
  for (const line of lines) {
    const output = outputs.find((o) => o.id === line.output_id);
    if (output?.status !== "completed") continue;
    const measured = line.unit === "minute" ? output.facts?.duration_ms : null;
    sum += line.rate * (typeof measured === "number" ? measured / 60_000 : line.quantity);
  }
  return roundEur(sum);
}
