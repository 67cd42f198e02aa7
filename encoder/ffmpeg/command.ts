/**
 * The shapes shared by the ffmpeg builders (pure: spec → argv), the prober and the
 * process runner. Builders never spawn anything; the runner never knows about specs.
 */

/** What the builders need to know about the input, from the probe. */
export interface SourceInfo {
  /** The input file, relative to the job's working directory. */
  file: string;
  /** Display size: after the rotation ffmpeg applies automatically and the sample aspect ratio. */
  width: number | null;
  height: number | null;
  durationS: number;
  fps: number | null;
  hasVideo: boolean;
  hasAudio: boolean;
}

/**
 * Work done after ffmpeg: by a library, for formats ffmpeg 5.1 cannot write (AVIF), or
 * a text file the builder composed (a thumbnail storyboard).
 */
export type PostStep = { kind: "avif"; source: string; target: string; quality: number } | { kind: "text"; target: string; text: string };

export interface FfmpegCommand {
  /**
   * Arguments after the runner's own (`-hide_banner -nostdin -nostats -loglevel error
   * -progress pipe:1` and, before each input, `-protocol_whitelist file,pipe`): inputs
   * are written as `-i <file>` and the runner inserts the whitelist before every `-i`.
   */
  args: string[];
  /** Every file the command (and its post step) leaves behind, relative to the working dir. */
  outputs: string[];
  /** The file that represents the output: the media file, the master playlist or the storyboard. */
  main: string;
  /** The file whose media facts describe the output, when `main` is not media (a storyboard's sprite sheet); default `main`. */
  factsFrom?: string;
  /** Seconds of media the command processes, for progress. */
  durationS: number;
  post?: PostStep;
}
