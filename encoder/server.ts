import { serve } from "@hono/node-server";
import { createEncoderApp } from "./app";
import { allowPrivateNetworksFromEnv } from "./net/address-policy";

const token = process.env.ENCODER_TOKEN;
if (!token) {
  console.error("ENCODER_TOKEN must be set: the Worker authenticates to the encoder with it");
  process.exit(1);
}
const { app, running, warmProbes } = createEncoderApp({
  token,
  concurrency: process.env.ENCODER_CONCURRENCY ? Number(process.env.ENCODER_CONCURRENCY) : undefined,
  cores: process.env.ENCODER_CORES ? Number(process.env.ENCODER_CORES) : undefined,
  // Local development serves inputs from this machine; production never sets this.
  allowPrivateNetworks: allowPrivateNetworksFromEnv(process.env),
  heartbeatMs: process.env.ENCODER_HEARTBEAT_MS ? Number(process.env.ENCODER_HEARTBEAT_MS) : undefined,
  // How long an input still arriving may pause before its encode is run again from the whole file (default 5 s): an origin that sends in bursts wants longer.
  growingInputWaitMs: process.env.GROWING_INPUT_WAIT_MS ? Number(process.env.GROWING_INPUT_WAIT_MS) : undefined,
  ffmpeg: process.env.FFMPEG_PATH,
  ffprobe: process.env.FFPROBE_PATH,
});
const port = Number(process.env.PORT ?? 8788);
const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? "0.0.0.0" }, (info) => {
  console.log(JSON.stringify({ level: "info", message: "kiln encoder listening", port: info.port }));
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const job of running.values()) job.controller.abort();
    warmProbes.close();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 3_000).unref();
  });
}
