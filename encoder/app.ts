import { Hono } from "hono";
import { ffmpegVersion } from "./ffmpeg/version";

export const ENCODER_VERSION = "0.1.0";

/**
 * The encoder's HTTP surface. It turns work orders into media in later work; today
 * it reports its version and the ffmpeg it runs, which is what a container health
 * check and the Worker's dispatcher need to know first.
 */
export function createEncoderApp(options: { ffmpeg: string }) {
  const app = new Hono();
  const ffmpeg = ffmpegVersion(options.ffmpeg);
  ffmpeg.catch(() => undefined);
  app.get("/health", async (c) => {
    try {
      return c.json({ ok: true, service: "kiln-encoder", version: ENCODER_VERSION, ffmpeg: await ffmpeg });
    } catch (err) {
      return c.json({ ok: false, service: "kiln-encoder", version: ENCODER_VERSION, error: String(err) }, 503);
    }
  });
  return app;
}
