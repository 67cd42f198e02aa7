import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Resolver } from "../../encoder/net/guarded-fetch";
import { ImportError, type ImportOptions, fetchTail, importInput } from "../../encoder/pipeline/import";

/** A real HTTP server on loopback that counts the connections and requests it saw. */
interface TestServer {
  port: number;
  url: string;
  /** "127.0.0.1:port", for exemptAddresses. */
  endpoint: string;
  connections: number;
  requests: number;
  close(): Promise<void>;
}

const servers: TestServer[] = [];

async function serve(handler: http.RequestListener, tls?: { key: string; cert: string }): Promise<TestServer> {
  const listener: http.RequestListener = (req, res) => {
    state.requests++;
    handler(req, res);
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  server.on("connection", () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const state: TestServer = {
    port,
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    endpoint: `127.0.0.1:${port}`,
    connections: 0,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(state);
  return state;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A resolver for names that must never be looked up: fails the test if it is called. */
const noDns: Resolver = async (hostname) => {
  throw new Error(`unexpected DNS lookup of ${hostname}`);
};

let dir: string;
let dest: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "kiln-import-"));
  dest = path.join(dir, "input");
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

function opts(extra: Partial<ImportOptions> = {}): ImportOptions {
  return { maxBytes: 50 * 1024 * 1024, connectTimeoutMs: 2000, readTimeoutMs: 2000, ...extra };
}

async function failure(p: Promise<unknown>): Promise<ImportError> {
  const err = await p.then(
    () => {
      throw new Error("expected the import to fail");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImportError);
  return err as ImportError;
}

describe("importInput: downloads", () => {
  it("streams a response with Content-Length byte for byte, reporting progress", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "video/mp4", "content-length": body.length });
      res.end(body);
    });
    const progress: [number, number | null][] = [];
    const result = await importInput(`${server.url}/clip.mp4?X-Amz-Signature=secret`, dest, opts({
      exemptAddresses: [server.endpoint],
      onProgress: (bytes, total) => progress.push([bytes, total]),
    }));
    expect(result).toEqual({ bytes: body.length, contentType: "video/mp4", redirects: 0 });
    expect(sha256(await readFile(dest))).toBe(sha256(body));
    expect(progress[0]).toEqual([0, body.length]);
    expect(progress.at(-1)).toEqual([body.length, body.length]);
    expect(progress.every(([, total]) => total === body.length)).toBe(true);
  });

  it("hands over the first 64 KiB once, while the rest is still coming, with the file already there", async () => {
    const body = randomBytes(512 * 1024);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = await serve(async (_req, res) => {
      res.writeHead(200, { "content-length": body.length });
      res.write(body.subarray(0, 100 * 1024));
      await held;
      res.end(body.subarray(100 * 1024));
    });
    const heads: { head: Buffer; total: number | null; fileThere: boolean }[] = [];
    const done = importInput(`${server.url}/clip.mp4`, dest, opts({
      exemptAddresses: [server.endpoint],
      onHead: (head, total) => {
        heads.push({ head, total, fileThere: existsSync(dest) });
        release();
      },
    }));
    await done;
    expect(heads).toHaveLength(1);
    expect(heads[0]!.head.equals(body.subarray(0, 64 * 1024))).toBe(true);
    expect(heads[0]).toMatchObject({ total: body.length, fileThere: true });

    // A body shorter than 64 KiB is handed over whole, at its end.
    const small = randomBytes(1000);
    const smallServer = await serve((_req, res) => res.end(small));
    const smallHeads: Buffer[] = [];
    await importInput(`${smallServer.url}/small`, path.join(dir, "small"), opts({ exemptAddresses: [smallServer.endpoint], onHead: (head) => smallHeads.push(head) }));
    expect(smallHeads).toHaveLength(1);
    expect(smallHeads[0]!.equals(small)).toBe(true);
  });

  it("streams a chunked response without Content-Length", async () => {
    const body = randomBytes(1024 * 1024 + 3);
    const server = await serve(async (_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      for (let i = 0; i < body.length; i += 100_000) {
        res.write(body.subarray(i, i + 100_000));
        await sleep(1);
      }
      res.end();
    });
    const totals = new Set<number | null>();
    const result = await importInput(`${server.url}/stream`, dest, opts({ exemptAddresses: [server.endpoint], onProgress: (_b, t) => totals.add(t) }));
    expect(result.bytes).toBe(body.length);
    expect(sha256(await readFile(dest))).toBe(sha256(body));
    expect([...totals]).toEqual([null]);
  });

  it("fails input_unreachable when the body ends before its Content-Length", async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { "content-length": 1000 });
      res.write(Buffer.alloc(100));
      setTimeout(() => req.socket.destroy(), 20);
    });
    const err = await failure(importInput(server.url, dest, opts({ exemptAddresses: [server.endpoint] })));
    expect(err.code).toBe("input_unreachable");
    expect(existsSync(dest)).toBe(false);
  });
});

describe("importInput: redirects", () => {
  /** /hop/N redirects to /hop/N-1 (alternately relative and absolute); /hop/0 serves the body. */
  async function redirector(body: Buffer) {
    return serve((req, res) => {
      const n = Number(/^\/hop\/(\d+)$/.exec(req.url ?? "")?.[1] ?? NaN);
      if (n > 0) {
        res.writeHead(n % 2 ? 302 : 307, { location: n % 2 ? `/hop/${n - 1}` : `http://127.0.0.1:${(req.socket.localPort ?? 0)}/hop/${n - 1}` });
        res.end("moved");
      } else if (n === 0) {
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
      } else {
        res.writeHead(404).end();
      }
    });
  }

  it("follows a chain of 5 redirects", async () => {
    const body = randomBytes(10_000);
    const server = await redirector(body);
    const result = await importInput(`${server.url}/hop/5`, dest, opts({ exemptAddresses: [server.endpoint] }));
    expect(result.redirects).toBe(5);
    expect(sha256(await readFile(dest))).toBe(sha256(body));
    expect(server.requests).toBe(6);
  });

  it("refuses a 6th redirect with input_unreachable", async () => {
    const server = await redirector(randomBytes(100));
    const err = await failure(importInput(`${server.url}/hop/6`, dest, opts({ exemptAddresses: [server.endpoint] })));
    expect(err.code).toBe("input_unreachable");
    expect(err.message).toMatch(/redirected more than 5 times/);
    expect(server.requests).toBe(6); // the 6th Location is never requested
    expect(existsSync(dest)).toBe(false);
  });

  it("refuses a redirect to a non-http scheme with input_forbidden", async () => {
    const server = await serve((_req, res) => res.writeHead(302, { location: "file:///etc/passwd" }).end());
    const err = await failure(importInput(server.url, dest, opts({ exemptAddresses: [server.endpoint] })));
    expect(err.code).toBe("input_forbidden");
  });
});

describe("importInput: HTTP errors and limits", () => {
  it.each([404, 500])("fails input_unreachable on HTTP %i, with the status in the message", async (status) => {
    const server = await serve((_req, res) => res.writeHead(status).end("nope"));
    const err = await failure(importInput(`${server.url}/x?sig=secret`, dest, opts({ exemptAddresses: [server.endpoint] })));
    expect(err.code).toBe("input_unreachable");
    expect(err.message).toContain(String(status));
    expect(err.message).not.toContain("secret");
    expect(existsSync(dest)).toBe(false);
  });

  it("fails input_too_large from Content-Length without downloading the body", async () => {
    let sent = 0;
    const server = await serve((_req, res) => {
      // Announce 1 GiB, send headers and one chunk, then hold the connection open.
      res.writeHead(200, { "content-length": 1024 ** 3 });
      res.write(Buffer.alloc(1024), () => (sent += 1024));
    });
    const err = await failure(importInput(server.url, dest, opts({ maxBytes: 1024 * 1024, readTimeoutMs: 10_000, exemptAddresses: [server.endpoint] })));
    expect(err.code).toBe("input_too_large");
    expect(err.message).toContain(String(1024 ** 3));
    expect(sent).toBeLessThanOrEqual(1024);
    expect(existsSync(dest)).toBe(false);
  });

  it("fails input_too_large as soon as a chunked stream passes the limit, and removes the partial file", async () => {
    let stopped = false;
    let written = 0;
    const server = await serve(async (req, res) => {
      req.socket.on("close", () => (stopped = true));
      res.writeHead(200);
      // Up to 64 MiB, far past the limit, unless the client hangs up first.
      while (!stopped && written < 64 * 1024 * 1024) {
        const chunk = Buffer.alloc(64 * 1024, 7);
        written += chunk.length;
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off("drain", done).off("close", done);
              resolve();
            };
            res.on("drain", done).on("close", done);
          });
        }
      }
      res.end();
    });
    let maxSeen = 0;
    const maxBytes = 256 * 1024;
    const err = await failure(importInput(server.url, dest, opts({ maxBytes, exemptAddresses: [server.endpoint], onProgress: (b) => (maxSeen = Math.max(maxSeen, b)) })));
    expect(err.code).toBe("input_too_large");
    expect(maxSeen).toBeLessThanOrEqual(maxBytes);
    expect(existsSync(dest)).toBe(false);
    await sleep(50);
    expect(stopped).toBe(true);
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it("accepts an input of exactly maxBytes", async () => {
    const body = randomBytes(4096);
    const server = await serve((_req, res) => res.end(body));
    const result = await importInput(server.url, dest, opts({ maxBytes: 4096, exemptAddresses: [server.endpoint] }));
    expect(result.bytes).toBe(4096);
  });
});

describe("importInput: timeouts and cancellation", () => {
  it("fails input_unreachable when the server stalls mid-body (read timeout)", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": 10_000 });
      res.write(Buffer.alloc(100));
      setTimeout(() => res.end(Buffer.alloc(9_900)), 5_000).unref();
    });
    const started = Date.now();
    const err = await failure(importInput(server.url, dest, opts({ readTimeoutMs: 300, exemptAddresses: [server.endpoint] })));
    expect(err.code).toBe("input_unreachable");
    expect(err.message).toMatch(/sent nothing for 300 ms/);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(existsSync(dest)).toBe(false);
  });

  it("fails input_unreachable when the server accepts but never answers (read timeout)", async () => {
    const server = await serve(() => {
      /* never respond */
    });
    const err = await failure(importInput(server.url, dest, opts({ readTimeoutMs: 300, exemptAddresses: [server.endpoint] })));
    expect(err.code).toBe("input_unreachable");
    expect(err.message).toMatch(/sent nothing/);
    expect(server.requests).toBe(1);
  });

  it("fails input_unreachable when connecting (here: resolving) takes longer than the connect timeout", async () => {
    const hang: Resolver = () => new Promise(() => {});
    const err = await failure(importInput("http://slow.example.test/", dest, opts({ connectTimeoutMs: 200, resolve: hang })));
    expect(err.code).toBe("input_unreachable");
    expect(err.message).toMatch(/within 200 ms/);
  });

  it("fails input_unreachable when nothing listens, without showing the resolved address", async () => {
    const server = await serve(() => {});
    const { endpoint, port } = server;
    await server.close();
    const resolve: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];
    const err = await failure(importInput(`http://gone.example.test:${port}/`, dest, opts({ resolve, exemptAddresses: [endpoint] })));
    expect(err.code).toBe("input_unreachable");
    expect(err.message).toBe(`The connection to http://gone.example.test:${port} failed (ECONNREFUSED)`);
  });

  it("stops with canceled when the signal aborts mid-download, and removes the file", async () => {
    const server = await serve(async (req, res) => {
      res.writeHead(200, { "content-length": 10 * 1024 * 1024 });
      while (!req.socket.destroyed) {
        res.write(Buffer.alloc(16 * 1024));
        await sleep(5);
      }
    });
    const controller = new AbortController();
    const err = await failure(importInput(server.url, dest, opts({
      exemptAddresses: [server.endpoint],
      signal: controller.signal,
      onProgress: (bytes) => {
        if (bytes >= 64 * 1024) controller.abort();
      },
    })));
    expect(err.code).toBe("canceled");
    expect(existsSync(dest)).toBe(false);
  });

  it("stops with canceled while waiting for headers", async () => {
    const server = await serve(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const err = await failure(importInput(server.url, dest, opts({ exemptAddresses: [server.endpoint], signal: controller.signal })));
    expect(err.code).toBe("canceled");
  });

  it("does nothing when the signal is already aborted", async () => {
    const server = await serve((_req, res) => res.end("x"));
    const err = await failure(importInput(server.url, dest, opts({ exemptAddresses: [server.endpoint], signal: AbortSignal.abort() })));
    expect(err.code).toBe("canceled");
    expect(server.connections).toBe(0);
  });
});

describe("importInput: SSRF guard", () => {
  it("refuses a loopback server by IP without connecting to it", async () => {
    const server = await serve((_req, res) => res.end("secret"));
    const err = await failure(importInput(`${server.url}/`, dest, opts({ resolve: noDns })));
    expect(err.code).toBe("input_forbidden");
    expect(err.message).toMatch(/loopback/);
    expect(server.connections).toBe(0);
  });

  it("refuses localhost (a name resolving to loopback) without connecting to it", async () => {
    const server = await serve((_req, res) => res.end("secret"));
    const err = await failure(importInput(`http://localhost:${server.port}/`, dest, opts()));
    expect(err.code).toBe("input_forbidden");
    expect(server.connections).toBe(0);
  });

  // IP literals are refused before any socket exists; `noDns` proves no lookup happens either.
  it.each([
    "http://10.0.0.1/",
    "http://10.255.1.2:8080/x",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://0/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "https://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://017700000001/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://[fc00::1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
  ])("refuses %s with input_forbidden before connecting", async (url) => {
    const err = await failure(importInput(url, dest, opts({ resolve: noDns })));
    expect(err.code).toBe("input_forbidden");
    expect(existsSync(dest)).toBe(false);
  });

  it.each([
    ["10.0.0.1", 4],
    ["172.16.5.4", 4],
    ["192.168.0.10", 4],
    ["169.254.169.254", 4],
    ["127.0.0.1", 4],
    ["::1", 6],
    ["::ffff:127.0.0.1", 6],
    ["fd00:ec2::254", 6],
  ] as const)("refuses a host name that resolves to %s", async (address, family) => {
    const resolve: Resolver = async () => [{ address, family }];
    const err = await failure(importInput("https://media.example.test/clip.mp4", dest, opts({ resolve })));
    expect(err.code).toBe("input_forbidden");
    expect(err.message).toContain("media.example.test");
    expect(err.message).not.toContain(address); // resolved addresses are not shown to users
  });

  it("refuses a host name with any non-public address among public ones", async () => {
    const resolve: Resolver = async () => [
      { address: "93.184.216.34", family: 4 },
      { address: "10.0.0.7", family: 4 },
    ];
    const err = await failure(importInput("http://mixed.example.test/", dest, opts({ resolve })));
    expect(err.code).toBe("input_forbidden");
  });

  it("refuses non-http schemes", async () => {
    for (const url of ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/"]) {
      const err = await failure(importInput(url, dest, opts({ resolve: noDns })));
      expect(err.code).toBe("input_forbidden");
    }
    expect((await failure(importInput("not a url", dest, opts()))).code).toBe("input_unreachable");
  });

  it.each([
    ["another loopback port", (p2: number) => `http://127.0.0.1:${p2}/`],
    ["localhost on another port", (p2: number) => `http://localhost:${p2}/`],
    ["IPv4-mapped loopback", (p2: number) => `http://[::ffff:127.0.0.1]:${p2}/`],
    ["a private address", () => "http://10.0.0.1/"],
    ["a 192.168 address", () => "http://192.168.0.1:8080/"],
    ["the metadata service", () => "http://169.254.169.254/latest/meta-data/iam/"],
  ])("refuses a redirect from an exempt server to %s, without connecting there", async (_name, target) => {
    const p2 = await serve((_req, res) => res.end("internal secret"));
    const p1 = await serve((_req, res) => res.writeHead(302, { location: target(p2.port) }).end());
    const err = await failure(importInput(`${p1.url}/start`, dest, opts({ exemptAddresses: [p1.endpoint] })));
    expect(err.code).toBe("input_forbidden");
    expect(p1.requests).toBe(1);
    expect(p2.connections).toBe(0);
    expect(p2.requests).toBe(0);
    expect(existsSync(dest)).toBe(false);
  });

  it("checks the resolved address, not the name: an exempt ip:port is reachable under any name", async () => {
    const server = await serve((_req, res) => res.end("ok"));
    const resolve: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];
    const result = await importInput(`http://files.example.test:${server.port}/`, dest, opts({ resolve, exemptAddresses: [server.endpoint] }));
    expect(result.bytes).toBe(2);
    // …while the same name on a port that is not exempt is refused.
    const other = await serve((_req, res) => res.end("no"));
    const err = await failure(importInput(`http://files.example.test:${other.port}/`, path.join(dir, "other"), opts({ resolve, exemptAddresses: [server.endpoint] })));
    expect(err.code).toBe("input_forbidden");
    expect(other.connections).toBe(0);
  });

  it("reaches loopback when private networks are allowed", async () => {
    const body = randomBytes(5000);
    const server = await serve((_req, res) => res.end(body));
    await importInput(`http://localhost:${server.port}/`, dest, opts({ allowPrivateNetworks: true }));
    expect(sha256(await readFile(dest))).toBe(sha256(body));
    await rm(dest);
    await importInput(`${server.url}/`, dest, opts({ allowPrivateNetworks: true }));
    expect(sha256(await readFile(dest))).toBe(sha256(body));
  });
});

/** A self-signed certificate for media.example.test, made with openssl for this run. */
function selfSigned(): { key: string; cert: string } | null {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "kiln-import-tls-"));
  const key = path.join(tmp, "key.pem");
  const cert = path.join(tmp, "cert.pem");
  try {
    const subject = ["-subj", "/CN=media.example.test", "-addext", "subjectAltName=DNS:media.example.test"];
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", ...subject], { stdio: "ignore" });
    return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
  } catch {
    return null; // no openssl: the https tests are skipped
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
const tls = selfSigned();

describe.skipIf(!tls)("importInput: https", () => {
  const resolve: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];

  it("downloads over TLS; the connect timeout ends at the handshake, not at the response", async () => {
    const body = randomBytes(200_000);
    const server = await serve((_req, res) => {
      setTimeout(() => res.end(body), 800); // longer than connectTimeoutMs
    }, tls!);
    const result = await importInput(`https://media.example.test:${server.port}/clip.mp4`, dest, opts({
      resolve, ca: tls!.cert, connectTimeoutMs: 300, readTimeoutMs: 3000, exemptAddresses: [server.endpoint],
    }));
    expect(result.bytes).toBe(body.length);
    expect(sha256(await readFile(dest))).toBe(sha256(body));
  });

  it("fails input_unreachable on a certificate it does not trust", async () => {
    const server = await serve((_req, res) => res.end("x"), tls!);
    const err = await failure(importInput(`https://media.example.test:${server.port}/`, dest, opts({ resolve, exemptAddresses: [server.endpoint] })));
    expect(err.code).toBe("input_unreachable");
    expect(err.message).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(server.requests).toBe(0);
  });
});

describe("fetchTail: an input's last bytes, beside its import", () => {
  /** A server that answers ranges of `body` (206) when `ranges`, else the whole body (200), behind `hops` redirects. */
  async function ranged(body: Buffer, ranges: boolean, hops = 0) {
    return serve((req, res) => {
      const hop = /^\/hop\/(\d+)$/.exec(req.url ?? "");
      if (hop && Number(hop[1]) > 0) return res.writeHead(302, { location: `/hop/${Number(hop[1]) - 1}` }).end();
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
      if (!ranges || !range) return res.writeHead(200, { "content-length": body.length }).end(body);
      const [from, to] = [Number(range[1]), Number(range[2])];
      res.writeHead(206, { "content-length": to - from + 1, "content-range": `bytes ${from}-${to}/${body.length}` }).end(body.subarray(from, to + 1));
    });
  }

  it("asks for exactly the last bytes, through redirects, and returns them", async () => {
    const body = randomBytes(200_000);
    const server = await ranged(body, true);
    const tail = await fetchTail(`${server.url}/hop/2`, body.length, 50_000, opts({ exemptAddresses: [server.endpoint] }));
    expect(tail && sha256(tail)).toBe(sha256(body.subarray(150_000)));
    expect(server.requests).toBe(3);
    // A file shorter than the tail asked for is returned whole.
    expect(sha256((await fetchTail(`${server.url}/x`, body.length, 1_000_000, opts({ exemptAddresses: [server.endpoint] })))!)).toBe(sha256(body));
  });

  it("is null when the server answers with the whole file, or with a range that is not the one asked", async () => {
    const body = randomBytes(100_000);
    const whole = await ranged(body, false);
    expect(await fetchTail(`${whole.url}/x`, body.length, 10_000, opts({ exemptAddresses: [whole.endpoint] }))).toBeNull();
    // The file changed size between the import's answer and this one.
    const other = await ranged(randomBytes(120_000), true);
    expect(await fetchTail(`${other.url}/x`, body.length, 10_000, opts({ exemptAddresses: [other.endpoint] }))).toBeNull();
  });

  it("never connects where the import may not: a loopback server is refused and sees no connection", async () => {
    const server = await ranged(randomBytes(10_000), true);
    expect(await fetchTail(`${server.url}/x`, 10_000, 1_000, opts({ resolve: noDns }))).toBeNull();
    expect(server.connections).toBe(0);
  });
});
