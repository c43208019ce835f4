import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { isSealed, SecretBox, SecretKeyError } from "../../src/util/secret-box.ts";
import { sealV1 } from "../helpers/sealed-v1.ts";

const A = "secret-box-test-secret-A";
const B = "secret-box-test-secret-B";
const C = "secret-box-test-secret-C";

describe("SecretBox key ring", () => {
  test("seals with the current key, naming it; a previous key opens but never seals", () => {
    const a = new SecretBox(A);
    const sealed = a.seal("upstream-key-1");
    assert.match(sealed, /^v2\.[A-Za-z0-9_-]{8}\.[^.]+\.[^.]+\.[^.]+$/);
    assert.equal(sealed.split(".")[1], a.keyId);
    assert.ok(!sealed.includes("upstream-key-1"));
    assert.notEqual(a.seal("upstream-key-1"), sealed, "a fresh IV each time");
    assert.equal(a.open(sealed), "upstream-key-1");
    assert.equal(a.state(sealed), "current");

    const b = new SecretBox(B, { previous: [C, A] });
    assert.notEqual(b.keyId, a.keyId);
    assert.equal(b.open(sealed), "upstream-key-1");
    assert.equal(b.state(sealed), "previous");
    const resealed = b.seal(b.open(sealed));
    assert.equal(resealed.split(".")[1], b.keyId);
    assert.equal(b.state(resealed), "current");
    assert.equal(new SecretBox(B).open(resealed), "upstream-key-1");
    assert.deepEqual(
      b.previousKeys.map((k) => k.source),
      ["VIDRELAY_SECRET_PREVIOUS #1", "VIDRELAY_SECRET_PREVIOUS #2"],
    );
    assert.equal(new SecretBox(B, { previous: [B, A, A] }).previousKeys.length, 1, "duplicates dropped");
    assert.equal(new SecretBox(A).keyId, a.keyId, "the key id is stable");
  });

  test("v1 values (no key id) still open, by trying each key of the ring", () => {
    const legacy = sealV1(A, "whsec_legacy");
    assert.ok(isSealed(legacy));
    assert.equal(new SecretBox(A).open(legacy), "whsec_legacy");
    assert.equal(new SecretBox(B, { previous: [C, A] }).open(legacy), "whsec_legacy");
    assert.equal(new SecretBox(B).state(legacy), "legacy");
    assert.equal(new SecretBox(B).state("whsec_plain"), "clear");
    assert.ok(!isSealed("whsec_plain"));
  });

  test("a missing key is a SecretKeyError naming the settings to fix, never a secret", () => {
    const sealed = new SecretBox(A).seal("the-plaintext");
    for (const value of [sealed, sealV1(A, "the-plaintext")]) {
      const box = new SecretBox(B, { previous: [C] });
      assert.equal(box.state(value), value.startsWith("v2.") ? "unknown" : "legacy");
      assert.throws(
        () => box.open(value),
        (error: Error) => {
          assert.ok(error instanceof SecretKeyError);
          assert.match(error.message, /VIDRELAY_SECRET differs/);
          assert.match(error.message, /VIDRELAY_SECRET_PREVIOUS/);
          assert.match(error.message, /vidrelay secrets rotate/);
          for (const secret of [A, B, C, "the-plaintext"]) assert.ok(!error.message.includes(secret));
          return true;
        },
      );
    }
    assert.throws(() => new SecretBox(B).open("whsec_plain"), /not a sealed secret/);
    // A tampered value (or header) fails authentication with its own key.
    const parts = sealed.split(".");
    parts[4] = Buffer.from("tampered").toString("base64url");
    assert.throws(() => new SecretBox(A).open(parts.join(".")), /damaged/);
  });

  test("fromConfig: generated secret.key, VIDRELAY_SECRET_PREVIOUS, and a leftover secret.key that only opens", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "vidrelay-box-"));
    const generated = SecretBox.fromConfig({ dataDir });
    const keyFile = join(dataDir, "secret.key");
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.match(generated.source, /secret\.key/);
    const sealedByFile = generated.seal("from-the-file");

    const explicit = SecretBox.fromConfig({ dataDir, secret: B, secretPrevious: [A] });
    assert.equal(explicit.source, "VIDRELAY_SECRET");
    assert.deepEqual(
      explicit.previousKeys.map((k) => k.source),
      ["VIDRELAY_SECRET_PREVIOUS", `the generated ${keyFile}`],
    );
    assert.equal(explicit.open(sealedByFile), "from-the-file");
    assert.equal(explicit.open(new SecretBox(A).seal("from-a")), "from-a");
    assert.equal(readFileSync(keyFile, "utf8").length > 16, true);

    // Without the file, the explicit secret alone.
    const other = mkdtempSync(join(tmpdir(), "vidrelay-box-"));
    assert.equal(SecretBox.fromConfig({ dataDir: other, secret: B }).previousKeys.length, 0);
  });

  test("VIDRELAY_SECRET_PREVIOUS: a comma list; a short entry is refused without repeating the value", () => {
    const env = { VIDRELAY_SECRET: B, VIDRELAY_SECRET_PREVIOUS: ` ${A} , ${C},` };
    assert.deepEqual(loadConfig({}, env).secretPrevious, [A, C]);
    assert.deepEqual(loadConfig({}, { VIDRELAY_SECRET: B }).secretPrevious, []);
    assert.throws(
      () => loadConfig({}, { VIDRELAY_SECRET: "tiny-1", VIDRELAY_SECRET_PREVIOUS: `${A},short-2` }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /VIDRELAY_SECRET_PREVIOUS \(--secret-previous\) = \(value hidden\)/);
        assert.match(error.message, /VIDRELAY_SECRET \(--secret\) = \(value hidden\)/);
        assert.ok(!error.message.includes("short-2") && !error.message.includes("tiny-1"));
        return true;
      },
    );
  });
});
