import { type StyleJson, styleJsonSchema } from "../../encoder/style/style-json";

/**
 * A StyleJSON as the style engine reports it, for tests that play the engine's side: the
 * Worker stores and shows it and measures nothing itself. Valid against the public schema.
 */
export const reportedStyleJson = (overrides: Partial<StyleJson> = {}): StyleJson =>
  styleJsonSchema.parse({
    version: "1.0",
    color_grade: { temperature: 22.5, tint: -3.1, saturation: 31, contrast: 12, highlights: -4, shadows: 6 },
    aspect_ratio: "9:16",
    frame_rate: 30,
    audio_style: { normalization_level: 0.82, compression_ratio: 3.4, bass_boost: 18, enhance_speech: false },
    cut_frequency: 30,
    motion_intensity: 41,
    zoom_usage: 12,
    primary_transition: { type: "cut", duration_ms: 0, easing: "linear" },
    secondary_transition: { type: "fade", duration_ms: 500, easing: "ease-in-out" },
    text_overlays: [],
    use_subtitles: false,
    detected_beats: [{ timestamp_ms: 500, confidence: 0.9, frequency: "bass" }],
    tempo_bpm: 120,
    music_genre: null,
    created_at: new Date().toISOString(),
    source_duration_seconds: 6,
    extraction_confidence: 0.78,
    ...overrides,
  });
