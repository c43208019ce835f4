import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { signWebhook, VidRelayError, verifyWebhook, WebhookVerificationError } from "../src/index.ts";

// docs/providers.md §4.4, the Standard Webhooks test vector.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const headers = (signature = SIGNATURE, timestamp: number | string = TS) => ({
  "webhook-id": ID,
  "webhook-timestamp": String(timestamp),
  "webhook-signature": signature,
});

async function refusal(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof WebhookVerificationError, String(error));
    assert.ok(error instanceof VidRelayError);
    return error;
  }
  assert.fail("expected a WebhookVerificationError");
}

describe("verifyWebhook (Standard Webhooks v1)", () => {
  test("the spec's test vector: signWebhook produces the expected signature", async () => {
    assert.equal(await signWebhook(SECRET, ID, TS, BODY), SIGNATURE);
  });

  test("the spec's test vector verifies and returns the parsed body", async () => {
    const payload = await verifyWebhook<{ test: number }>(BODY, headers(), SECRET, { now: TS });
    assert.deepEqual(payload, { test: 2432232314 });
  });

  test("bytes, Headers objects and header names in any case are accepted", async () => {
    const bytes = new TextEncoder().encode(BODY);
    assert.deepEqual(await verifyWebhook(bytes, new Headers(headers()), SECRET, { now: TS }), {
      test: 2432232314,
    });
    const upper = { "Webhook-Id": ID, "Webhook-Timestamp": String(TS), "Webhook-Signature": SIGNATURE };
    assert.deepEqual(await verifyWebhook(bytes.buffer, upper, SECRET, { now: TS }), { test: 2432232314 });
  });

  test("any one of several space-separated signatures may match (secret rotation)", async () => {
    const other = await signWebhook("whsec_" + btoa("another secret of 24 bytes!"), ID, TS, BODY);
    for (const list of [`${other} ${SIGNATURE}`, `${SIGNATURE} ${other}`, `v1a,AAAA ${SIGNATURE}`]) {
      assert.deepEqual(await verifyWebhook(BODY, headers(list), SECRET, { now: TS }), { test: 2432232314 });
    }
    const refused = await refusal(verifyWebhook(BODY, headers(`${other} v1a,AAAA`), SECRET, { now: TS }));
    assert.equal(refused.code, "invalid_signature");
  });

  test("a wrong secret, an altered body, or a non-v1 scheme is refused", async () => {
    const wrongSecret = "whsec_" + btoa("not the right secret at all");
    assert.equal(
      (await refusal(verifyWebhook(BODY, headers(), wrongSecret, { now: TS }))).code,
      "invalid_signature",
    );
    const altered = BODY.replace("2432232314", "2432232315");
    assert.equal(
      (await refusal(verifyWebhook(altered, headers(), SECRET, { now: TS }))).code,
      "invalid_signature",
    );
    const v2 = SIGNATURE.replace(/^v1,/, "v2,");
    assert.equal(
      (await refusal(verifyWebhook(BODY, headers(v2), SECRET, { now: TS }))).code,
      "invalid_signature",
    );
    // The signature covers the id and the timestamp too.
    const otherId = { ...headers(), "webhook-id": "msg_other" };
    assert.equal(
      (await refusal(verifyWebhook(BODY, otherId, SECRET, { now: TS }))).code,
      "invalid_signature",
    );
  });

  test("timestamps more than 5 minutes away either way are refused; 5 minutes exactly passes", async () => {
    assert.ok(await verifyWebhook(BODY, headers(), SECRET, { now: TS + 300 }));
    assert.ok(await verifyWebhook(BODY, headers(), SECRET, { now: TS - 300 }));
    assert.equal(
      (await refusal(verifyWebhook(BODY, headers(), SECRET, { now: TS + 301 }))).code,
      "timestamp_too_old",
    );
    assert.equal(
      (await refusal(verifyWebhook(BODY, headers(), SECRET, { now: TS - 301 }))).code,
      "timestamp_too_new",
    );
    // Without `now`, the real clock is used: the vector (2021) has long expired.
    assert.equal((await refusal(verifyWebhook(BODY, headers(), SECRET))).code, "timestamp_too_old");
    const fresh = Math.floor(Date.now() / 1000);
    const signature = await signWebhook(SECRET, ID, fresh, BODY);
    assert.deepEqual(await verifyWebhook(BODY, headers(signature, fresh), SECRET), { test: 2432232314 });
  });

  test("missing headers and malformed timestamps are refused", async () => {
    const { "webhook-signature": _, ...noSignature } = headers();
    assert.equal(
      (await refusal(verifyWebhook(BODY, noSignature, SECRET, { now: TS }))).code,
      "missing_headers",
    );
    assert.equal(
      (await refusal(verifyWebhook(BODY, headers(SIGNATURE, "16142653.30"), SECRET, { now: TS }))).code,
      "invalid_timestamp",
    );
  });

  test("a plain (non-whsec_) secret is used as raw bytes", async () => {
    const signature = await signWebhook("plain-secret", ID, TS, BODY);
    assert.notEqual(signature, SIGNATURE);
    assert.ok(await verifyWebhook(BODY, headers(signature), "plain-secret", { now: TS }));
    await refusal(verifyWebhook(BODY, headers(signature), SECRET, { now: TS }));
  });
});
