import { lookup as dnsLookup } from "node:dns/promises";
import type { LookupAddress } from "node:dns";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { type LookupFunction, type Socket, isIP } from "node:net";
import type { Readable } from "node:stream";
import type { AddressCategory, AddressPolicy, AddressPolicyOptions } from "./address-policy";

/**
 * One HTTP request (a GET, or an upload's PUT) to a user-supplied URL, connecting only to addresses an AddressPolicy
 * allows. The policy is applied inside the socket's own `lookup`, to exactly the
 * addresses the socket will then connect to, so there is no window between checking a
 * name and connecting in which DNS could answer differently (rebinding). IP-literal
 * hosts, for which Node skips `lookup`, are checked before the request is made. As a
 * second line, the connected socket's remote address is checked again.
 *
 * No redirects are followed here: each hop is a separate call, and so is checked anew.
 */

/** Resolves a host name to every address it has (dns.lookup with all: true by default). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true });

/** What a job's requests to user-supplied URLs may reach: the address policy's options and how names resolve. */
export interface NetworkAccess extends AddressPolicyOptions {
  /** TEST-ONLY: a resolver instead of the system's, so a test's names can point anywhere. */
  resolve?: Resolver;
}

/** The TEST-ONLY parts of NetworkAccess an encoder is started with (see EncoderOptions.testNetwork). */
export type TestNetwork = Pick<NetworkAccess, "exemptAddresses" | "resolve">;

/** What a job or probe run with `runtime` may reach. */
export function networkAccess(runtime: { allowPrivateNetworks: boolean; testNetwork?: TestNetwork }): NetworkAccess {
  return { allowPrivateNetworks: runtime.allowPrivateNetworks, ...runtime.testNetwork };
}

export type GuardedFetchErrorKind = "forbidden" | "connect_timeout" | "read_timeout" | "canceled" | "network";

/** Why a guarded request failed; `message` is safe to show users (no resolved addresses). */
export class GuardedFetchError extends Error {
  constructor(
    readonly kind: GuardedFetchErrorKind,
    message: string,
    readonly category?: Exclude<AddressCategory, "public">,
  ) {
    super(message);
    this.name = "GuardedFetchError";
  }
}

export interface GuardedRequestOptions {
  policy: AddressPolicy;
  /** Limit on DNS lookup + TCP connect + TLS handshake. */
  connectTimeoutMs: number;
  /** Limit on any silence from the server once connected (waiting for headers or body). */
  readTimeoutMs: number;
  signal?: AbortSignal;
  /** How host names are resolved; the system resolver unless a test injects one. */
  resolve?: Resolver;
  headers?: Record<string, string>;
  /** GET unless given; a PUT sends `body`. */
  method?: "GET" | "PUT";
  /** What a PUT sends: read once, so a retry needs a new one. */
  body?: Readable | Uint8Array;
  /** What the URL is, for messages: "input" unless given ("upload"). */
  what?: string;
  /** CA certificates (PEM) to trust for https instead of Node's bundled ones: for tests and private CAs in development. */
  ca?: string | Buffer;
}

/** scheme://host[:port] of a URL: what messages may show (paths and queries can hold signatures). */
export function describeOrigin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

function label(category: AddressCategory): string {
  return category.replace("_", "-");
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/** A socket `lookup` that resolves `hostname` and refuses unless every address is allowed. */
function guardedLookup(policy: AddressPolicy, port: number, resolve: Resolver, what: string): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const family = options.family === "IPv4" ? 4 : options.family === "IPv6" ? 6 : (options.family ?? 0);
        const addresses = family ? found.filter((a) => a.family === family) : found;
        if (addresses.length === 0) {
          callback(new GuardedFetchError("network", `Could not resolve the ${what} host ${hostname}`), "", 0);
          return;
        }
        // A name with any non-public address is refused outright, rather than connecting
        // to its public ones: such a name is either misconfigured or an attack.
        for (const a of addresses) {
          const refusal = policy.refusal(a.address, port);
          if (refusal) {
            callback(new GuardedFetchError("forbidden", forbiddenHost(what, hostname, refusal), refusal), "", 0);
            return;
          }
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => {
        callback(new GuardedFetchError("network", `Could not resolve the ${what} host ${hostname}${err.code ? ` (${err.code})` : ""}`), "", 0);
      },
    );
  };
}

function forbiddenHost(what: string, hostname: string, refusal: Exclude<AddressCategory, "public">): string {
  return `The ${what} host ${hostname} resolves to a ${label(refusal)} address, which Kiln may not connect to`;
}

/**
 * Sends a GET (or a PUT) to `url` (http or https) and resolves with the response once its headers
 * arrive; the body is the caller's to read. Timeouts, cancellation and policy stay in
 * force while the body is read: they destroy the response with a GuardedFetchError.
 * Rejects with GuardedFetchError (or, for other socket failures, kind "network").
 */
export function guardedRequest(url: URL, options: GuardedRequestOptions): Promise<IncomingMessage> {
  const { policy, signal } = options;
  const what = options.what ?? "input";
  const method = options.method ?? "GET";
  const origin = describeOrigin(url);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Promise.reject(new GuardedFetchError("forbidden", `Only http and https URLs can be used, not ${url.protocol}`));
  }
  if (signal?.aborted) return Promise.reject(new GuardedFetchError("canceled", `The ${what} was canceled`));
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = defaultPort(url);
  if (isIP(host)) {
    // Node connects to IP literals without calling `lookup`: check them here.
    const refusal = policy.refusal(host, port);
    if (refusal) return Promise.reject(new GuardedFetchError("forbidden", `The ${what} URL points at a ${label(refusal)} address (${host}), which Kiln may not connect to`, refusal));
  }

  return new Promise<IncomingMessage>((resolvePromise, reject) => {
    const secure = url.protocol === "https:";
    const req = (secure ? https : http).request({
      protocol: url.protocol,
      hostname: host,
      port,
      path: `${url.pathname}${url.search}`,
      method,
      headers: { "user-agent": "kiln-encoder", accept: "*/*", "accept-encoding": "identity", ...options.headers },
      auth: url.username || url.password ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
      lookup: guardedLookup(policy, port, options.resolve ?? systemResolver, what),
      // A socket of our own per request: no pooled socket checked under another policy.
      agent: false,
      ...(secure && options.ca ? { ca: options.ca } : {}),
    });
    let res: IncomingMessage | undefined;
    let done = false;

    const fail = (err: GuardedFetchError) => {
      if (res && !res.destroyed) res.destroy(err);
      req.destroy(err);
    };
    const onAbort = () => fail(new GuardedFetchError("canceled", `The ${what} was canceled`));
    const connectTimer = setTimeout(
      () => fail(new GuardedFetchError("connect_timeout", `Could not connect to ${origin} within ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    const cleanup = () => {
      if (done) return;
      done = true;
      clearTimeout(connectTimer);
      signal?.removeEventListener("abort", onAbort);
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    req.on("socket", (socket: Socket) => {
      socket.once(secure ? "secureConnect" : "connect", () => {
        clearTimeout(connectTimer);
        const remote = socket.remoteAddress;
        const refusal = remote === undefined ? "invalid" : policy.refusal(remote, socket.remotePort ?? port);
        if (refusal) {
          fail(new GuardedFetchError("forbidden", forbiddenHost(what, url.hostname, refusal), refusal));
          return;
        }
        socket.setTimeout(options.readTimeoutMs, () =>
          fail(new GuardedFetchError("read_timeout", `${origin} sent nothing for ${options.readTimeoutMs} ms`)),
        );
      });
    });
    req.on("response", (response) => {
      res = response;
      response.once("close", cleanup);
      resolvePromise(response);
    });
    req.on("error", (err) => {
      if (!res) cleanup();
      reject(toGuardedError(err, origin));
    });
    req.on("close", () => {
      if (!res) cleanup();
    });
    const { body } = options;
    if (body === undefined || body instanceof Uint8Array) {
      req.end(body);
      return;
    }
    // A refused address fails the lookup, before any socket connects: none of the body is sent there.
    body.once("error", (err) => req.destroy(err));
    body.pipe(req);
  });
}

/** Any error from a request as a GuardedFetchError, without addresses in the message. */
export function toGuardedError(err: unknown, origin: string): GuardedFetchError {
  if (err instanceof GuardedFetchError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  return new GuardedFetchError("network", `The connection to ${origin} failed${code ? ` (${code})` : ""}`);
}
