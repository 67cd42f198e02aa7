import { open } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { TranscodeOrder } from "../contract";
import { PipelineError } from "../errors";
import type { GrowingInput } from "../ffmpeg/runner";
import { indexComesFirst } from "../media/mp4-layout";
import type { NetworkAccess } from "../net/guarded-fetch";
import { importInput } from "./import";

/** How long ffprobe and ffmpeg wait for bytes of the input that have not arrived yet. */
export const GROWING_INPUT_WAIT_MS = 5_000;
/** How often a reader at the end of the bytes arrived so far looks for more. */
const FOLLOW_POLL_MS = 2;
const FOLLOW_CHUNK_BYTES = 256 * 1024;

export interface InputOptions {
  signal: AbortSignal;
  network: NetworkAccess;
  /** Default GROWING_INPUT_WAIT_MS. */
  growingWaitMs?: number;
  /** Bytes arrived out of the announced total; not called once the file is read early. */
  onProgress: (bytes: number, total: number) => void;
  /** The whole file is on disk. */
  onImported: () => void;
}

/**
 * The job's input file, imported into the working directory. A faststart MP4 (its
 * index before its media data) of announced length can be read while it is still
 * arriving: ffprobe is fed its bytes as they land and ffmpeg follows the growing file,
 * so the encode starts after the first bytes instead of the last. Whoever reads it
 * early must treat any trouble reading as a reason to read it again once it has all
 * arrived (see FfmpegOutcome.loggedErrors): bytes that came later than the wait were
 * not read.
 */
export class JobInput {
  readonly file: string;
  private readonly filePath: string;
  /** Aborted when the job is canceled or the import fails: stops whatever reads the file early. */
  readonly readSignal: AbortSignal;
  private readonly imported: Promise<void>;
  private readonly head: Promise<{ bytes: Buffer; total: number | null }>;
  private readonly stopImport = new AbortController();
  private readonly waitMs: number;
  private arrived = false;
  private readEarly = false;

  constructor(order: TranscodeOrder, dir: string, file: string, options: InputOptions) {
    this.file = file;
    this.filePath = path.join(dir, file);
    this.waitMs = options.growingWaitMs ?? GROWING_INPUT_WAIT_MS;
    const importFailed = new AbortController();
    this.readSignal = AbortSignal.any([options.signal, importFailed.signal]);
    let gotHead!: (head: { bytes: Buffer; total: number | null }) => void;
    this.head = new Promise((resolve) => (gotHead = resolve));
    this.imported = importInput(order.input.url, this.filePath, {
      maxBytes: order.limits.max_input_bytes,
      connectTimeoutMs: order.limits.connect_timeout_ms,
      readTimeoutMs: order.limits.read_timeout_ms,
      ...options.network,
      signal: AbortSignal.any([options.signal, this.stopImport.signal]),
      onProgress: (bytes, total) => {
        if (total && !this.readEarly) options.onProgress(bytes, total);
      },
      onHead: (bytes, total) => gotHead({ bytes, total }),
    })
      .then(
        () => {
          this.arrived = true;
          options.onImported();
        },
        (err: unknown) => {
          importFailed.abort();
          throw err;
        },
      );
    // Observed through whole(); until then a failure must not count as unhandled.
    this.imported.catch(() => {});
  }

  /**
   * Waits for the first bytes and decides whether the file can be read before it has
   * all arrived; if so, returns its announced size. Rejects if the import fails first.
   */
  async readableEarly(): Promise<{ sizeBytes: number } | null> {
    const first = await Promise.race([this.head, this.imported.then(() => null)]);
    if (!first || first.total === null || this.arrived || !indexComesFirst(first.bytes)) return null;
    this.readEarly = true;
    return { sizeBytes: first.total };
  }

  /** How ffmpeg reads the file now: following it while it is still arriving. */
  growing(): GrowingInput | undefined {
    return this.readEarly && !this.arrived ? { file: this.file, waitMs: this.waitMs } : undefined;
  }

  /**
   * The file's bytes front to back as they arrive, for a reader that cannot follow a
   * growing file itself (an ffprobe reading its stdin). Throws when the next bytes take
   * longer than the wait, or when the import fails; ends when `stop` is aborted.
   */
  async *arriving(stop: AbortSignal): AsyncGenerator<Buffer> {
    const handle = await open(this.filePath, "r");
    try {
      let offset = 0;
      let lastGrowth = performance.now();
      // One buffer for every read: fresh ones fault in new pages, which costs more here
      // than the copy (see ByteSource: the reader is done with a chunk when it asks for the next).
      const chunk = Buffer.allocUnsafe(FOLLOW_CHUNK_BYTES);
      while (!stop.aborted) {
        if (this.readSignal.aborted) throw new PipelineError("input_unreachable", "The input stopped arriving");
        // Read after noting whether the import had ended, so its last bytes are not missed.
        const complete = this.arrived;
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
        if (bytesRead > 0) {
          offset += bytesRead;
          lastGrowth = performance.now();
          yield chunk.subarray(0, bytesRead);
        } else if (complete) {
          return;
        } else if (performance.now() - lastGrowth > this.waitMs) {
          throw new PipelineError("input_unreachable", `The input's next bytes took longer than ${this.waitMs} ms to arrive`);
        } else {
          await sleep(FOLLOW_POLL_MS);
        }
      }
    } finally {
      await handle.close();
    }
  }

  /** Resolves once the whole file is on disk; rejects with the import's failure. */
  whole(): Promise<void> {
    return this.imported;
  }

  /** Stops an import still running and waits until it has let go of the file. */
  async close(): Promise<void> {
    this.stopImport.abort();
    await this.imported.catch(() => {});
  }
}
