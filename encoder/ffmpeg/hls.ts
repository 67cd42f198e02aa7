import type { EncodeSpec } from "../contract";
import { lossyAudioArgs } from "./audio";
import type { FfmpegCommand, SourceInfo } from "./command";
import { type FramePlan, type Size, displaySize, even, frameFilters, planFrame, seconds, timeWindow, windowedInput } from "./framing";
import { DEFAULT_QUALITY, hlsLadder, ladderScale, videoQuality } from "./quality";

type AdaptiveSpec = Extract<EncodeSpec, { kind: "adaptive_video" }>;

export interface Rung {
  /** The variant's name and directory, e.g. "720p" (the short side, so portrait is named alike). */
  name: string;
  plan: FramePlan;
  /** Peak video bitrate in bps: the VBV cap and, through ffmpeg, the playlist's BANDWIDTH. */
  maxrate: number;
}

const SMALLEST_RUNG = hlsLadder[hlsLadder.length - 1]!;

/**
 * The ladder: every standard rung whose short side fits both the requested picture
 * (width/height/fit as for a video) and the source, so nothing is upscaled. A source
 * smaller than the smallest rung gets one rung at its own size. Each rung is the
 * requested picture scaled down, framed from the source directly (one scale per rung).
 */
export function planLadder(spec: AdaptiveSpec, source: Size): Rung[] {
  const top = planFrame(spec, source);
  const short = Math.min(top.width, top.height);
  const ceiling = Math.min(short, source.width, source.height);
  const standard = hlsLadder.filter((r) => r.size <= ceiling);
  // Below the smallest rung the cap shrinks with the picture's area.
  const sizes = standard.length > 0 ? standard : [{ size: even(ceiling), maxrate: Math.round(SMALLEST_RUNG.maxrate * (ceiling / SMALLEST_RUNG.size) ** 2) }];
  const scale = ladderScale[spec.quality ?? DEFAULT_QUALITY];
  return sizes.map(({ size, maxrate }) => {
    const box = { width: even((top.width * size) / short), height: even((top.height * size) / short) };
    // A scale plan's box already has the wanted aspect (the source's, or a requested stretch), so fill keeps it.
    const fit = top.fit === "scale" ? "fill" : top.fit;
    return { name: `${size}p`, plan: planFrame({ ...spec, ...box, fit }, source), maxrate: Math.round(maxrate * scale) };
  });
}

/**
 * Short clips get 2 s segments so a player still has several to switch rungs on;
 * otherwise 4 s, a common trade between start-up time and request count.
 */
export function segmentSeconds(durationS: number): number {
  return durationS < 12 ? 2 : 4;
}

/**
 * HLS with fMP4 segments from one decode: the source is split once per rung and each
 * branch scaled, every rung encoded with x264 at the tier's CRF under its rung's cap.
 * Keyframes are forced on segment boundaries (and scene-cut keyframes disabled) so
 * every rung cuts at the same instants and players can switch cleanly. Audio, when
 * present, is encoded once as an audio group that every variant refers to.
 *
 * Layout, all under `<outputBase>/`: master.m3u8, and per variant a directory with
 * index.m3u8, init_<name>.mp4 and seg_NNN.m4s. `%v` in a directory makes ffmpeg
 * create it, which is why each variant has one. Segment names and counts are known
 * only after the run, so `outputs` lists the playlists and init segments; the
 * pipeline lists the `<outputBase>/` directory for the full set.
 *
 * `progressive`: the package is published while ffmpeg writes it, so its playlists are
 * written as EVENT ones, rewritten after every segment (a VOD playlist is written only
 * at the end); the pipeline makes them VOD once the run is over.
 */
export function buildHlsCommand(spec: AdaptiveSpec, source: SourceInfo, outputBase: string, options: { progressive?: boolean } = {}): FfmpegCommand {
  const quality = spec.quality ?? DEFAULT_QUALITY;
  const window = timeWindow(spec, source.durationS);
  const rungs = planLadder(spec, displaySize(source));
  const segment = segmentSeconds(window.durationS);
  const { crf, speed } = videoQuality.h264[quality];

  const branches = rungs.map((_, i) => `[s${i}]`).join("");
  const graph = [`[0:v:0]split=${rungs.length}${branches}`, ...rungs.map((r, i) => `[s${i}]${[...frameFilters(r.plan), "format=yuv420p"].join(",")}[v${i}]`)].join(";");
  const caps = rungs.flatMap((r, i) => [`-maxrate:v:${i}`, String(r.maxrate), `-bufsize:v:${i}`, String(2 * r.maxrate)]);
  const group = source.hasAudio ? ",agroup:audio" : "";
  const streamMap = [...rungs.map((r, i) => `v:${i}${group},name:${r.name}`), ...(source.hasAudio ? ["a:0,agroup:audio,name:audio"] : [])].join(" ");
  const names = [...rungs.map((r) => r.name), ...(source.hasAudio ? ["audio"] : [])];

  return {
    args: [
      ...windowedInput(source.file, window),
      "-filter_complex", graph,
      ...rungs.flatMap((_, i) => ["-map", `[v${i}]`]),
      ...(source.hasAudio ? ["-map", "0:a:0", ...lossyAudioArgs("aac", quality)] : []),
      "-c:v", "libx264", "-preset", speed, "-crf", String(crf),
      ...caps,
      "-force_key_frames", `expr:gte(t,n_forced*${segment})`,
      "-sc_threshold", "0",
      "-f", "hls",
      "-hls_time", seconds(segment),
      "-hls_playlist_type", options.progressive ? "event" : "vod",
      "-hls_segment_type", "fmp4",
      "-hls_flags", "independent_segments",
      "-hls_fmp4_init_filename", "init_%v.mp4",
      "-hls_segment_filename", `${outputBase}/%v/seg_%03d.m4s`,
      "-master_pl_name", "master.m3u8",
      "-var_stream_map", streamMap,
      `${outputBase}/%v/index.m3u8`,
    ],
    outputs: [`${outputBase}/master.m3u8`, ...names.flatMap((n) => [`${outputBase}/${n}/index.m3u8`, `${outputBase}/${n}/init_${n}.mp4`])],
    main: `${outputBase}/master.m3u8`,
    durationS: window.durationS,
  };
}
