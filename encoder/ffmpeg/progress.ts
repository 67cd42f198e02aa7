import { LineReader } from "./lines";

/** No key=value line of ffmpeg's progress output comes near this; a longer one is not progress. */
const MAX_PROGRESS_LINE = 1024;

/**
 * Reads ffmpeg's `-progress pipe:1` output: blocks of key=value lines, each closed by
 * `progress=continue` or `progress=end`. Only the media time matters here; progress
 * is that time over the duration the command processes. Whatever arrives on the pipe,
 * it holds at most one line of MAX_PROGRESS_LINE characters.
 */
export class ProgressParser {
  private readonly lines = new LineReader(MAX_PROGRESS_LINE, "drop", (line) => this.line(line.trim()));
  private outTimeUs = 0;
  private lastFraction = 0;

  constructor(
    private readonly durationS: number,
    private readonly onProgress: (fraction: number) => void,
  ) {}

  /** How far the output got, in seconds of media: after the run, where the input ran out for a short one. */
  get reachedS(): number {
    return this.outTimeUs / 1e6;
  }

  /** Characters held of a line not yet ended. */
  get retained(): number {
    return this.lines.retained;
  }

  push(chunk: string): void {
    this.lines.push(chunk);
  }

  private line(line: string): void {
    const eq = line.indexOf("=");
    if (eq < 0) return;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    // out_time_ms is in microseconds too (a long-standing ffmpeg misnomer).
    if (key === "out_time_us" || key === "out_time_ms") {
      const us = Number(value);
      if (Number.isFinite(us) && us > this.outTimeUs) this.outTimeUs = us;
    } else if (key === "progress") {
      const fraction = value === "end" ? 1 : this.durationS > 0 ? Math.min(1, this.outTimeUs / 1e6 / this.durationS) : 0;
      // Monotonic: a rung of a ladder or a muxer flush can report an earlier time.
      if (fraction > this.lastFraction) {
        this.lastFraction = fraction;
        this.onProgress(fraction);
      }
    }
  }
}
