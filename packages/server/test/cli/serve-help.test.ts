import assert from "node:assert/strict";
import { test } from "node:test";
import { CONFIG_KEYS, envName, flagName } from "../../src/config.ts";
import { runCli } from "./run.ts";

test("`vidrelay serve --help` describes every setting with its flag, variable and default; `worker --help` points at it", async () => {
  const serve = await runCli(["serve", "--help"], {});
  assert.equal(serve.code, 0);
  for (const key of CONFIG_KEYS) {
    const block = new RegExp(`^  ${flagName(key)}, ${envName(key)}\\n      \\S.*\\(default: [^)]+\\)`, "m");
    assert.match(serve.stdout, block, `serve --help describes ${key}`);
  }
  assert.match(serve.stdout, /\.env/);
  const worker = await runCli(["worker", "--help"], {});
  assert.equal(worker.code, 0);
  assert.match(worker.stdout, /vidrelay serve --help/);
});
