import { type DownloadOptions, type DownloadResult, downloadOutput } from "./download";
import { Jobs } from "./jobs";
import { Keys } from "./keys";
import { Origins } from "./origins";
import { Presets } from "./presets";
import { type RetryPolicy, defaultRetryPolicy } from "./retry";
import { Secrets } from "./secrets";
import { type Fetch, type Transport, createTransport } from "./transport";
import type { Output } from "./types";
import { Uploads } from "./uploads";
import type { WebSocketConstructor } from "./watch-socket";
import { Webhooks } from "./webhooks";

export interface KilnOptions {
  /** The deployment, e.g. `http://127.0.0.1:8787` for `npm start` (a trailing `/v1` is fine too). */
  baseUrl: string;
  apiKey: string;
  /** For a key of several organizations: the one to act in (`X-Organization-ID`). */
  organizationId?: string;
  /** Every HTTP request but tus's goes through it; globalThis.fetch by default. */
  fetch?: Fetch;
  /**
   * What Watch opens sockets with: browsers' and Node 22's global WebSocket by default, or
   * `ws` on Node 20. With none (or null), Watch reads the job's NDJSON stream instead.
   */
  WebSocket?: WebSocketConstructor | null;
  /** How calls safe to repeat are tried again (reads, and job creates, which carry an idempotency key). */
  retry?: Partial<RetryPolicy>;
}

/** Kiln's native API: `const kiln = new Kiln({ baseUrl, apiKey })`. */
export class Kiln {
  readonly jobs: Jobs;
  readonly uploads: Uploads;
  readonly origins: Origins;
  readonly secrets: Secrets;
  readonly presets: Presets;
  readonly keys: Keys;
  readonly webhooks: Webhooks;
  private readonly transport: Transport;

  constructor(options: KilnOptions) {
    const globalSocket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? null;
    this.transport = createTransport({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      organizationId: options.organizationId,
      fetch: options.fetch,
      retry: { ...defaultRetryPolicy, ...options.retry },
      WebSocket: options.WebSocket === undefined ? globalSocket : options.WebSocket,
    });
    this.jobs = new Jobs(this.transport);
    this.uploads = new Uploads(this.transport);
    this.origins = new Origins(this.transport);
    this.secrets = new Secrets(this.transport);
    this.presets = new Presets(this.transport);
    this.keys = new Keys(this.transport);
    this.webhooks = new Webhooks(this.transport);
  }

  /**
   * Downloads an output to a local path: a file to `destination`, a package (HLS, DASH,
   * adaptive) into the directory `destination` with every playlist and segment.
   */
  download(output: Output | string, destination: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    return downloadOutput(this.transport, output, destination, options);
  }
}
