import { PipeProbe } from "./ffprobe-run";

/**
 * ffprobes started before they are needed, each blocked reading its stdin. Debian's
 * ffprobe takes 0.1–0.2 s to start (it loads some 215 shared libraries, bound at load
 * time), twice that beside a download; a warm one describes a faststart MP4 in about
 * 50 ms. Callers hand one only a file that reads front to back and start ffprobe cold
 * otherwise, or when none is ready.
 */
export class WarmProbes {
  private readonly idle = new Set<PipeProbe>();
  private closed = false;
  private handedOut = 0;

  /** `size` processes are kept ready; 0 keeps none, and every probe starts cold. */
  constructor(private readonly options: { size: number; ffprobe?: string }) {}

  get size(): number {
    return this.options.size;
  }

  get ready(): number {
    return this.idle.size;
  }

  /** How many have been handed out since the encoder started. */
  get taken(): number {
    return this.handedOut;
  }

  /**
   * Starts processes until `size` are ready. Their start-up takes CPU, so the encoder
   * calls this when it starts and when a job ends, not while the job encodes.
   */
  fill(): void {
    while (!this.closed && this.idle.size < this.options.size) {
      const probe = PipeProbe.start(this.options.ffprobe);
      this.idle.add(probe);
      probe.onExit(() => this.idle.delete(probe));
      probe.keepsProcessAlive(false);
    }
  }

  /** A ready process, or null when there is none (the caller starts ffprobe cold). */
  take(): PipeProbe | null {
    for (const probe of this.idle) {
      this.idle.delete(probe);
      if (probe.alive) {
        this.handedOut++;
        return probe;
      }
    }
    return null;
  }

  /** Ends the ready processes; none are started afterwards. */
  close(): void {
    this.closed = true;
    for (const probe of this.idle) probe.discard();
    this.idle.clear();
  }
}
