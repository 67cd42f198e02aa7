import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, type Server, createServer } from "node:net";

/**
 * A TCP listener on one port of 127.0.0.1 (and of ::1 when the machine has it) that
 * counts every connection made to it and closes it at once: the SSRF suite's targets
 * point here, so any request the Worker lets through shows up as a count. The count is
 * read over a second, separate port (GET /), which the targets never name.
 */
export async function startConnectionCounter(): Promise<{ port: number; countUrl: string }> {
  let connections = 0;
  const counter = () =>
    createServer((socket) => {
      connections++;
      socket.destroy();
    });
  const listen = (server: Server, host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
    });
  const v4 = counter();
  const port = await listen(v4, "127.0.0.1", 0);
  v4.unref();
  const v6 = counter();
  await listen(v6, "::1", port).then(
    () => v6.unref(),
    () => undefined,
  );
  const control = createHttpServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ connections })));
  const controlPort = await listen(control as unknown as Server, "127.0.0.1", 0);
  control.unref();
  return { port, countUrl: `http://127.0.0.1:${controlPort}/` };
}
