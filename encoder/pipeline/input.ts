import { open, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { TranscodeOrder } from "../contract";
import { PipelineError } from "../errors";
import type { GrowingInput } from "../ffmpeg/runner";
import { type StreamingLayout, streamingLayout } from "../media/streaming-layout";
import type { NetworkAccess } from "../net/guarded-fetch";
import { fetchTail, importInput } from "./import";

/** How long ffprobe and ffmpeg wait for bytes of the input that have not arrived yet. */
export const GROWING_INPUT_WAIT_MS = 5_000;
/** How often a reader at the end of the bytes arrived so far looks for more. */
const FOLLOW_POLL_MS = 2;
const FOLLOW_CHUNK_BYTES = 256 * 1024;
/**
 * How much of an MPEG-TS's end is fetched for its timing: ffprobe looks for the last
 * timestamps in its final 250 KB and further back when it finds none there.
 */
const TS_TAIL_BYTES = 1024 * 1024;
/** How much of its front goes with the tail: enough for every stream's first packets. */
const TS_SKETCH_HEAD_BYTES = 256 * 1024;

/** A file still arriving that can be read now: see streamingLayout. */
export interface EarlyInput {
  /** Its announced size. */
  sizeBytes: number;
  /**
   * For an MPEG-TS: a file in the working directory made of its first and last bytes,
   * from which ffprobe reads the timing (start, duration) the bytes arrived so far
   * cannot give (see ProbeOptions.timing).
   */
  timingFile?: string;
}

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
 * The job's input file, imported into the working directory. A faststart MP4, an
 * MPEG-TS or a Matroska/WebM file of announced length can be read while it is still
 * arriving (see streamingLayout): ffprobe is fed its bytes as they land, and ffmpeg
 * follows the growing MP4 or is fed the others' bytes through its stdin, so the encode
 * starts after the first bytes instead of the last. Whoever reads it
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
  private readonly url: string;
  private readonly importOptions: Parameters<typeof fetchTail>[3];
  private readonly stopImport = new AbortController();
  private readonly waitMs: number;
  private arrived = false;
  private readEarly: StreamingLayout | null = null;

  constructor(order: TranscodeOrder, dir: string, file: string, options: InputOptions) {
    this.file = file;
    this.filePath = path.join(dir, file);
    this.waitMs = options.growingWaitMs ?? GROWING_INPUT_WAIT_MS;
    const importFailed = new AbortController();
    this.readSignal = AbortSignal.any([options.signal, importFailed.signal]);
    let gotHead!: (head: { bytes: Buffer; total: number | null }) => void;
    this.head = new Promise((resolve) => (gotHead = resolve));
    this.url = order.input.url;
    this.importOptions = {
      maxBytes: order.limits.max_input_bytes,
      connectTimeoutMs: order.limits.connect_timeout_ms,
      readTimeoutMs: order.limits.read_timeout_ms,
      ...options.network,
      signal: AbortSignal.any([options.signal, this.stopImport.signal]),
    };
    this.imported = importInput(this.url, this.filePath, {
      ...this.importOptions,
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
   * all arrived; if so, says how. Rejects if the import fails first.
   */
  async readableEarly(): Promise<EarlyInput | null> {
    const first = await Promise.race([this.head, this.imported.then(() => null)]);
    if (!first || first.total === null || this.arrived) return null;
    const layout = streamingLayout(first.bytes);
    if (!layout) return null;
    let timingFile: string | undefined;
    if (layout === "mpegts") {
      timingFile = await this.writeTimingSketch(first.total);
      if (!timingFile || this.arrived) return null;
    }
    this.readEarly = layout;
    return { sizeBytes: first.total, timingFile };
  }

  /**
   * The MPEG-TS's first bytes and its last (fetched by a range request) in one file,
   * or undefined when the server will not give the range.
   */
  private async writeTimingSketch(total: number): Promise<string | undefined> {
    const tail = await fetchTail(this.url, total, TS_TAIL_BYTES, this.importOptions);
    if (!tail) return undefined;
    // The front the tail does not already hold: a short file is its tail alone.
    const headLength = Math.min(TS_SKETCH_HEAD_BYTES, total - tail.length);
    const parts: Buffer[] = [];
    let got = 0;
    try {
      if (headLength > 0) {
        for await (const chunk of this.arriving(this.readSignal)) {
          parts.push(Buffer.from(chunk.subarray(0, headLength - got)));
          got += Math.min(chunk.length, headLength - got);
          if (got >= headLength) break;
        }
      }
    } catch {
      // Slow to arrive, or the import failed: the whole file (or the failure) will tell.
      return undefined;
    }
    const file = `${this.file}.timing`;
    await writeFile(path.join(path.dirname(this.filePath), file), Buffer.concat([...parts, tail]), { flag: "wx" });
    return file;
  }

  /**
   * How ffmpeg reads the file now: following it (an MP4) or from its stdin while it is
   * still arriving; undefined once it is whole.
   */
  growing(): GrowingInput | undefined {
    if (!this.readEarly || this.arrived) return undefined;
    if (this.readEarly === "mp4") return { file: this.file, waitMs: this.waitMs };
    return { file: this.file, waitMs: this.waitMs, bytes: (stop) => this.arriving(stop) };
  }

  /**
   * Whether ffmpeg run with `args` can read the file while it is still arriving. A
   * followed MP4 can be opened any number of times; bytes through the one stdin can be
   * read once and front to back only: no second input of the file, and no seek into it
   * (Matroska's demuxer logs damage when asked to seek in a pipe).
   */
  readableBy(args: readonly string[]): boolean {
    if (this.readEarly !== "mpegts" && this.readEarly !== "matroska") return true;
    const reads = args.flatMap((arg, i) => (arg === "-i" && args[i + 1] === this.file ? [i] : []));
    return reads.length === 1 && !args.slice(0, reads[0]).includes("-ss");
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
