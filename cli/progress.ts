import { MultiBar, Presets, type SingleBar } from "cli-progress";

export interface Bar {
  update(value: number, payload?: Record<string, string>): void;
}

const silent: Bar = { update: () => undefined };

/**
 * Progress bars on stderr: one for an upload (bytes), one per stage of a job (its tasks,
 * 0–100). With --json there are none, and JSON lines carry the figures instead.
 */
export class Bars {
  private readonly multi: MultiBar | null;
  private readonly bars = new Map<string, SingleBar>();

  constructor(enabled: boolean) {
    this.multi = enabled
      ? new MultiBar(
          {
            format: " {label} |{bar}| {percentage}% {detail}",
            barsize: 30,
            hideCursor: true,
            // A pipe gets a line now and then rather than nothing.
            noTTYOutput: true,
            notTTYSchedule: 2000,
            autopadding: true,
          },
          Presets.shades_classic,
        )
      : null;
  }

  /** A bar named `key`, made on first use with `total` as its 100 %. */
  bar(key: string, label: string, total: number): Bar {
    if (!this.multi) return silent;
    let bar = this.bars.get(key);
    if (!bar) {
      bar = this.multi.create(total, 0, { label: label.padEnd(10), detail: "" });
      this.bars.set(key, bar);
    }
    const made = bar;
    return { update: (value, payload) => made.update(value, payload) };
  }

  /** Draws the bars one last time and leaves them on screen. */
  stop(): void {
    this.multi?.stop();
    this.bars.clear();
  }
}
