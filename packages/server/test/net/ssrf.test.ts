import assert from "node:assert/strict";
import dc from "node:diagnostics_channel";
import type { Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { parseAllowList } from "../../src/net/address-policy.ts";
import type { OutboundFailureReason } from "../../src/net/outbound-error.ts";
import type { Resolver } from "../../src/net/pinned-http.ts";
import { safeFetch } from "../../src/net/safe-fetch.ts";
import { refusedWith } from "./refused.ts";
import { startServer, type TestServer } from "./servers.ts";

/**
 * Tripwire: every TCP connection attempt made by this process, so the table can assert that a
 * refused target was refused *before* anything was sent anywhere.
 */
const attempts: string[] = [];
const onSocket = (message: unknown) => {
  const { socket } = message as { socket: Socket };
  socket.on("connectionAttempt", (ip: string, port: number) => attempts.push(`${ip}:${port}`));
};

const fixed =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));

const BLOCKED_HINT = "set VIDRELAY_ALLOW_PRIVATE_TARGETS to allow them";

interface Case {
  url: string;
  reason: OutboundFailureReason;
  /** Substrings the message must contain. */
  says: string[];
  lookup?: Resolver;
}

const HOSTILE: Case[] = [
  { url: "http://127.0.0.1/", reason: "blocked_address", says: ["127.0.0.1 (loopback)", BLOCKED_HINT] },
  { url: "http://[::1]/", reason: "blocked_address", says: ["::1 (loopback)"] },
  { url: "http://10.0.0.1/", reason: "blocked_address", says: ["10.0.0.1 (private network)"] },
  { url: "http://172.16.5.4/", reason: "blocked_address", says: ["172.16.5.4 (private network)"] },
  { url: "http://192.168.1.1/", reason: "blocked_address", says: ["192.168.1.1 (private network)"] },
  {
    url: "http://169.254.169.254/latest/meta-data",
    reason: "blocked_address",
    says: ["169.254.169.254 (cloud metadata service)", "http://169.254.169.254/latest/meta-data"],
  },
  { url: "http://100.64.0.1/", reason: "blocked_address", says: ["100.64.0.1 (carrier-grade NAT)"] },
  { url: "http://0.0.0.0/", reason: "blocked_address", says: ["0.0.0.0 (unspecified"] },
  { url: "http://[::]/", reason: "blocked_address", says: [":: (unspecified)"] },
  {
    url: "http://[::ffff:127.0.0.1]/",
    reason: "blocked_address",
    says: ["::ffff:7f00:1 (loopback, IPv4-mapped)"],
  },
  { url: "http://[::ffff:7f00:1]/", reason: "blocked_address", says: ["(loopback, IPv4-mapped)"] },
  {
    url: "http://[::ffff:a9fe:a9fe]/",
    reason: "blocked_address",
    says: ["cloud metadata service, IPv4-mapped"],
  },
  { url: "http://[64:ff9b::7f00:1]/", reason: "blocked_address", says: ["(loopback, NAT64)"] },
  // Alternative IPv4 spellings: WHATWG URL parsing turns them all into 127.0.0.1.
  {
    url: "http://2130706433/",
    reason: "blocked_address",
    says: ["127.0.0.1 (loopback)", "http://127.0.0.1/"],
  },
  { url: "http://0177.0.0.1/", reason: "blocked_address", says: ["127.0.0.1 (loopback)"] },
  { url: "http://0x7f.0.0.1/", reason: "blocked_address", says: ["127.0.0.1 (loopback)"] },
  { url: "http://0x7f000001/", reason: "blocked_address", says: ["127.0.0.1 (loopback)"] },
  { url: "http://127.1/", reason: "blocked_address", says: ["127.0.0.1 (loopback)"] },
  { url: "http://127.0.0.1./", reason: "blocked_address", says: ["127.0.0.1 (loopback)"] },
  { url: "http://[fe80::1]/", reason: "blocked_address", says: ["fe80::1 (link-local)"] },
  { url: "http://[fc00::1]/", reason: "blocked_address", says: ["fc00::1 (unique local"] },
  {
    url: "http://[fd00:ec2::254]/",
    reason: "blocked_address",
    says: ["fd00:ec2::254 (cloud metadata service)"],
  },
  { url: "http://224.0.0.1/", reason: "blocked_address", says: ["224.0.0.1 (multicast)"] },
  { url: "http://255.255.255.255/", reason: "blocked_address", says: ["(broadcast)"] },
  { url: "http://198.18.0.1/", reason: "blocked_address", says: ["(benchmarking)"] },
  { url: "http://192.0.2.10/", reason: "blocked_address", says: ["(documentation)"] },
  // Host names, resolved by the system resolver (/etc/hosts) …
  {
    url: "http://localhost/",
    reason: "blocked_address",
    says: ["127.0.0.1 (loopback) for http://localhost/"],
  },
  { url: "http://LOCALHOST.:8080/x", reason: "blocked_address", says: ["127.0.0.1 (loopback)"] },
  // … or by a resolver standing in for a hostile DNS server.
  {
    url: "http://rebind.attacker.test/",
    reason: "blocked_address",
    says: ["127.0.0.1 (loopback) for http://rebind.attacker.test/"],
    lookup: fixed("127.0.0.1"),
  },
  {
    url: "http://mixed.attacker.test/", // one public and one private answer: refused, not "try the public one"
    reason: "blocked_address",
    says: ["10.9.8.7 (private network)"],
    lookup: fixed("93.184.216.34", "10.9.8.7"),
  },
  {
    url: "http://v6.attacker.test/",
    reason: "blocked_address",
    says: ["::ffff:a9fe:a9fe (cloud metadata service, IPv4-mapped)"],
    lookup: fixed("::ffff:a9fe:a9fe"),
  },
  {
    url: "http://nonexistent.invalid/", // (a resolver that fails like getaddrinfo: no DNS traffic leaves the box)
    reason: "dns_failure",
    says: ['could not resolve host "nonexistent.invalid" (ENOTFOUND)'],
    lookup: async (hostname) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    },
  },
  // Schemes and credentials.
  { url: "file:///etc/passwd", reason: "bad_scheme", says: ['"file:"', "only http and https"] },
  { url: "ftp://x/", reason: "bad_scheme", says: ['"ftp:"'] },
  { url: "gopher://x/", reason: "bad_scheme", says: ['"gopher:"'] },
  { url: "javascript:alert(1)", reason: "bad_scheme", says: ['"javascript:"'] },
  { url: "data:text/plain,hi", reason: "bad_scheme", says: ['"data:"'] },
  {
    url: "http://user:pass@example.com/",
    reason: "credentials_in_url",
    says: ["user name or password", "http://example.com/"],
  },
  {
    url: "http://:secret@example.com/",
    reason: "credentials_in_url",
    says: ["credentials in URLs are not allowed"],
  },
  { url: "not a url", reason: "invalid_url", says: ["not a valid absolute URL"] },
];

describe("safeFetch refuses hostile targets", () => {
  before(() => dc.subscribe("net.client.socket", onSocket));
  after(() => dc.unsubscribe("net.client.socket", onSocket));

  for (const c of HOSTILE) {
    test(`${c.url} → ${c.reason}`, async () => {
      const before = attempts.length;
      const err = await refusedWith(
        safeFetch(c.url, { timeoutMs: 5000, maxBytes: 1024, lookup: c.lookup }),
        c.reason,
      );
      for (const text of c.says)
        assert.ok(err.message.includes(text), `"${err.message}" should mention "${text}"`);
      assert.ok(!/user:pass|secret@/.test(err.message), "credentials never appear in messages");
      assert.deepEqual(attempts.slice(before), [], "no connection may be attempted");
    });
  }

  test("the message reads as the operator documentation promises", async () => {
    const err = await refusedWith(
      safeFetch("http://localhost:1234/", { timeoutMs: 5000, maxBytes: 1 }),
      "blocked_address",
    );
    assert.equal(
      err.message,
      "refusing to connect to 127.0.0.1 (loopback) for http://localhost:1234/: private and loopback targets are " +
        "blocked; use a publicly reachable URL, or, if you operate this server, set VIDRELAY_ALLOW_PRIVATE_TARGETS " +
        "to allow them",
    );
    assert.equal(err.details.address, "127.0.0.1");
  });
});

describe("redirects are checked hop by hop", () => {
  let entry: TestServer;
  let other: TestServer;
  let target = "";

  before(async () => {
    other = await startServer((_req, res) => res.end("secret internal data"));
    entry = await startServer((req, res) => {
      if (req.url === "/go") {
        res.writeHead(302, { location: target });
        res.end();
      } else res.end("entry");
    });
  });
  after(async () => {
    await entry.close();
    await other.close();
  });

  /** The allow list admits exactly the entry server's 127.0.0.1:<port>. */
  const viaEntry = async (to: string, reason: OutboundFailureReason) => {
    target = to;
    const seen = other.requests.length;
    const err = await refusedWith(
      safeFetch(entry.url("/go"), {
        timeoutMs: 5000,
        maxBytes: 1024,
        allow: parseAllowList(`127.0.0.1:${entry.port}`),
      }),
      reason,
    );
    assert.equal(other.requests.length, seen, "the redirect target received nothing");
    return err;
  };

  test("the first hop is allowed and reached", async () => {
    target = "/elsewhere";
    const res = await safeFetch(entry.url("/go"), {
      timeoutMs: 5000,
      maxBytes: 1024,
      allow: parseAllowList(`127.0.0.1:${entry.port}`),
    });
    assert.equal(res.status, 200);
    assert.equal(res.redirects, 1);
    res.body.resume();
  });

  test("redirect to another loopback port → blocked_address", async () => {
    const err = await viaEntry(other.url("/"), "blocked_address");
    assert.ok(err.message.includes(`127.0.0.1 (loopback) for http://127.0.0.1:${other.port}/`), err.message);
  });

  test("redirect to localhost on another port → blocked_address", async () => {
    await viaEntry(`http://localhost:${other.port}/`, "blocked_address");
  });

  test("redirect to [::1] on the allowed port → blocked_address (only 127.0.0.1 was allowed)", async () => {
    const err = await viaEntry(`http://[::1]:${entry.port}/`, "blocked_address");
    assert.match(err.message, /::1 \(loopback\)/);
  });

  test("redirect to the metadata service → blocked_address", async () => {
    await viaEntry("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "blocked_address");
  });

  test("redirect to a private address in decimal spelling → blocked_address", async () => {
    await viaEntry("http://167772161/", "blocked_address"); // 10.0.0.1
  });

  test("redirect to file:// → bad_scheme", async () => {
    await viaEntry("file:///etc/passwd", "bad_scheme");
  });

  test("an allow-list host name does not cover the same server under its IP", async () => {
    target = "/";
    const allow = parseAllowList(`localhost:${entry.port}`);
    const res = await safeFetch(`http://localhost:${entry.port}/`, {
      timeoutMs: 5000,
      maxBytes: 1024,
      allow,
    });
    res.body.resume();
    assert.equal(res.status, 200);
    await refusedWith(
      safeFetch(entry.url("/"), { timeoutMs: 5000, maxBytes: 1024, allow }),
      "blocked_address",
    );
  });
});
