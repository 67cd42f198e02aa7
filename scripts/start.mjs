// `npm start`: set up what is missing, then run the whole local stack — the API on
// :8787 (local D1, R2, Queues, Durable Objects) and the encoder beside it. Ctrl-C stops both.
// An encoder that dies (a crash, the OOM killer) is restarted with backoff while the API
// keeps serving; its jobs continue on a later attempt once their lease expires.
import path from "node:path";
import { ensureDependencies, ensureFfmpeg } from "./bootstrap.mjs";
import { startStack } from "./stack.mjs";

ensureDependencies();
ensureFfmpeg();

const stack = await startStack({
  port: Number(process.env.PORT ?? 8787),
  encoderPort: process.env.ENCODER_PORT ? Number(process.env.ENCODER_PORT) : undefined,
  devKey: process.env.KILN_DEV_API_KEY ?? "sk_dev_local",
  stateDir: process.env.KILN_STATE_DIR ? path.resolve(process.env.KILN_STATE_DIR) : undefined,
  workDir: process.env.KILN_WORK_DIR ? path.resolve(process.env.KILN_WORK_DIR) : undefined,
  supervise: true,
});
const stop = async () => {
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
stack.worker.on("exit", async (code) => {
  await stack.stop();
  process.exit(code ?? 1);
});

const { url, devKey, devOrg } = stack;
const sample = JSON.stringify({ input: "https://example.com/video.mp4", kind: "video", options: { format: "mp4", quality: "high" } });
console.log(`
  Kiln is serving ${url}   (OpenAPI: ${url}/v1/openapi.json; encoder: ${stack.encoderUrl})
  Dev organization: ${devOrg}   API key: ${devKey}
  Dashboard: ${url}/   API reference: ${url}/docs

  Create a job (any http(s) URL this machine can reach, including one served from it):
    curl -s ${url}/v1/jobs -H 'Authorization: Bearer ${devKey}' -H 'Content-Type: application/json' -d '${sample}'
  Read it back, or watch it live (NDJSON; a WebSocket on the same URL):
    curl -s ${url}/v1/jobs/<id> -H 'Authorization: Bearer ${devKey}'
    curl -sN ${url}/v1/jobs/<id>/watch -H 'Authorization: Bearer ${devKey}'
`);
