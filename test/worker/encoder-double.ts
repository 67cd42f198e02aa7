import { type IncomingMessage, createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The encoder pool as the Worker sees it, for Worker tests: it accepts work orders
 * (or answers 429 when told to) and records them and cancels, so a test can read an
 * order's lease token and play the encoder's side of the contract through the
 * Worker's own internal routes. The e2e suite runs the real encoder instead.
 *
 * Control: POST /control {job_id, busy: n} answers the next n orders for that job 429;
 * GET /orders/:job_id and GET /cancels/:job_id list what arrived.
 *
 * Probes (`POST /probe`, for uploads): answered with DOUBLE_PROBE_METADATA unless
 * POST /control/probe {upload_id, answers: [{status, body}]} scripted the next answers
 * for that upload (found in the signed URL's path), or, given an organization's id as
 * `upload_id`, for the next uploads of that organization (for uploads whose id the
 * Worker makes as it answers); GET /probes/:upload_id lists the requests that arrived.
 */
export const DOUBLE_PROBE_METADATA = {
  duration_ms: 4000,
  width: 1280,
  height: 720,
  codec: "h264",
  bitrate_kbps: 2500,
  framerate: 30,
  file_size_bytes: 4096,
  has_audio: true,
  audio_codec: "aac",
  rotation: 0,
};
export async function startEncoderDouble(): Promise<string> {
  const orders = new Map<string, unknown[]>();
  const cancels = new Map<string, number>();
  const busy = new Map<string, number>();
  const probes = new Map<string, unknown[]>();
  const probeAnswers = new Map<string, { status: number; body: unknown }[]>();
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString() || "null");
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://double");
    const json = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "POST" && url.pathname === "/work") {
      const order = (await read(req)) as { job_id: string };
      const left = busy.get(order.job_id) ?? 0;
      if (left > 0) {
        busy.set(order.job_id, left - 1);
        return json(429, { error: { code: "encoder_full" } });
      }
      orders.set(order.job_id, [...(orders.get(order.job_id) ?? []), order]);
      return json(202, { accepted: true });
    }
    if (req.method === "DELETE" && url.pathname.startsWith("/work/")) {
      const id = decodeURIComponent(url.pathname.slice(6));
      cancels.set(id, (cancels.get(id) ?? 0) + 1);
      return json(200, { canceled: true });
    }
    if (req.method === "POST" && url.pathname === "/probe") {
      const request = (await read(req)) as { url: string };
      const path = new URL(request.url).pathname;
      const uploadId = /\/(vid_[a-z0-9]+)\//.exec(path)?.[1] ?? "";
      const orgId = /\/uploads\/([^/]+)\//.exec(path)?.[1] ?? "";
      probes.set(uploadId, [...(probes.get(uploadId) ?? []), { ...request, authorization: req.headers.authorization }]);
      const scripted = probeAnswers.get(uploadId)?.shift() ?? probeAnswers.get(orgId)?.shift();
      return scripted ? json(scripted.status, scripted.body) : json(200, { ok: true, metadata: DOUBLE_PROBE_METADATA });
    }
    if (req.method === "POST" && url.pathname === "/control/probe") {
      const control = (await read(req)) as { upload_id: string; answers: { status: number; body: unknown }[] };
      probeAnswers.set(control.upload_id, control.answers);
      return json(200, {});
    }
    if (req.method === "GET" && url.pathname.startsWith("/probes/")) return json(200, probes.get(url.pathname.slice(8)) ?? []);
    if (req.method === "POST" && url.pathname === "/control") {
      const control = (await read(req)) as { job_id: string; busy: number };
      busy.set(control.job_id, control.busy);
      return json(200, {});
    }
    if (req.method === "GET" && url.pathname.startsWith("/orders/")) return json(200, orders.get(url.pathname.slice(8)) ?? []);
    if (req.method === "GET" && url.pathname.startsWith("/cancels/")) return json(200, { count: cancels.get(url.pathname.slice(9)) ?? 0 });
    json(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
