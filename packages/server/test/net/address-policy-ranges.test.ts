import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { classifyAddress, isPrivateAddress } from "../../src/net/address-policy.ts";

/**
 * Every range of the block list, with its exact label: the lowest and highest address inside it,
 * and the neighbours just outside it with what they are instead (null = public). Removing a range,
 * widening or narrowing its prefix, or reordering the most specific labels changes a row here.
 */
interface RangeCase {
  range: string;
  label: string;
  inside: string[];
  /** [address, its classification] just outside the range. */
  outside: Array<[string, string | null]>;
}

const V4: RangeCase[] = [
  {
    range: "169.254.169.254/32",
    label: "cloud metadata service",
    inside: ["169.254.169.254"],
    outside: [
      ["169.254.169.253", "link-local"],
      ["169.254.169.255", "link-local"],
    ],
  },
  {
    range: "255.255.255.255/32",
    label: "broadcast",
    inside: ["255.255.255.255"],
    outside: [["255.255.255.254", "reserved"]],
  },
  {
    range: "0.0.0.0/8",
    label: "unspecified / this network",
    inside: ["0.0.0.0", "0.255.255.255"],
    outside: [["1.0.0.0", null]],
  },
  {
    range: "10.0.0.0/8",
    label: "private network",
    inside: ["10.0.0.0", "10.255.255.255"],
    outside: [
      ["9.255.255.255", null],
      ["11.0.0.0", null],
    ],
  },
  {
    range: "100.64.0.0/10",
    label: "carrier-grade NAT",
    inside: ["100.64.0.0", "100.127.255.255"],
    outside: [
      ["100.63.255.255", null],
      ["100.128.0.0", null],
    ],
  },
  {
    range: "127.0.0.0/8",
    label: "loopback",
    inside: ["127.0.0.0", "127.255.255.255"],
    outside: [
      ["126.255.255.255", null],
      ["128.0.0.0", null],
    ],
  },
  {
    range: "169.254.0.0/16",
    label: "link-local",
    inside: ["169.254.0.0", "169.254.255.255"],
    outside: [
      ["169.253.255.255", null],
      ["169.255.0.0", null],
    ],
  },
  {
    range: "172.16.0.0/12",
    label: "private network",
    inside: ["172.16.0.0", "172.31.255.255"],
    outside: [
      ["172.15.255.255", null],
      ["172.32.0.0", null],
    ],
  },
  {
    range: "192.0.0.0/24",
    label: "IETF protocol assignments",
    inside: ["192.0.0.0", "192.0.0.255"],
    outside: [
      ["191.255.255.255", null],
      ["192.0.1.0", null],
    ],
  },
  {
    range: "192.0.2.0/24",
    label: "documentation",
    inside: ["192.0.2.0", "192.0.2.255"],
    outside: [
      ["192.0.1.255", null],
      ["192.0.3.0", null],
    ],
  },
  {
    range: "192.88.99.0/24",
    label: "6to4 relay anycast",
    inside: ["192.88.99.0", "192.88.99.255"],
    outside: [
      ["192.88.98.255", null],
      ["192.88.100.0", null],
    ],
  },
  {
    range: "192.168.0.0/16",
    label: "private network",
    inside: ["192.168.0.0", "192.168.255.255"],
    outside: [
      ["192.167.255.255", null],
      ["192.169.0.0", null],
    ],
  },
  {
    range: "198.18.0.0/15",
    label: "benchmarking",
    inside: ["198.18.0.0", "198.19.255.255"],
    outside: [
      ["198.17.255.255", null],
      ["198.20.0.0", null],
    ],
  },
  {
    range: "198.51.100.0/24",
    label: "documentation",
    inside: ["198.51.100.0", "198.51.100.255"],
    outside: [
      ["198.51.99.255", null],
      ["198.51.101.0", null],
    ],
  },
  {
    range: "203.0.113.0/24",
    label: "documentation",
    inside: ["203.0.113.0", "203.0.113.255"],
    outside: [
      ["203.0.112.255", null],
      ["203.0.114.0", null],
    ],
  },
  {
    range: "224.0.0.0/4",
    label: "multicast",
    inside: ["224.0.0.0", "239.255.255.255"],
    outside: [
      ["223.255.255.255", null],
      ["240.0.0.0", "reserved"],
    ],
  },
  {
    range: "240.0.0.0/4",
    label: "reserved",
    inside: ["240.0.0.0", "255.255.255.254"],
    outside: [["239.255.255.255", "multicast"]],
  },
];

const V6: RangeCase[] = [
  {
    range: "::/128",
    label: "unspecified",
    inside: ["::", "0:0:0:0:0:0:0:0"],
    outside: [["::1", "loopback"]],
  },
  {
    range: "::1/128",
    label: "loopback",
    inside: ["::1"],
    outside: [
      ["::2", "IPv4-compatible (deprecated)"],
      ["::1:0:0:1", null],
    ],
  },
  {
    range: "::/96",
    label: "IPv4-compatible (deprecated)",
    inside: ["::2", "::8.8.8.8", "::ffff:ffff"],
    outside: [
      ["::1:0:0", null],
      ["::fffe:808:808", null],
    ],
  },
  {
    range: "64:ff9b:1::/48",
    label: "local-use NAT64",
    inside: ["64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:1::808:808"],
    outside: [
      ["64:ff9b:2::", null],
      ["64:ff9b:0:ffff::", null],
    ],
  },
  {
    range: "100::/64",
    label: "discard-only",
    inside: ["100::", "100::ffff:ffff:ffff:ffff"],
    outside: [
      ["100:0:0:1::", null],
      ["ff::ffff", null],
    ],
  },
  {
    range: "2001::/32",
    label: "Teredo tunnel",
    inside: ["2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["2001:1::", null],
      ["2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", null],
    ],
  },
  {
    range: "2001:2::/48",
    label: "benchmarking",
    inside: ["2001:2::", "2001:2:0:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["2001:2:1::", null],
      ["2001:1:ffff:ffff::", null],
    ],
  },
  {
    range: "2001:10::/28",
    label: "ORCHID (deprecated)",
    inside: ["2001:10::", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["2001:f:ffff:ffff:ffff:ffff:ffff:ffff", null],
      ["2001:20::", "ORCHIDv2"],
    ],
  },
  {
    range: "2001:20::/28",
    label: "ORCHIDv2",
    inside: ["2001:20::", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["2001:1f:ffff::", "ORCHID (deprecated)"],
      ["2001:30::", null],
    ],
  },
  {
    range: "2001:db8::/32",
    label: "documentation",
    inside: ["2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", null],
      ["2001:db9::", null],
    ],
  },
  {
    range: "3fff::/20",
    label: "documentation",
    inside: ["3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["3fff:1000::", null],
      ["3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", null],
    ],
  },
  {
    range: "fd00:ec2::254/128",
    label: "cloud metadata service",
    inside: ["fd00:ec2::254", "FD00:0EC2:0:0:0:0:0:0254"],
    outside: [
      ["fd00:ec2::253", "unique local (private network)"],
      ["fd00:ec2::255", "unique local (private network)"],
    ],
  },
  {
    range: "fc00::/7",
    label: "unique local (private network)",
    inside: ["fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", null],
      ["fe00::", null],
    ],
  },
  {
    range: "fe80::/10",
    label: "link-local",
    inside: ["fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", null],
      ["fec0::", "site-local (deprecated)"],
    ],
  },
  {
    range: "fec0::/10",
    label: "site-local (deprecated)",
    inside: ["fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["febf:ffff::", "link-local"],
      ["ff00::", "multicast"],
    ],
  },
  {
    range: "ff00::/8",
    label: "multicast",
    inside: ["ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    outside: [["feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local (deprecated)"]],
  },
];

/** IPv6 ranges that embed an IPv4 address: judged by the embedded address, labelled with both. */
const EMBEDDING: RangeCase[] = [
  {
    range: "::ffff:0:0/96 (IPv4-mapped)",
    label: "cloud metadata service, IPv4-mapped",
    inside: ["::ffff:a9fe:a9fe", "::ffff:169.254.169.254", "0:0:0:0:0:ffff:a9fe:a9fe"],
    outside: [
      ["::ffff:8.8.8.8", null], // inside, but the IPv4 address is public
      ["::fffe:a9fe:a9fe", null],
      ["0:0:0:0:1:ffff:a9fe:a9fe", null],
    ],
  },
  {
    range: "::ffff:0:0:0/96 (IPv4-translated)",
    label: "cloud metadata service, IPv4-translated",
    inside: ["::ffff:0:a9fe:a9fe", "::ffff:0:169.254.169.254", "0:0:0:0:ffff:0:a9fe:a9fe"],
    outside: [
      ["::ffff:0:808:808", null],
      ["::ffff:1:a9fe:a9fe", null],
      ["0:0:0:1:ffff:0:a9fe:a9fe", null],
    ],
  },
  {
    range: "64:ff9b::/96 (NAT64)",
    label: "cloud metadata service, NAT64",
    inside: ["64:ff9b::a9fe:a9fe", "64:ff9b::169.254.169.254"],
    outside: [
      ["64:ff9b::808:808", null],
      ["64:ff9b::1:a9fe:a9fe", null],
      ["64:ff9a::a9fe:a9fe", null],
    ],
  },
  {
    range: "2002::/16 (6to4)",
    label: "cloud metadata service, 6to4",
    inside: ["2002:a9fe:a9fe::", "2002:a9fe:a9fe:ffff:ffff:ffff:ffff:ffff"],
    outside: [
      ["2002:808:808::", null],
      ["2003:a9fe:a9fe::", null],
      ["2001:a9fe:a9fe::", null],
    ],
  },
];

describe("every blocked range, at its edges", () => {
  for (const c of [...V4, ...V6, ...EMBEDDING]) {
    test(`${c.range}: ${c.label}`, () => {
      for (const ip of c.inside) {
        assert.equal(classifyAddress(ip), c.label, `${ip} is inside ${c.range}`);
        assert.equal(isPrivateAddress(ip), true, ip);
      }
      for (const [ip, label] of c.outside) {
        assert.equal(classifyAddress(ip), label, `${ip} is outside ${c.range}`);
        assert.equal(isPrivateAddress(ip), label !== null, ip);
      }
    });
  }
});

describe("embedded IPv4 addresses carry the embedded address's label", () => {
  const cases: Array<[string, string | null]> = [
    ["::ffff:10.1.2.3", "private network, IPv4-mapped"],
    ["::ffff:0.0.0.0", "unspecified / this network, IPv4-mapped"],
    ["::ffff:255.255.255.255", "broadcast, IPv4-mapped"],
    ["::ffff:0:127.0.0.1", "loopback, IPv4-translated"],
    ["::ffff:0:10.0.0.1", "private network, IPv4-translated"],
    ["64:ff9b::7f00:1", "loopback, NAT64"],
    ["64:ff9b::c0a8:101", "private network, NAT64"],
    ["64:ff9b::e000:1", "multicast, NAT64"],
    ["2002:7f00:1::", "loopback, 6to4"],
    ["2002:a00:1:2:3:4:5:6", "private network, 6to4"],
    ["2002:c0a8:101::", "private network, 6to4"],
    ["2002:6440:1::", "carrier-grade NAT, 6to4"],
    ["2002:101:101::", null],
    ["64:ff9b::101:101", null],
    ["::ffff:0:101:101", null],
  ];
  for (const [ip, label] of cases) {
    test(`${ip} → ${label ?? "public"}`, () => assert.equal(classifyAddress(ip), label));
  }
});

describe("not an IP address", () => {
  for (const text of [
    "",
    "localhost",
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.1",
    "[::1",
    "::1]",
    "[127.0.0.1",
    "1:2:3:4:5:6:7:8:9",
    "::ffff:1.2.3",
    "2001:db8::g",
    "12345::",
  ]) {
    test(`${JSON.stringify(text)} is refused as not an IP address`, () => {
      assert.equal(classifyAddress(text), "not an IP address");
      assert.equal(isPrivateAddress(text), true);
    });
  }
  test("a bracketed literal is an IP address", () => {
    assert.equal(classifyAddress("[::1]"), "loopback");
    assert.equal(classifyAddress("[2606:4700:4700::1111]"), null);
  });
});
