/**
 * The SSRF corpus's hosts that both the Worker's and the encoder's suites give every
 * entry point: loopback in every spelling a URL parser takes (decimal, octal, hex,
 * short, trailing dot, IPv4-mapped, NAT64, 6to4), private and link-local ranges, and
 * the clouds' metadata addresses. Each suite adds the hosts only it can judge. Plain
 * data: the Worker's suite imports it in workerd.
 */
export const nonPublicHosts = [
  "127.0.0.1",
  "2130706433", // decimal
  "0177.0.0.1", // octal
  "0x7f000001", // hex
  "0x7f.1",
  "127.1", // short
  "127.0.0.1.", // trailing dot
  "127.255.255.254",
  "0",
  "0.0.0.0",
  "localhost",
  "localhost.",
  "LOCALHOST",
  "[::1]",
  "[0:0:0:0:0:0:0:1]",
  "[::]",
  "[::ffff:127.0.0.1]",
  "[::ffff:7f00:1]",
  "[::ffff:0:7f00:1]", // IPv4-translated
  "[64:ff9b::7f00:1]", // NAT64
  "[64:ff9b:1::a9fe:a9fe]", // local-use NAT64 of the metadata address
  "[2002:7f00:1::]", // 6to4
  "[100::1]", // discard-only
  "10.0.0.1",
  "172.16.0.1",
  "192.168.1.1",
  "169.254.169.254",
  "169.254.0.1",
  "[::ffff:169.254.169.254]",
  "[fe80::1]",
  "[fd00::1]",
  "[fd00:ec2::254]",
  "[fc00::1]",
  "100.64.0.1",
  "100.100.100.200", // Alibaba's metadata, in CGNAT
  "168.63.129.16", // Azure's wire server
  "192.0.0.192", // Oracle's metadata
  "224.0.0.1",
];
