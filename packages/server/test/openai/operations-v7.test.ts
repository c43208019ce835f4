/**
 * Edit, extend and the spritesheet with the `openai` 7.x package (installed as `openai7`). It
 * declares Node >= 22, so this file runs in CI's Node 22 stage (`npm run test:compat`) and says
 * so when skipped on an older Node.
 */
import { test } from "node:test";
import { operationsSuite } from "./operations-suite.ts";

const major = Number(process.versions.node.split(".")[0]);
if (major >= 22) {
  const sdk = await import("openai7");
  operationsSuite(`openai ${(await import("openai7/version")).VERSION}`, {
    OpenAI: sdk.default,
    BadRequestError: sdk.BadRequestError,
    toFile: sdk.toFile,
  });
} else {
  test("openai 7.x needs Node 22 (runs in CI's Node 22 stage: npm run test:compat)", {
    skip: `Node ${process.versions.node}`,
  }, () => {});
}
