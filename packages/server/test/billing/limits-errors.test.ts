// BillingRefusal (src/billing/errors.ts). Named limits-* so the mutation run (stryker.config.mjs)
// picks it up with the other billing tests.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BillingRefusal, isBillingRefusal } from "../../src/billing/errors.ts";
import { ApiError } from "../../src/domain/errors.ts";

describe("billing refusals", () => {
  test("a refusal is an ApiError marked as the client's quota, with its reason", () => {
    const refusal = new BillingRefusal(
      "daily_spend_cap",
      403,
      "insufficient_quota",
      "daily_spend_cap_exceeded",
      "this key has committed its daily cap",
      "model",
      { "Retry-After": "60" },
    );
    assert.ok(refusal instanceof ApiError);
    assert.ok(refusal instanceof Error);
    assert.equal(refusal.name, "BillingRefusal");
    assert.equal(String(refusal), "BillingRefusal: this key has committed its daily cap");
    assert.equal(refusal.fault, "client_quota");
    assert.equal(refusal.reason, "daily_spend_cap");
    assert.equal(refusal.status, 403);
    assert.equal(refusal.type, "insufficient_quota");
    assert.equal(refusal.code, "daily_spend_cap_exceeded");
    assert.equal(refusal.message, "this key has committed its daily cap");
    assert.equal(refusal.param, "model");
    assert.deepEqual(refusal.headers, { "Retry-After": "60" });
    assert.deepEqual(refusal.toJSON(), {
      error: {
        message: "this key has committed its daily cap",
        type: "insufficient_quota",
        code: "daily_spend_cap_exceeded",
        param: "model",
      },
    });
  });

  test("param and headers are optional: null and none", () => {
    const refusal = new BillingRefusal(
      "rate_limit",
      429,
      "rate_limit_error",
      "rate_limit_exceeded",
      "slow down",
    );
    assert.equal(refusal.param, null);
    assert.deepEqual(refusal.headers, {});
    assert.equal(refusal.status, 429);
    assert.equal(refusal.fault, "client_quota");
  });

  test("isBillingRefusal tells our refusals from every other error", () => {
    assert.equal(
      isBillingRefusal(new BillingRefusal("rate_limit", 429, "rate_limit_error", "rate_limit_exceeded", "m")),
      true,
    );
    assert.equal(
      isBillingRefusal(new ApiError(429, "rate_limit_error", "rate_limit_exceeded", "upstream")),
      false,
    );
    assert.equal(isBillingRefusal(new Error("x")), false);
    assert.equal(
      isBillingRefusal({ fault: "client_quota", name: "BillingRefusal" }),
      false,
      "duck typing is not enough",
    );
    assert.equal(isBillingRefusal(null), false);
    assert.equal(isBillingRefusal(undefined), false);
  });
});
