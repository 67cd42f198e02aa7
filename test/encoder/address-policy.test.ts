import { describe, expect, it } from "vitest";
import { AddressPolicy, type AddressCategory, allowPrivateNetworksFromEnv, classifyAddress, parseIp } from "../../encoder/net/address-policy";

const table: [string, AddressCategory][] = [
  // public
  ["1.1.1.1", "public"],
  ["8.8.8.8", "public"],
  ["93.184.216.34", "public"],
  ["2606:4700::1111", "public"],
  ["2a00:1450:4001:80b::200e", "public"],
  ["64:ff9b::808:808", "public"], // NAT64 of 8.8.8.8
  ["2002:808:808::1", "public"], // 6to4 of 8.8.8.8
  ["::ffff:8.8.8.8", "public"],
  ["172.15.255.255", "public"],
  ["172.32.0.0", "public"],
  ["100.63.255.255", "public"],
  ["100.128.0.0", "public"],
  ["169.253.255.255", "public"],
  ["11.0.0.0", "public"],
  // loopback
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["::1", "loopback"],
  ["[::1]", "loopback"],
  ["0:0:0:0:0:0:0:1", "loopback"],
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:7f00:1", "loopback"],
  ["64:ff9b::7f00:1", "loopback"],
  ["2002:7f00:1::", "loopback"],
  // RFC 1918
  ["10.0.0.1", "private"],
  ["10.255.255.255", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.1.1", "private"],
  ["::ffff:10.1.2.3", "private"],
  ["::ffff:192.168.0.1", "private"],
  // link-local and metadata
  ["169.254.0.1", "link_local"],
  ["169.254.169.254", "metadata"],
  ["::ffff:169.254.169.254", "metadata"],
  ["fd00:ec2::254", "metadata"],
  ["168.63.129.16", "metadata"],
  ["fe80::1", "link_local"],
  ["fe80::1%eth0", "link_local"],
  ["febf:ffff::1", "link_local"],
  // CGNAT, unique local
  ["100.64.0.1", "cgnat"],
  ["100.100.100.200", "cgnat"],
  ["100.127.255.255", "cgnat"],
  ["fc00::1", "unique_local"],
  ["fd12:3456::1", "unique_local"],
  // unspecified, multicast, broadcast, reserved
  ["0.0.0.0", "unspecified"],
  ["::", "unspecified"],
  ["0.1.2.3", "reserved"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["ff02::1", "multicast"],
  ["255.255.255.255", "broadcast"],
  ["240.0.0.1", "reserved"],
  ["192.0.0.192", "reserved"],
  ["192.0.2.1", "reserved"],
  ["198.18.0.1", "reserved"],
  ["198.51.100.7", "reserved"],
  ["203.0.113.9", "reserved"],
  ["2001:db8::1", "reserved"],
  ["2001::1", "reserved"], // Teredo
  ["::127.0.0.1", "reserved"], // IPv4-compatible (deprecated)
  ["fec0::1", "reserved"], // site-local (deprecated)
  ["100::1", "reserved"], // discard
  ["4000::1", "reserved"], // outside global unicast
  // Allowed by the Worker's own policy before it shared this one (issue 17).
  ["::ffff:0:7f00:1", "reserved"], // IPv4-translated (SIIT)
  ["64:ff9b:1::a9fe:a9fe", "reserved"], // local-use NAT64
  ["2002:7f00:1::", "loopback"], // 6to4 of 127.0.0.1
  ["100::1", "reserved"], // discard-only
  // not addresses
  ["localhost", "invalid"],
  ["127.1", "invalid"],
  ["2130706433", "invalid"],
  ["", "invalid"],
  ["1.2.3.4.5", "invalid"],
  ["::ffff:1.2.3", "invalid"],
  ["0177.0.0.1", "invalid"], // octal to some parsers, decimal to others
  ["0x7f.0.0.1", "invalid"],
  ["[127.0.0.1]", "invalid"],
  ["1::2::3", "invalid"],
];

describe("classifyAddress", () => {
  it.each(table)("%s is %s", (ip, category) => {
    expect(classifyAddress(ip)).toBe(category);
  });

  it("parses IPv6 forms to the same bytes", () => {
    const a = parseIp("::ffff:127.0.0.1")!;
    expect(Buffer.from(a).toString("hex")).toBe("00000000000000000000ffff7f000001");
    expect(parseIp("0000:0000:0000:0000:0000:ffff:7f00:0001")).toEqual(a);
    expect(parseIp("1:2:3:4:5:6:7::")).toEqual(parseIp("1:2:3:4:5:6:7:0"));
  });
});

describe("AddressPolicy", () => {
  it("refuses non-public addresses and allows public ones", () => {
    const policy = new AddressPolicy();
    expect(policy.refusal("8.8.8.8", 443)).toBeNull();
    expect(policy.refusal("2606:4700::1111", 443)).toBeNull();
    expect(policy.refusal("127.0.0.1", 80)).toBe("loopback");
    expect(policy.refusal("::ffff:127.0.0.1", 80)).toBe("loopback");
    expect(policy.refusal("169.254.169.254", 80)).toBe("metadata");
    expect(policy.refusal("not-an-ip", 80)).toBe("invalid");
  });

  it("allows everything when private networks are allowed", () => {
    const policy = new AddressPolicy({ allowPrivateNetworks: true });
    expect(policy.refusal("127.0.0.1", 80)).toBeNull();
    expect(policy.refusal("169.254.169.254", 80)).toBeNull();
  });

  it("exempts exact ip:port pairs only, in any spelling of the address", () => {
    const policy = new AddressPolicy({ exemptAddresses: ["127.0.0.1:8080", "[::1]:9090"] });
    expect(policy.refusal("127.0.0.1", 8080)).toBeNull();
    expect(policy.refusal("::ffff:127.0.0.1", 8080)).toBeNull();
    expect(policy.refusal("127.0.0.1", 8081)).toBe("loopback");
    expect(policy.refusal("127.0.0.2", 8080)).toBe("loopback");
    expect(policy.refusal("0:0:0:0:0:0:0:1", 9090)).toBeNull();
    expect(policy.refusal("::1", 8080)).toBe("loopback");
  });

  it("rejects malformed exemptions", () => {
    expect(() => new AddressPolicy({ exemptAddresses: ["127.0.0.1"] })).toThrow(/ip:port/);
    expect(() => new AddressPolicy({ exemptAddresses: ["localhost:80"] })).toThrow(/ip:port/);
    expect(() => new AddressPolicy({ exemptAddresses: ["::1:80"] })).toThrow(/ip:port/);
  });

  it("reads KILN_ALLOW_PRIVATE_NETWORKS", () => {
    expect(allowPrivateNetworksFromEnv({ KILN_ALLOW_PRIVATE_NETWORKS: "1" })).toBe(true);
    expect(allowPrivateNetworksFromEnv({ KILN_ALLOW_PRIVATE_NETWORKS: "0" })).toBe(false);
    expect(allowPrivateNetworksFromEnv({})).toBe(false);
  });
});
