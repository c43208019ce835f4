import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  allowListFromEnv,
  classifyAddress,
  formatIp,
  isPrivateAddress,
  parseAllowList,
  parseIp,
  sameAddress,
} from "../../src/net/address-policy.ts";

describe("isPrivateAddress / classifyAddress", () => {
  const blocked: Array<[string, RegExp]> = [
    ["0.0.0.0", /unspecified/],
    ["0.1.2.3", /this network/],
    ["10.0.0.1", /private/],
    ["10.255.255.255", /private/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["100.127.255.254", /carrier-grade NAT/],
    ["127.0.0.1", /loopback/],
    ["127.255.0.9", /loopback/],
    ["169.254.169.254", /metadata/],
    ["169.254.1.1", /link-local/],
    ["172.16.0.1", /private/],
    ["172.31.255.255", /private/],
    ["192.0.0.8", /IETF/],
    ["192.0.2.1", /documentation/],
    ["192.168.1.1", /private/],
    ["198.18.0.1", /benchmarking/],
    ["198.19.255.255", /benchmarking/],
    ["198.51.100.7", /documentation/],
    ["203.0.113.9", /documentation/],
    ["224.0.0.1", /multicast/],
    ["239.255.255.250", /multicast/],
    ["240.0.0.1", /reserved/],
    ["255.255.255.255", /broadcast/],
    ["::", /unspecified/],
    ["::1", /loopback/],
    ["fc00::1", /unique local/],
    ["fdff:ffff::1", /unique local/],
    ["fe80::1", /link-local/],
    ["fe80::1%eth0", /link-local/],
    ["febf::1", /link-local/],
    ["ff02::1", /multicast/],
    ["::ffff:127.0.0.1", /loopback, IPv4-mapped/],
    ["::ffff:7f00:1", /loopback, IPv4-mapped/],
    ["::ffff:169.254.169.254", /metadata service, IPv4-mapped/],
    ["::ffff:10.1.2.3", /private network, IPv4-mapped/],
    ["64:ff9b::127.0.0.1", /loopback, NAT64/],
    ["64:ff9b::a00:1", /private network, NAT64/],
    ["2002:7f00:1::", /loopback, 6to4/],
    ["2001:db8::1", /documentation/],
    ["2001:db8:ffff::1", /documentation/],
    ["fd00:ec2::254", /cloud metadata service/],
    ["2001:0:4136:e378::1", /Teredo/],
    ["::127.0.0.1", /IPv4-compatible/],
    ["not-an-ip", /not an IP address/],
    ["1.2.3", /not an IP address/],
  ];
  for (const [ip, label] of blocked) {
    test(`${ip} is blocked (${label.source})`, () => {
      assert.equal(isPrivateAddress(ip), true);
      assert.match(classifyAddress(ip) ?? "public", label);
    });
  }

  const allowed = [
    "1.1.1.1",
    "8.8.8.8",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:800::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "fbff::1",
    "2600::1",
  ];
  for (const ip of allowed) {
    test(`${ip} is public`, () => {
      assert.equal(classifyAddress(ip), null);
      assert.equal(isPrivateAddress(ip), false);
    });
  }

  test("IPv6 parsing round-trips to canonical text", () => {
    for (const [input, canonical] of [
      ["::ffff:127.0.0.1", "::ffff:7f00:1"],
      ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
      ["1:0:0:1:0:0:0:1", "1:0:0:1::1"],
      ["::", "::"],
      ["1::", "1::"],
      ["[::1]", "::1"],
    ]) {
      const parsed = parseIp(input!);
      assert.ok(parsed, input);
      assert.equal(formatIp(parsed), canonical);
    }
    assert.equal(parseIp("1:2:3:4:5:6:7:8:9"), null);
    assert.equal(parseIp("2130706433"), null);
  });

  test("sameAddress sees through IPv4 mapping", () => {
    assert.equal(sameAddress("::ffff:127.0.0.1", "127.0.0.1"), true);
    assert.equal(sameAddress("0:0:0:0:0:0:0:1", "::1"), true);
    assert.equal(sameAddress("127.0.0.1", "127.0.0.2"), false);
  });
});

describe("parseAllowList", () => {
  const t = (hostname: string, address: string, port = 80) => ({ hostname, address, port });

  test("empty allows nothing", () => {
    for (const spec of [undefined, null, "", " , "]) {
      const m = parseAllowList(spec);
      assert.equal(m.allowsAll, false);
      assert.equal(m.allows(t("localhost", "127.0.0.1")), false);
    }
  });

  test("* and true allow everything", () => {
    for (const spec of ["*", "true", "TRUE"]) {
      const m = parseAllowList(spec);
      assert.equal(m.allowsAll, true);
      assert.equal(m.allows(t("anything", "169.254.169.254")), true);
    }
  });

  test("the documented example: localhost,127.0.0.1/8,::1,example.internal", () => {
    const m = parseAllowList("localhost,127.0.0.1/8,::1,example.internal");
    assert.equal(m.allows(t("localhost", "127.0.0.1")), true);
    assert.equal(m.allows(t("LOCALHOST.", "127.0.0.1")), true);
    assert.equal(m.allows(t("127.9.9.9", "127.9.9.9")), true);
    assert.equal(m.allows(t("x", "::ffff:127.0.0.5")), true); // mapped form of an allowed IPv4
    assert.equal(m.allows(t("::1", "::1")), true);
    assert.equal(m.allows(t("example.internal", "10.0.0.7")), true); // host name entries trust any address
    assert.equal(m.allows(t("other.internal", "10.0.0.7")), false);
    assert.equal(m.allows(t("10.0.0.7", "10.0.0.7")), false);
    assert.equal(m.allows(t("x", "::2")), false);
  });

  test("host:port, ip:port, [v6]:port and cidr:port require the port", () => {
    const m = parseAllowList("localhost:9000 127.0.0.1:8080 [::1]:8443 10.0.0.0/8:443");
    assert.equal(m.allows(t("localhost", "127.0.0.1", 9000)), true);
    assert.equal(m.allows(t("localhost", "127.0.0.1", 9001)), false);
    assert.equal(m.allows(t("a", "127.0.0.1", 8080)), true);
    assert.equal(m.allows(t("a", "127.0.0.1", 8081)), false);
    assert.equal(m.allows(t("a", "::1", 8443)), true);
    assert.equal(m.allows(t("a", "::1", 80)), false);
    assert.equal(m.allows(t("a", "10.20.30.40", 443)), true);
    assert.equal(m.allows(t("a", "10.20.30.40", 80)), false);
  });

  test("domain suffixes", () => {
    const m = parseAllowList("*.corp.example, .lan");
    assert.equal(m.allows(t("minio.corp.example", "10.0.0.1")), true);
    assert.equal(m.allows(t("corp.example", "10.0.0.1")), true);
    assert.equal(m.allows(t("evilcorp.example", "10.0.0.1")), false);
    assert.equal(m.allows(t("nas.lan", "192.168.1.2")), true);
    assert.equal(m.allows(t("lan.evil.com", "192.168.1.2")), false);
  });

  test("IPv6 CIDR ranges", () => {
    const m = parseAllowList("fd00::/8");
    assert.equal(m.allows(t("x", "fd12:3456::1")), true);
    assert.equal(m.allows(t("x", "fc00::1")), false);
  });

  test("malformed entries throw, naming the entry", () => {
    for (const bad of [
      "1.2.3.4/33",
      "localhost:http",
      "[::1",
      "[::1]8080",
      "http://x",
      "a..b",
      "10.0.0.0/8/8",
    ]) {
      assert.throws(
        () => parseAllowList(bad),
        (err: Error) => err.message.includes(`"${bad}"`),
        bad,
      );
    }
  });

  test("allowListFromEnv reads VIDRELAY_ALLOW_PRIVATE_TARGETS", () => {
    const m = allowListFromEnv({ VIDRELAY_ALLOW_PRIVATE_TARGETS: "minio.internal" });
    assert.deepEqual(m.entries, ["minio.internal"]);
    assert.equal(m.allows(t("minio.internal", "10.1.1.1")), true);
    assert.equal(allowListFromEnv({}).allows(t("minio.internal", "10.1.1.1")), false);
  });
});
