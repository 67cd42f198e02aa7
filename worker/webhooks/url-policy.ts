import { type AddressCategory, classifyAddress } from "../../encoder/net/address-policy";
import type { Env } from "../env";

/**
 * Which user URLs the Worker itself may connect to: webhook URLs, and (through
 * origins/validation.ts) the S3 endpoints of origins and secrets. In production
 * (`KILN_ENV=production`) an IP-literal host must be global unicast by the address
 * policy the encoder applies to every socket it opens (encoder/net/address-policy.ts),
 * and a name must not be one only local networks resolve: `localhost`, a single label
 * (`metadata`, `vm`, hosts-file names), or a name under localhost, internal, local,
 * localdomain or home.arpa. A Worker cannot resolve DNS itself, so a public-looking
 * name that resolves to a private address is not caught here; Cloudflare's egress does
 * not route Workers' subrequests to private networks, which covers that case. Callers
 * never follow redirects, so a public URL cannot bounce them inward.
 */
export function webhookUrlRefusal(url: string, env: Pick<Env, "KILN_ENV">): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "not a valid URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return `scheme ${parsed.protocol} is not http(s)`;
  if (env.KILN_ENV !== "production") return null;
  return hostRefusal(parsed.hostname);
}

export function isWebhookUrlAllowed(url: string, env: Pick<Env, "KILN_ENV">): boolean {
  return webhookUrlRefusal(url, env) === null;
}

const describe: Record<Exclude<AddressCategory, "public">, string> = {
  loopback: "a loopback address",
  private: "a private (RFC 1918) address",
  link_local: "a link-local address",
  metadata: "a cloud metadata address",
  cgnat: "a carrier-grade NAT (100.64.0.0/10) address",
  unique_local: "a unique-local (fc00::/7) address",
  unspecified: "the unspecified address",
  multicast: "a multicast address",
  broadcast: "the broadcast address",
  reserved: "a reserved address, not global unicast",
  invalid: "not a valid IP address",
};

const LOCAL_SUFFIX = /\.(?:localhost|internal|local|localdomain|home\.arpa)$/;

/**
 * Why a URL's host (as the WHATWG parser leaves it: lower case, every IPv4 spelling —
 * 2130706433, 0177.0.0.1, 0x7f000001, 127.1 — in dotted decimal, IPv6 compressed in
 * brackets) may not be connected to, or null.
 */
function hostRefusal(hostname: string): string | null {
  const isV4 = /^\d+\.\d+\.\d+\.\d+$/.test(hostname);
  if (isV4 || hostname.startsWith("[")) {
    const category = classifyAddress(hostname);
    return category === "public" ? null : `host ${hostname} is ${describe[category]}`;
  }
  const name = hostname.replace(/\.$/, "");
  if (name === "localhost" || LOCAL_SUFFIX.test(name)) return `host ${hostname} is a private name`;
  if (!name.includes(".")) return `host ${hostname} is a single-label name, which only local networks resolve`;
  return null;
}
