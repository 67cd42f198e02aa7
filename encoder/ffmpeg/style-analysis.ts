import type { FfmpegCommand } from "./command";

/**
 * The ffmpeg runs that measure a video's style (encoder/style/analysis.ts runs them), one
 * decode per stage. Each writes what it measured to a text or raw file in the analysis's
 * own working directory (the runner keeps stdout for progress); pure parsers read them.
 * The input is an absolute path, named with `file:` so it never reads as an option.
 */

/** The width frames are measured at: statistics are means, so a small picture keeps them and decodes fast. */
export const STATS_WIDTH = 160;
/** Global motion is estimated at this width and frame rate: steps long enough for a slow zoom to move whole pixels. */
export const MOTION_WIDTH = 320;
export const MOTION_FPS = 10;
/** The PCM the onset analysis reads: mono float at this rate (bands up to its 11 kHz Nyquist). */
export const PCM_RATE = 22050;

export const VIDEO_STATS_FILE = "video-stats.txt";
export const AUDIO_STATS_FILE = "audio-stats.txt";
export const PCM_FILE = "audio.f32";
export const MOTION_FILE = "motion.trf";

/** scdet's threshold set above its 0–100 score range: it only annotates frames, it never drops any. */
const SCDET_ANNOTATE_ONLY = 100;

const input = (file: string) => `file:${file}`;

/**
 * video_analysis: every frame of the first video stream, scaled down in 8-bit 4:2:0 (the
 * scale the grade's FrameStats use), through signalstats (luma, chroma, saturation and
 * YDIF, the mean luma difference from the previous frame) and scdet (its scene-change
 * score), printed per frame with its time.
 */
export function videoStatsCommand(file: string, durationS: number): FfmpegCommand {
  const graph = [`scale=${STATS_WIDTH}:-2:flags=area`, "format=yuv420p", "signalstats", `scdet=threshold=${SCDET_ANNOTATE_ONLY}`, `metadata=mode=print:file=${VIDEO_STATS_FILE}`].join(",");
  return {
    args: ["-i", input(file), "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", graph, "-f", "null", "-"],
    outputs: [VIDEO_STATS_FILE],
    main: VIDEO_STATS_FILE,
    durationS,
  };
}

/**
 * audio_analysis: the first audio stream decoded once and split. One branch goes through
 * ebur128 (integrated loudness, loudness range, true peak) and astats (whole-file peak and
 * RMS levels: the crest factor), their running values printed every 100 ms; the other is
 * written as mono float PCM for the onset analysis in JS.
 */
export function audioAnalysisCommand(file: string, durationS: number): FfmpegCommand {
  const measures = [
    "ebur128=peak=true:metadata=1",
    "astats=metadata=1:reset=0:measure_perchannel=none:measure_overall=Peak_level+RMS_level",
    `ametadata=mode=print:file=${AUDIO_STATS_FILE}`,
    "anullsink",
  ].join(",");
  const graph = `[0:a:0]asplit=2[measure][pcm];[measure]${measures};[pcm]aresample=${PCM_RATE},aformat=sample_fmts=flt:channel_layouts=mono[out]`;
  return {
    args: ["-i", input(file), "-vn", "-sn", "-dn", "-filter_complex", graph, "-map", "[out]", "-c:a", "pcm_f32le", "-f", "f32le", PCM_FILE],
    outputs: [AUDIO_STATS_FILE, PCM_FILE],
    main: PCM_FILE,
    durationS,
  };
}

/**
 * motion_analysis: vidstabdetect's local motion fields between frames taken MOTION_FPS
 * times a second at MOTION_WIDTH, written to its transforms file. Its largest search
 * range (shakiness 10) so fast pans are still matched.
 */
export function motionCommand(file: string, durationS: number): FfmpegCommand {
  const graph = [`fps=${MOTION_FPS}`, `scale=${MOTION_WIDTH}:-2:flags=area`, `vidstabdetect=result=${MOTION_FILE}:shakiness=10:accuracy=15:stepsize=6:show=0`].join(",");
  return {
    args: ["-i", input(file), "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", graph, "-f", "null", "-"],
    outputs: [MOTION_FILE],
    main: MOTION_FILE,
    durationS,
  };
}

/** ffprobe: the index of every subtitle stream, one per line. */
export function subtitleStreamsArgv(file: string): string[] {
  return ["-v", "error", "-protocol_whitelist", "file", "-select_streams", "s", "-show_entries", "stream=index", "-of", "csv=p=0", input(file)];
}
