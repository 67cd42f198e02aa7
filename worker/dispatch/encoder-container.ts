import { Container } from "@cloudflare/containers";
import type { Env } from "../env";

/**
 * The encoder as a Cloudflare Container: one Durable Object per container instance,
 * built from `Dockerfile.encoder` (`[[containers]]` in wrangler.toml). A request to the
 * stub starts the container if it is not running, waits for port 8080 and proxies the
 * request; the encoder's own HTTP surface (POST /work, DELETE /work/:id, GET /health,
 * Bearer ENCODER_TOKEN) is unchanged. `encoder-client.ts` picks the instance for a job.
 *
 * Local development and the tests run the encoder as a plain process (ENCODER_URL) and
 * start wrangler/Miniflare with containers disabled, so this class is only ever
 * constructed in production: without a container runtime its constructor throws.
 */
export class EncoderContainer extends Container<Env> {
  override defaultPort = 8080;
  /** Ping the encoder's health route while starting instead of the library's `/ping`. */
  override pingEndpoint = "container/health";
  /**
   * Idle time before the container is stopped. The Worker talks to the container only to
   * hand over or cancel work (the encoder reports back over HTTP to PUBLIC_URL, not
   * through this object), so "idle" is decided by asking the encoder: see onActivityExpired.
   */
  override sleepAfter = "10m";
  override envVars = {
    ENCODER_TOKEN: this.env.ENCODER_TOKEN,
    // The encoder's default cores are os.cpus().length, which inside a VM need not match
    // the vCPUs the instance type buys; wrangler.toml's instance_type "standard-2" has 1
    // vCPU: one ffmpeg at a time, and two jobs so one's transfers overlap the other's encode.
    ENCODER_CORES: "1",
    ENCODER_CONCURRENCY: "2",
  };

  /**
   * The library stops the container once no request has reached it for `sleepAfter`.
   * A long encode makes no requests to it, so keep the container while the encoder
   * reports a busy slot; stop it only when it is really idle (or does not answer).
   */
  override async onActivityExpired(): Promise<void> {
    if (!this.ctx.container?.running) return;
    if (await this.encoding()) {
      this.renewActivityTimeout();
      return;
    }
    await this.stop();
  }

  private async encoding(): Promise<boolean> {
    try {
      const res = await this.containerFetch("http://container/health", { signal: AbortSignal.timeout(5_000) });
      const body = (await res.json()) as { slots?: { busy?: number } };
      return (body.slots?.busy ?? 0) > 0;
    } catch {
      return false;
    }
  }
}
