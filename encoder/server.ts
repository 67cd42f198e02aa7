import { serve } from "@hono/node-server";
import { createEncoderApp } from "./app";

const port = Number(process.env.PORT ?? 8788);
const server = serve({ fetch: createEncoderApp({ ffmpeg: process.env.FFMPEG_PATH ?? "ffmpeg" }).fetch, port, hostname: process.env.HOST ?? "0.0.0.0" }, (info) => {
  console.log(JSON.stringify({ level: "info", message: "kiln encoder listening", port: info.port }));
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
