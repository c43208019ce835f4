import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ALLOW_NONE,
  allowListFromEnv,
  formatIp,
  normalizeHostname,
  parseAllowList,
  parseIp,
  sameAddress,
} from "../../src/net/address-policy.ts";

const t = (hostname: string, address: string, port = 80) => ({ hostname, address, port });

describe("parseIp / formatIp", () => {
  test("IPv4 bytes in network order", () => {
    assert.deepEqual(parseIp("192.168.0.255"), { family: 4, bytes: Uint8Array.from([192, 168, 0, 255]) });
    assert.equal(formatIp(parseIp("10.20.30.40")!), "10.20.30.40");
  });

  test("IPv6 bytes in network order", () => {
    assert.deepEqual(parseIp("2001:db8::ff01"), {
      family: 6,
      bytes: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x01]),
    });
  });

  test("a dotted IPv4 tail becomes the last two groups", () => {
    assert.deepEqual(
      Array.from(parseIp("::ffff:255.254.253.252")!.bytes),
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 254, 253, 252],
    );
    assert.equal(formatIp(parseIp("::ffff:1.2.3.4")!), "::ffff:102:304");
    assert.equal(formatIp(parseIp("1:2:3:4:5:6:1.2.3.4")!), "1:2:3:4:5:6:102:304");
  });

  test("a zone is dropped; brackets must come in pairs", () => {
    assert.equal(formatIp(parseIp("fe80::1%eth0")!), "fe80::1");
    assert.equal(formatIp(parseIp("[fe80::2]")!), "fe80::2");
    assert.equal(parseIp("[fe80::2"), null);
    assert.equal(parseIp("fe80::2]"), null);
    assert.equal(parseIp("[]"), null);
  });

  test("'::' standing for a single zero group", () => {
    assert.equal(formatIp(parseIp("1:2:3:4:5:6:7::")!), "1:2:3:4:5:6:7:0");
    assert.equal(formatIp(parseIp("::2:3:4:5:6:7:8")!), "0:2:3:4:5:6:7:8");
    assert.equal(formatIp(parseIp("1:2:3::5:6:7:8")!), "1:2:3:0:5:6:7:8");
  });

  test("canonical text: the longest zero run is compressed, the first of equal runs, never a lone zero", () => {
    for (const [input, canonical] of [
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
      ["1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"],
      ["0:1:0:1:0:1:0:1", "0:1:0:1:0:1:0:1"],
      ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"],
      ["1:0:0:2:0:0:0:4", "1:0:0:2::4"],
      ["0:0:1:0:0:0:1:0", "0:0:1::1:0"],
      ["0:0:0:0:0:0:0:1", "::1"],
      ["1:0:0:0:0:0:0:0", "1::"],
      ["0:0:0:0:0:0:0:0", "::"],
      ["ABCD:EF01:2345:6789:abcd:ef01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"],
      ["fe80:0000:0000:0000:0000:0000:0000:00ff", "fe80::ff"],
    ]) {
      assert.equal(formatIp(parseIp(input!)!), canonical, input);
    }
  });
});

describe("sameAddress", () => {
  test("different spellings of one address", () => {
    assert.equal(sameAddress("::ffff:10.0.0.1", "10.0.0.1"), true);
    assert.equal(sameAddress("10.0.0.1", "::ffff:a00:1"), true);
    assert.equal(sameAddress("[::1]", "0:0:0:0:0:0:0:1"), true);
    assert.equal(sameAddress("fe80::1%eth0", "FE80::1"), true);
  });

  test("different addresses, and different families with the same bytes", () => {
    assert.equal(sameAddress("10.0.0.1", "10.0.0.2"), false);
    assert.equal(sameAddress("10.0.0.1", "11.0.0.1"), false);
    assert.equal(sameAddress("::1", "::2"), false);
    assert.equal(sameAddress("0.0.0.0", "::"), false);
    assert.equal(sameAddress("::", "0.0.0.0"), false);
    assert.equal(sameAddress("1.2.3.4", "102:304::"), false);
    assert.equal(sameAddress("::ffff:0:a00:1", "10.0.0.1"), false); // IPv4-translated is not mapped
    assert.equal(sameAddress("::a00:1", "10.0.0.1"), false); // nor IPv4-compatible
  });

  test("anything that is not an IP address is never the same address", () => {
    assert.equal(sameAddress("localhost", "localhost"), false);
    assert.equal(sameAddress("localhost", "127.0.0.1"), false);
    assert.equal(sameAddress("127.0.0.1", "localhost"), false);
    assert.equal(sameAddress("", ""), false);
    assert.equal(sameAddress("", "0.0.0.0"), false);
  });
});

describe("normalizeHostname", () => {
  test("trimmed, lower case, no brackets, no trailing dots", () => {
    assert.equal(normalizeHostname("  MinIO.Internal. "), "minio.internal");
    assert.equal(normalizeHostname("localhost..."), "localhost");
    assert.equal(normalizeHostname("[::1]"), "::1");
    assert.equal(normalizeHostname("[::1"), "[::1");
    assert.equal(normalizeHostname("::1]"), "::1]");
  });
});

describe("parseAllowList: host entries", () => {
  test("an exact host name is not a domain suffix", () => {
    const m = parseAllowList("localhost");
    assert.equal(m.allows(t("localhost", "127.0.0.1")), true);
    assert.equal(m.allows(t("evil.localhost", "127.0.0.1")), false);
    assert.equal(m.allows(t("localhost.evil.com", "127.0.0.1")), false);
    assert.equal(m.allows(t("xlocalhost", "127.0.0.1")), false);
  });

  test("the target's host name is normalized before matching", () => {
    const m = parseAllowList("minio.internal");
    assert.equal(m.allows(t(" MinIO.Internal.. ", "10.0.0.1")), true);
    assert.equal(m.allows(t("[minio.internal]", "10.0.0.1")), true);
  });

  test("entries are normalized too", () => {
    const m = parseAllowList("MinIO.Internal.");
    assert.deepEqual(m.entries, ["MinIO.Internal."]);
    assert.equal(m.allows(t("minio.internal", "10.0.0.1")), true);
  });

  test("a suffix entry covers the domain and its subdomains, at label boundaries", () => {
    for (const entry of ["*.corp.example", ".corp.example", "*.CORP.example."]) {
      const m = parseAllowList(entry);
      assert.equal(m.allows(t("corp.example", "10.0.0.1")), true, entry);
      assert.equal(m.allows(t("a.b.corp.example", "10.0.0.1")), true, entry);
      assert.equal(m.allows(t("evilcorp.example", "10.0.0.1")), false, entry);
      assert.equal(m.allows(t("corp.example.evil", "10.0.0.1")), false, entry);
    }
  });

  test("a host entry never matches by address", () => {
    const m = parseAllowList("localhost");
    assert.equal(m.allows(t("127.0.0.1", "127.0.0.1")), false);
  });

  test("host names: label and name lengths, characters", () => {
    const label63 = "a".repeat(63);
    const name253 = `${"a".repeat(61)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}`;
    assert.equal(name253.length, 253);
    for (const ok of [
      "a",
      "a1",
      "1a",
      "a-b",
      "a--b",
      "a_b",
      "_dmarc.example",
      "x.y.z",
      label63,
      `${label63}.example`,
      name253,
      "xn--bcher-kva.example",
    ]) {
      const m = parseAllowList(ok);
      assert.equal(m.allows(t(ok, "10.0.0.1")), true, ok);
    }
    for (const bad of [
      "-a",
      "a-",
      "a.-b",
      "a.b-",
      `${"a".repeat(64)}`,
      `x.${"a".repeat(64)}`,
      `a${name253}`,
      "a..b",
      "a!b",
      "a.b!",
      "!a.b",
      "ä.example",
    ]) {
      assert.throws(
        () => parseAllowList(bad),
        (err: Error) => err.message.includes("is not a host name, IP address or CIDR range"),
        bad,
      );
    }
  });

  test("a malformed entry's error names the entry and shows the accepted forms", () => {
    assert.throws(
      () => parseAllowList("ok.example a!b"),
      (err: Error) =>
        err.message ===
        'allow-list entry "a!b" is not a host name, IP address or CIDR range ' +
          "(examples: localhost, *.internal, 10.0.0.0/8, [::1]:8080, 127.0.0.1:9000)",
    );
  });

  test("'*' or 'true' anywhere in the list allows every target; other words do not", () => {
    assert.equal(parseAllowList("localhost, *").allowsAll, true);
    assert.equal(parseAllowList("true localhost").allows(t("x", "10.0.0.1")), true);
    assert.equal(parseAllowList("True").allowsAll, true);
    assert.equal(parseAllowList("*, not..valid").allowsAll, true); // the rest is not even parsed
    assert.equal(parseAllowList("yes").allowsAll, false);
    assert.equal(parseAllowList("truelove").allowsAll, false);
    assert.equal(parseAllowList("*.x").allowsAll, false);
  });

  test("entries are split on commas and any whitespace", () => {
    const m = parseAllowList(",a.internal,\tb.internal\n c.internal ,, d.internal,");
    assert.deepEqual(m.entries, ["a.internal", "b.internal", "c.internal", "d.internal"]);
    for (const h of ["a.internal", "b.internal", "c.internal", "d.internal"])
      assert.equal(m.allows(t(h, "10.0.0.1")), true, h);
    assert.equal(m.allows(t("e.internal", "10.0.0.1")), false);
  });

  test("ALLOW_NONE allows nothing", () => {
    assert.equal(ALLOW_NONE.allowsAll, false);
    assert.deepEqual(ALLOW_NONE.entries, []);
    assert.equal(ALLOW_NONE.allows(t("localhost", "127.0.0.1")), false);
  });

  test("allowListFromEnv reads process.env by default", () => {
    const saved = process.env["VIDRELAY_ALLOW_PRIVATE_TARGETS"];
    process.env["VIDRELAY_ALLOW_PRIVATE_TARGETS"] = "nas.lan";
    try {
      assert.deepEqual(allowListFromEnv().entries, ["nas.lan"]);
      assert.equal(allowListFromEnv().allows(t("nas.lan", "192.168.1.2")), true);
    } finally {
      if (saved === undefined) delete process.env["VIDRELAY_ALLOW_PRIVATE_TARGETS"];
      else process.env["VIDRELAY_ALLOW_PRIVATE_TARGETS"] = saved;
    }
  });
});

describe("parseAllowList: address and range entries", () => {
  test("0.0.0.0/0 is every IPv4 address, and no IPv6 one", () => {
    const m = parseAllowList("0.0.0.0/0");
    assert.equal(m.allows(t("x", "10.0.0.1")), true);
    assert.equal(m.allows(t("x", "255.255.255.255")), true);
    assert.equal(m.allows(t("x", "::ffff:10.0.0.1")), true); // mapped: judged as its IPv4 address
    assert.equal(m.allows(t("x", "fd00:ec2::254")), false);
    assert.equal(m.allows(t("x", "::1")), false);
    assert.equal(m.allows(t("x", "::")), false);
  });

  test("::/0 is every IPv6 address, and no IPv4 one", () => {
    const m = parseAllowList("::/0");
    assert.equal(m.allows(t("x", "fd00:ec2::254")), true);
    assert.equal(m.allows(t("x", "::ffff:10.0.0.1")), true); // the IPv6 form itself is in ::/0
    assert.equal(m.allows(t("x", "10.0.0.1")), false);
    assert.equal(m.allows(t("x", "0.0.0.0")), false);
  });

  test("an IPv6 range over mapped addresses matches them as written", () => {
    const m = parseAllowList("::ffff:0:0/96");
    assert.equal(m.allows(t("x", "::ffff:10.0.0.1")), true);
    assert.equal(m.allows(t("x", "10.0.0.1")), false);
  });

  test("a target address that is not an IP address never matches a range", () => {
    for (const spec of ["0.0.0.0/0", "::/0", "127.0.0.1", "0.0.0.0/0:80"]) {
      const m = parseAllowList(spec);
      for (const address of ["localhost", "", "127.0.0.1.nip.io", "[::1"])
        assert.equal(m.allows(t("127.0.0.1", address)), false, `${spec} / ${address}`);
    }
  });

  test("prefix lengths that are not multiples of 8", () => {
    const m = parseAllowList("10.96.0.0/12, fd12:3400::/23");
    assert.equal(m.allows(t("x", "10.96.0.0")), true);
    assert.equal(m.allows(t("x", "10.111.255.255")), true);
    assert.equal(m.allows(t("x", "10.95.255.255")), false);
    assert.equal(m.allows(t("x", "10.112.0.0")), false);
    assert.equal(m.allows(t("x", "fd12:3400::1")), true);
    assert.equal(m.allows(t("x", "fd12:35ff:ffff::")), true);
    assert.equal(m.allows(t("x", "fd12:3600::")), false);
    assert.equal(m.allows(t("x", "fd12:33ff::")), false);
  });

  test("host bits in an entry are ignored; a bare address is its /32 or /128", () => {
    const m = parseAllowList("192.168.7.99/24 10.1.1.1 fd00::7 [fd00::1:0/112]");
    assert.equal(m.allows(t("x", "192.168.7.1")), true);
    assert.equal(m.allows(t("x", "192.168.8.1")), false);
    assert.equal(m.allows(t("x", "10.1.1.1")), true);
    assert.equal(m.allows(t("x", "10.1.1.0")), false);
    assert.equal(m.allows(t("x", "10.1.1.2")), false);
    assert.equal(m.allows(t("x", "fd00::7")), true);
    assert.equal(m.allows(t("x", "fd00::6")), false);
    assert.equal(m.allows(t("x", "fd00::1:ffff")), true);
    assert.equal(m.allows(t("x", "fd00::2:0")), false);
  });

  test("prefix bounds: /0 up to /32 and /128", () => {
    assert.equal(parseAllowList("10.0.0.1/32").allows(t("x", "10.0.0.1")), true);
    assert.equal(parseAllowList("10.0.0.1/32").allows(t("x", "10.0.0.2")), false);
    assert.equal(parseAllowList("fd00::1/128").allows(t("x", "fd00::1")), true);
    assert.equal(parseAllowList("fd00::1/128").allows(t("x", "fd00::2")), false);
    assert.equal(parseAllowList("10.0.0.0/008").allows(t("x", "10.9.9.9")), true);
    for (const bad of ["10.0.0.1/33", "fd00::/129", "10.0.0.0/0008", "::/0128", "10.0.0.0/", "10.0.0.0/a8"]) {
      assert.throws(
        () => parseAllowList(bad),
        (err: Error) =>
          err.message.includes(`"${bad}"`) && err.message.includes("is not a valid IP address or CIDR range"),
        bad,
      );
    }
    for (const bad of ["10.0.0.0/8a", "10.0.0.0/8.5", "10.0.0.0/-1", "10.0.0.0/+8"]) {
      assert.throws(
        () => parseAllowList(bad),
        (err: Error) => err.message.includes(`"${bad}"`),
        bad,
      );
    }
  });

  test("bracketed IPv6 entries, with and without a port or prefix", () => {
    const m = parseAllowList("[fd00::5] [fd01::/16]:8080");
    assert.equal(m.allows(t("x", "fd00::5", 1)), true);
    assert.equal(m.allows(t("x", "fd00::5", 65535)), true);
    assert.equal(m.allows(t("x", "fd01:ffff::1", 8080)), true);
    assert.equal(m.allows(t("x", "fd01:ffff::1", 80)), false);
    assert.equal(m.allows(t("x", "fd02::1", 8080)), false);
  });

  test("malformed IPv6 entries", () => {
    assert.throws(() => parseAllowList("[fd00::1"), /"\[fd00::1": missing "\]"/);
    assert.throws(() => parseAllowList("[fd00::1]8080"), /expected ":port" after "\]"/);
    assert.throws(() => parseAllowList("[fd00::1]:"), /is not a port number/);
    assert.throws(() => parseAllowList("fd00::zz"), /"fd00::zz" is not a valid IP address or CIDR range/);
    assert.throws(() => parseAllowList("a/b"), /"a\/b" is not a valid IP address or CIDR range/);
    assert.throws(() => parseAllowList("[fd00::/x]"), /"fd00::\/x" is not a valid IP address or CIDR range/);
  });
});

describe("parseAllowList: ports", () => {
  test("the first and last port numbers are allowed", () => {
    const m = parseAllowList("localhost:1 127.0.0.1:65535");
    assert.equal(m.allows(t("localhost", "127.0.0.1", 1)), true);
    assert.equal(m.allows(t("localhost", "127.0.0.1", 2)), false);
    assert.equal(m.allows(t("a", "127.0.0.1", 65535)), true);
    assert.equal(m.allows(t("a", "127.0.0.1", 65534)), false);
    assert.equal(parseAllowList("[::1]:00080").allows(t("a", "::1", 80)), true);
  });

  test("0, 65536 and anything that is not a decimal number are not ports", () => {
    for (const bad of [
      "localhost:0",
      "localhost:00000",
      "localhost:65536",
      "localhost:99999",
      "localhost:100000",
      "localhost:",
      "localhost:+80",
      "localhost:80x",
      "localhost:x80",
      "localhost:8.0",
      "127.0.0.1:0",
      "[::1]:0",
      "[::1]:65536",
    ]) {
      assert.throws(
        () => parseAllowList(bad),
        (err: Error) =>
          err.message.includes(`allow-list entry "${bad}"`) &&
          err.message.includes("is not a port number (1-65535)"),
        bad,
      );
    }
  });

  test("a rule without a port matches any port", () => {
    const m = parseAllowList("localhost 10.0.0.0/8");
    for (const port of [1, 80, 443, 65535]) {
      assert.equal(m.allows(t("localhost", "127.0.0.1", port)), true);
      assert.equal(m.allows(t("x", "10.0.0.1", port)), true);
    }
  });

  test("a port rule does not stop a later rule from matching", () => {
    const m = parseAllowList("localhost:9000 localhost:9001");
    assert.equal(m.allows(t("localhost", "127.0.0.1", 9001)), true);
    assert.equal(m.allows(t("localhost", "127.0.0.1", 9002)), false);
  });
});
