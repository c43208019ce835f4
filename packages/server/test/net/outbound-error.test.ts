import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatSize, OutboundRequestError, outboundError, redactUrl } from "../../src/net/outbound-error.ts";
import { originIsPublic } from "../../src/net/public-origin.ts";

describe("formatSize", () => {
  test("bytes below 1 KB, KB below 1 MB, MB above, one decimal at most", () => {
    for (const [bytes, text] of [
      [0, "0 bytes"],
      [1, "1 bytes"],
      [1023, "1023 bytes"],
      [1024, "1 KB"],
      [1536, "1.5 KB"],
      [1100, "1.1 KB"],
      [10 * 1024 + 1, "10 KB"],
      [1024 * 1024 - 1, "1024 KB"],
      [1024 * 1024, "1 MB"],
      [1.25 * 1024 * 1024, "1.3 MB"],
      [10 * 1024 * 1024, "10 MB"],
      [3 * 1024 * 1024 * 1024, "3072 MB"],
    ] as const) {
      assert.equal(formatSize(bytes), text, String(bytes));
    }
  });
});

describe("redactUrl", () => {
  test("http(s): credentials and query string are left out, the path and port kept", () => {
    assert.equal(
      redactUrl("http://user:pass@example.com:8080/a/b?X-Amz-Signature=s#frag"),
      "http://example.com:8080/a/b?…",
    );
    assert.equal(redactUrl("https://example.com/file.mp4"), "https://example.com/file.mp4");
    assert.equal(redactUrl("https://example.com"), "https://example.com/");
    assert.equal(redactUrl("https://example.com/x#frag"), "https://example.com/x");
    assert.equal(redactUrl(new URL("https://u@example.com/y?z=1")), "https://example.com/y?…");
  });

  test("other schemes: scheme, host if any, and path; never query or credentials", () => {
    assert.equal(redactUrl("file:///etc/passwd"), "file:/etc/passwd");
    assert.equal(redactUrl("ftp://u:p@files.example/pub/x?token=1"), "ftp://files.example/pub/x");
    assert.equal(redactUrl("data:text/plain,hi"), "data:text/plain,hi");
    assert.equal(redactUrl(new URL("gopher://g.example:70/1")), "gopher://g.example:70/1");
  });

  test("an unparseable URL is not echoed back", () => {
    assert.equal(redactUrl("not a url ?secret=1"), "(unparseable URL)");
    assert.equal(redactUrl(""), "(unparseable URL)");
  });
});

describe("OutboundRequestError", () => {
  test("outboundError carries reason, message, redacted URL and details", () => {
    const err = outboundError("http_status", "answered 404", "https://u:p@h.example/f?sig=1", {
      status: 404,
      address: "93.184.216.34",
    });
    assert.ok(err instanceof OutboundRequestError);
    assert.ok(err instanceof Error);
    assert.equal(err.name, "OutboundRequestError");
    assert.equal(err.reason, "http_status");
    assert.equal(err.message, "answered 404");
    assert.equal(err.url, "https://h.example/f?…");
    assert.deepEqual(err.details, { status: 404, address: "93.184.216.34" });
    assert.match(String(err), /^OutboundRequestError: answered 404$/);
  });

  test("details default to none", () => {
    assert.deepEqual(outboundError("timeout", "slow", "http://h/").details, {});
    assert.deepEqual(new OutboundRequestError("aborted", "x", "http://h/").details, {});
  });
});

describe("originIsPublic", () => {
  test("local names and private addresses are not public", () => {
    for (const url of [
      "http://localhost:8080",
      "http://LOCALHOST",
      "http://app.localhost/",
      "http://printer.local/",
      "http://gateway.internal:3000/",
      "http://127.0.0.1:3000/",
      "http://10.1.2.3/",
      "http://192.168.1.10/",
      "http://[::1]:3000/",
      "http://[fd00::1]/",
      "http://[::ffff:127.0.0.1]/",
      "http://[fe80::1]/",
    ]) {
      assert.equal(originIsPublic(url), false, url);
    }
  });

  test("public names and addresses are public", () => {
    for (const url of [
      "https://vidrelay.example.com",
      "https://localhost.example.com/",
      "https://local.example/",
      "https://internal.example/",
      "https://notlocalhost/",
      "http://8.8.8.8/",
      "http://[2606:4700:4700::1111]/",
      "http://[::ffff:8.8.8.8]/",
    ]) {
      assert.equal(originIsPublic(url), true, url);
    }
  });
});
