/**
 * Which IP addresses Kiln may open connections to on a user's behalf: the one address
 * policy of the encoder and the Worker (which imports this module as it imports the
 * contract, so it stays pure: no Node or Workers APIs).
 *
 * Input URLs, subtitle URLs, tool URLs, export upload URLs, webhook URLs and bucket
 * endpoints are user-supplied, so reaching them must not become a way into Kiln's own
 * network (SSRF): only global unicast addresses are allowed; loopback, private ranges,
 * link-local, cloud metadata endpoints and every other special-purpose range are
 * refused. The encoder checks the address a socket is about to connect to (see
 * guarded-fetch.ts), never the host name, so a name that resolves differently on a
 * second lookup cannot slip through; the Worker, which cannot resolve names, checks IP
 * literals with it (worker/webhooks/url-policy.ts).
 */

/** What kind of address an IP is; only "public" may be connected to. */
export type AddressCategory =
  | "public"
  | "loopback"
  | "private"
  | "link_local"
  | "metadata"
  | "cgnat"
  | "unique_local"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "reserved"
  | "invalid";

interface Rule {
  /** Network address as bytes (4 for IPv4, 16 for IPv6). */
  net: Uint8Array;
  bits: number;
  category: AddressCategory;
}

function rule(cidr: string, category: AddressCategory): Rule {
  const [ip, bits] = cidr.split("/") as [string, string | undefined];
  const net = parseIp(ip);
  if (!net) throw new Error(`bad rule ${cidr}`);
  return { net, bits: bits === undefined ? net.length * 8 : Number(bits), category };
}

/** IPv4 special-purpose ranges (IANA registry), most specific first. */
const V4_RULES: Rule[] = [
  rule("169.254.169.254/32", "metadata"), // AWS, GCP, Azure, OpenStack, DigitalOcean…
  rule("168.63.129.16/32", "metadata"), // Azure wire server (a public-range address that only the host answers)
  rule("255.255.255.255/32", "broadcast"),
  rule("0.0.0.0/32", "unspecified"),
  rule("0.0.0.0/8", "reserved"), // "this network"
  rule("10.0.0.0/8", "private"),
  rule("100.64.0.0/10", "cgnat"), // includes Alibaba's metadata at 100.100.100.200
  rule("127.0.0.0/8", "loopback"),
  rule("169.254.0.0/16", "link_local"),
  rule("172.16.0.0/12", "private"),
  rule("192.0.0.0/24", "reserved"), // IETF protocol assignments (incl. 192.0.0.192, Oracle metadata)
  rule("192.0.2.0/24", "reserved"), // TEST-NET-1
  rule("192.31.196.0/24", "reserved"), // AS112
  rule("192.52.193.0/24", "reserved"), // AMT
  rule("192.88.99.0/24", "reserved"), // 6to4 relay anycast
  rule("192.168.0.0/16", "private"),
  rule("192.175.48.0/24", "reserved"), // AS112
  rule("198.18.0.0/15", "reserved"), // benchmarking
  rule("198.51.100.0/24", "reserved"), // TEST-NET-2
  rule("203.0.113.0/24", "reserved"), // TEST-NET-3
  rule("224.0.0.0/4", "multicast"),
  rule("240.0.0.0/4", "reserved"),
];

/**
 * IPv6 ranges, most specific first. Address forms that embed an IPv4 address
 * (IPv4-mapped, NAT64, 6to4) are classified by the embedded address before these
 * rules apply; anything outside global unicast (2000::/3) is reserved.
 */
const V6_RULES: Rule[] = [
  rule("fd00:ec2::254/128", "metadata"), // AWS IMDS over IPv6
  rule("::/128", "unspecified"),
  rule("::1/128", "loopback"),
  rule("fe80::/10", "link_local"),
  rule("fc00::/7", "unique_local"),
  rule("ff00::/8", "multicast"),
  rule("2001::/23", "reserved"), // IETF protocol assignments, incl. Teredo 2001::/32
  rule("2001:db8::/32", "reserved"), // documentation
  rule("3fff::/20", "reserved"), // documentation
];
const V6_GLOBAL_UNICAST = rule("2000::/3", "public");
const V4_MAPPED = rule("::ffff:0:0/96", "reserved");
const NAT64 = rule("64:ff9b::/96", "reserved");
const SIX_TO_FOUR = rule("2002::/16", "reserved");

function matches(addr: Uint8Array, r: Rule): boolean {
  if (addr.length !== r.net.length) return false;
  let bits = r.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (r.net[i]! & mask)) return false;
  }
  return true;
}

function parseV4(ip: string): Uint8Array | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // No leading zeros: 010 is 8 to some parsers and 10 to others.
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

function parseV6(ip: string): Uint8Array | null {
  let s = ip;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted IPv4 part (::ffff:127.0.0.1) becomes two hex groups.
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".", lastColon)) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return null;
    s = `${s.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  return out;
}

/** The bytes of an IP address in canonical text form (dotted-quad IPv4, or IPv6 in or out of brackets), or null. */
export function parseIp(ip: string): Uint8Array | null {
  const bracketed = ip.startsWith("[") && ip.endsWith("]");
  const bare = bracketed ? ip.slice(1, -1) : ip;
  if (bare.includes(":")) return parseV6(bare);
  return bracketed ? null : parseV4(bare);
}

function classifyV4(addr: Uint8Array): AddressCategory {
  for (const r of V4_RULES) if (matches(addr, r)) return r.category;
  return "public";
}

function classifyBytes(addr: Uint8Array): AddressCategory {
  if (addr.length === 4) return classifyV4(addr);
  // Forms that carry an IPv4 address and reach it: judge them by that address.
  if (matches(addr, V4_MAPPED) || matches(addr, NAT64)) return classifyV4(addr.subarray(12));
  if (matches(addr, SIX_TO_FOUR)) return classifyV4(addr.subarray(2, 6));
  for (const r of V6_RULES) if (matches(addr, r)) return r.category;
  return matches(addr, V6_GLOBAL_UNICAST) ? "public" : "reserved";
}

/**
 * The category of an IP address given as text ("10.0.0.1", "::ffff:127.0.0.1",
 * "[::1]"); "invalid" for anything that is not an IP address. Only "public"
 * addresses may be connected to under the default policy.
 */
export function classifyAddress(ip: string): AddressCategory {
  const addr = parseIp(ip);
  return addr ? classifyBytes(addr) : "invalid";
}

export interface AddressPolicyOptions {
  /**
   * Turns the guard off: any address may be connected to. For local development,
   * where inputs are served from localhost or a LAN (env KILN_ALLOW_PRIVATE_NETWORKS=1);
   * production never sets it.
   */
  allowPrivateNetworks?: boolean;
  /**
   * TEST-ONLY. Exact "ip:port" endpoints ("127.0.0.1:8080", "[::1]:8080") that may
   * be connected to although they are not public, so tests can run real servers on
   * loopback (for example a redirector) while the guard stays on for every other
   * address and port. Never set this from configuration or user input.
   */
  exemptAddresses?: readonly string[];
}

/** Whether local development has asked for private networks to be reachable (the encoder passes process.env). */
export function allowPrivateNetworksFromEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  return env.KILN_ALLOW_PRIVATE_NETWORKS === "1";
}

/** One key per endpoint, whatever the spelling; an IPv4-mapped address is its IPv4 one. */
function endpointKey(addr: Uint8Array, port: number): string {
  const bytes = addr.length === 16 && matches(addr, V4_MAPPED) ? addr.subarray(12) : addr;
  return `${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}/${port}`;
}

function parseEndpoint(endpoint: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(endpoint.trim());
  const addr = m ? parseIp((m[1] ?? m[2])!) : null;
  const port = m ? Number(m[3]) : NaN;
  if (!addr || !(port > 0 && port < 65536)) throw new Error(`exemptAddresses: "${endpoint}" is not an ip:port pair`);
  return endpointKey(addr, port);
}

/** A compiled policy: answers, for one address and port, whether connecting is allowed. */
export class AddressPolicy {
  readonly allowPrivateNetworks: boolean;
  private readonly exempt: ReadonlySet<string>;

  constructor(options: AddressPolicyOptions = {}) {
    this.allowPrivateNetworks = options.allowPrivateNetworks ?? false;
    this.exempt = new Set((options.exemptAddresses ?? []).map(parseEndpoint));
  }

  /** null when `ip:port` may be connected to, else the category that forbids it. */
  refusal(ip: string, port: number): Exclude<AddressCategory, "public"> | null {
    if (this.allowPrivateNetworks) return null;
    const addr = parseIp(ip);
    if (!addr) return "invalid";
    const category = classifyBytes(addr);
    if (category === "public") return null;
    return this.exempt.has(endpointKey(addr, port)) ? null : category;
  }
}
