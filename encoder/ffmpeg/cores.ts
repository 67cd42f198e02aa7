import { PipelineError } from "../errors";

/**
 * The encoder's CPU, counted in ffmpeg runs: at most `total` run at once (by default
 * one per core), the rest wait in arrival order. A job's slot is held through its
 * import, probe, verification and export too, which barely use a core; gating only the
 * runs lets the encoder take more jobs than it has cores, so one job's download or
 * upload overlaps another's encode instead of leaving its core idle. ffmpeg spreads a
 * run over several threads, so `total` runs keep every core busy.
 */
export class Cores {
  private running = 0;
  private readonly queue: { grant: () => void }[] = [];

  constructor(readonly total: number) {
    if (!Number.isInteger(total) || total < 1) throw new Error(`cores must be a positive integer, not ${total}`);
  }

  /** Runs holding a core now. */
  get busy(): number {
    return this.running;
  }

  /** Runs waiting for a core. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Resolves with a release once a core is this caller's; rejects with `canceled` if
   * `signal` aborts first (the place in line is given up). Release exactly once.
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(canceled());
    if (this.running < this.total) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(canceled());
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** `run` while holding a core. */
  async hold<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await run();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The core passes straight to the next in line, so `running` counts it throughout.
      const next = this.queue.shift();
      if (next) next.grant();
      else this.running--;
    };
  }
}

const canceled = () => new PipelineError("canceled", "The job was canceled");
