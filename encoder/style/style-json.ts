import { z } from "zod";

/**
 * StyleJSON 1.0, the public schema of a video's style (Clipzy's `app/schemas/style.py`
 * and its docs), shared by the encoder that measures it and the Worker that shows it.
 * Kiln measures every value from the video; a value it cannot measure is null (where
 * the schema allows) and lowers `extraction_confidence`, never a guess.
 */
const score = z.number().min(-100).max(100);
const percent = z.number().min(0).max(100);

export const transitionSchema = z.object({
  /** Kiln detects `cut`, `fade` (through black) and `dissolve` (frames blended). */
  type: z.string().min(1),
  duration_ms: z.number().int().nonnegative(),
  easing: z.string().min(1),
});
export type Transition = z.infer<typeof transitionSchema>;

export const beatSchema = z.object({
  timestamp_ms: z.number().nonnegative(),
  confidence: z.number().min(0).max(1),
  frequency: z.enum(["bass", "mid", "treble"]),
});
export type Beat = z.infer<typeof beatSchema>;

export const textOverlaySchema = z.object({
  content: z.string(),
  font: z.string(),
  size: z.number().int(),
  color: z.string(),
  position: z.string(),
  duration_ms: z.number().int().optional(),
});

export const styleJsonSchema = z.object({
  version: z.literal("1.0"),
  color_grade: z.object({ temperature: score, tint: score, saturation: score, contrast: score, highlights: score, shadows: score }),
  aspect_ratio: z.string().min(1),
  frame_rate: z.number().int().positive(),
  audio_style: z.object({
    normalization_level: z.number().min(0).max(1),
    compression_ratio: z.number().min(0),
    bass_boost: percent,
    enhance_speech: z.boolean(),
  }),
  cut_frequency: z.number().min(0),
  motion_intensity: percent,
  zoom_usage: percent,
  primary_transition: transitionSchema,
  secondary_transition: transitionSchema.nullable(),
  text_overlays: z.array(textOverlaySchema),
  use_subtitles: z.boolean(),
  detected_beats: z.array(beatSchema),
  tempo_bpm: z.number().positive().nullable(),
  music_genre: z.string().nullable(),
  created_at: z.string().datetime(),
  source_duration_seconds: z.number().nonnegative(),
  extraction_confidence: z.number().min(0).max(1),
});
export type StyleJson = z.infer<typeof styleJsonSchema>;

/** The dimensions application moves and then measures on the output. */
export const styleDimensions = [
  "temperature",
  "tint",
  "saturation",
  "contrast",
  "integrated_loudness",
  "aspect_ratio",
  "frame_rate",
  "cut_frequency",
  "zoom_usage",
] as const;
export type StyleDimension = (typeof styleDimensions)[number];

/**
 * How far rendering moved one dimension: the source's measure, the template's (after
 * config overrides), the output's, and the fraction of the gap closed
 * ((output − source) / (template − source); 1 when there was no gap and none was made,
 * null when a value is missing, e.g. loudness of a silent source). Aspect ratio is
 * compared as width ÷ height.
 */
export const styleComparisonSchema = z.object({
  dimension: z.enum(styleDimensions),
  source: z.number().nullable(),
  template: z.number().nullable(),
  output: z.number().nullable(),
  closed_fraction: z.number().nullable(),
});
export type StyleComparison = z.infer<typeof styleComparisonSchema>;
