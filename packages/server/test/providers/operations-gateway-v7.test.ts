/** Edit and extend relayed to the xAI and Ark doubles with `openai` 7.x (Node >= 22: CI's Node 22 stage). */
import { test } from "node:test";
import { relayedOperationsSuite } from "./operations-gateway-suite.ts";

if (Number(process.versions.node.split(".")[0]) >= 22) {
  const sdk = await import("openai7");
  relayedOperationsSuite(`openai ${(await import("openai7/version")).VERSION}`, {
    OpenAI: sdk.default,
    BadRequestError: sdk.BadRequestError,
    toFile: sdk.toFile,
  });
} else {
  test("openai 7.x needs Node 22 (runs in CI's Node 22 stage: npm run test:compat)", {
    skip: `Node ${process.versions.node}`,
  }, () => {});
}
