import assert from "node:assert/strict";
import type { VidRelayError } from "@vidrelay/sdk";

/** The SDK error a call must reject with, typed, for assertions on its fields. */
export async function expectError<E extends VidRelayError>(
  promise: Promise<unknown>,
  Class: new (...args: never[]) => E,
): Promise<E> {
  const error = await promise.then(
    () => assert.fail(`expected ${Class.name}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof Class, `expected ${Class.name}, got ${String(error)}`);
  return error;
}
