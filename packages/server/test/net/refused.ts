import assert from "node:assert/strict";
import { type OutboundFailureReason, OutboundRequestError } from "../../src/net/outbound-error.ts";

/** Resolves with the OutboundRequestError `promise` rejects with; fails unless its reason is `reason`. */
export async function refusedWith(
  promise: Promise<unknown>,
  reason: OutboundFailureReason,
): Promise<OutboundRequestError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof OutboundRequestError, `expected OutboundRequestError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    return err;
  }
  assert.fail(`expected refusal with ${reason}, but the request succeeded`);
}
