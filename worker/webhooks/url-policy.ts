import type { Env } from "../env";

/**
 * Which webhook URLs a delivery may POST to. In production (`KILN_ENV=production`) a
 * URL whose host is `localhost`, a `.localhost`/`.internal`/`.local` name, or an IP
 * literal in a private, loopback, link-local, CGNAT, unique-local or otherwise
 * non-public range is refused. A Worker cannot resolve DNS itself, so a public-looking
 * name that resolves to a private address is not caught here; Cloudflare's egress does
 * not route Workers' subrequests to private networks, which covers that case. The
 * consumer also never follows redirects, so a public URL cannot bounce it inward.
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

  // The WHATWG parser has already normalised the host: lower case, IPv4 in dotted
  // decimal (so 0x7f.1 and 2130706433 arrive as 127.0.0.1), IPv6 compressed in brackets.
  const host = parsed.hostname.replace(/\.$/, "");
  if (host === "localhost" || /\.(?:localhost|internal|local)$/.test(host)) return `host ${host} is a private name`;
  if (host.startsWith("[")) {
    const groups = parseIpv6(host.slice(1, -1));
    if (!groups) return `host ${host} is not a valid IPv6 address`;
    const reason = privateIpv6(groups);
    return reason ? `host ${host} is ${reason}` : null;
  }
  const v4 = parseIpv4(host);
  if (v4) {
    const reason = privateIpv4(v4);
    return reason ? `host ${host} is ${reason}` : null;
  }
  return null;
}

export function isWebhookUrlAllowed(url: string, env: Pick<Env, "KILN_ENV">): boolean {
  return webhookUrlRefusal(url, env) === null;
}

function parseIpv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

const v4Ranges: [number[], number, string][] = [
  [[0, 0, 0, 0], 8, "an unspecified (0.0.0.0/8) address"],
  [[10, 0, 0, 0], 8, "a private (10.0.0.0/8) address"],
  [[100, 64, 0, 0], 10, "a carrier-grade NAT (100.64.0.0/10) address"],
  [[127, 0, 0, 0], 8, "a loopback address"],
  [[169, 254, 0, 0], 16, "a link-local address"],
  [[172, 16, 0, 0], 12, "a private (172.16.0.0/12) address"],
  [[192, 0, 0, 0], 24, "an IETF protocol (192.0.0.0/24) address"],
  [[192, 168, 0, 0], 16, "a private (192.168.0.0/16) address"],
  [[198, 18, 0, 0], 15, "a benchmarking (198.18.0.0/15) address"],
  [[224, 0, 0, 0], 4, "a multicast address"],
  [[240, 0, 0, 0], 4, "a reserved (240.0.0.0/4) address"],
];

function privateIpv4(octets: number[]): string | null {
  const value = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  for (const [base, bits, reason] of v4Ranges) {
    const b = ((base[0]! << 24) | (base[1]! << 16) | (base[2]! << 8) | base[3]!) >>> 0;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((value & mask) >>> 0 === (b & mask) >>> 0) return reason;
  }
  return null;
}

/**
 * Eight 16-bit groups, or null. The URL parser serialises IPv6 as hex groups with `::`
 * compression (a dotted IPv4 tail such as ::ffff:127.0.0.1 arrives as ::ffff:7f00:1).
 */
function parseIpv6(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const toGroups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = toGroups(halves[0]!);
  const rest = halves.length === 2 ? toGroups(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  const given = head.length + rest.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const zeros = halves.length === 2 ? Array<number>(8 - given).fill(0) : [];
  return [...head, ...zeros.map(String), ...rest].map((g) => parseInt(g, 16));
}

function privateIpv6(g: number[]): string | null {
  const [a, b, c, d, e, f, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const embedded = () => [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff];
  if (g.every((x) => x === 0)) return "the unspecified address";
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0 && g6 === 0 && g7 === 1) return "a loopback address";
  // ::ffff:a.b.c.d (IPv4-mapped) and 64:ff9b::a.b.c.d (NAT64) reach the IPv4 address inside.
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && (f === 0xffff || f === 0)) {
    const reason = privateIpv4(embedded());
    return reason ? `${reason} (IPv4 inside IPv6)` : null;
  }
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) {
    const reason = privateIpv4(embedded());
    return reason ? `${reason} (NAT64)` : null;
  }
  if ((a & 0xfe00) === 0xfc00) return "a unique-local (fc00::/7) address";
  if ((a & 0xffc0) === 0xfe80) return "a link-local (fe80::/10) address";
  if ((a & 0xffc0) === 0xfec0) return "a site-local (fec0::/10) address";
  if ((a & 0xff00) === 0xff00) return "a multicast address";
  return null;
}
