import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadEnvFile } from "../../src/cli/env-file.ts";
import { CLI } from "../helpers/paths.ts";
import { freePort } from "../helpers/process.ts";

const KEY = `sk-${"e".repeat(40)}`;

test("loadEnvFile: the environment wins, a missing default .env is fine, a missing named file is an error", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vidrelay-env-"));
  assert.equal(loadEnvFile({}, dir), undefined);
  await writeFile(join(dir, ".env"), "# comment\nVIDRELAY_PORT=9123\nVIDRELAY_HOST='0.0.0.0'\nEMPTY=\n");
  const env: NodeJS.ProcessEnv = { VIDRELAY_HOST: "127.0.0.1" };
  const result = loadEnvFile(env, dir)!;
  assert.deepEqual(result.applied.sort(), ["EMPTY", "VIDRELAY_PORT"]);
  assert.equal(env.VIDRELAY_PORT, "9123");
  assert.equal(env.VIDRELAY_HOST, "127.0.0.1", "the environment wins over the file");
  assert.throws(
    () => loadEnvFile({ VIDRELAY_ENV_FILE: "nope.env" }, dir),
    /cannot read the settings file .*nope\.env/,
  );
});

test("`vidrelay serve` reads .env from the directory it was started in (INIT_CWD under npm)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vidrelay-env-"));
  const port = await freePort();
  await writeFile(
    join(dir, ".env"),
    `VIDRELAY_PORT=${port}\nVIDRELAY_BOOTSTRAP_KEY=${KEY}\nVIDRELAY_DATA_DIR=${join(dir, "data")}\nVIDRELAY_CONSOLE=false\n`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env, INIT_CWD: dir };
  for (const name of Object.keys(env)) if (name.startsWith("VIDRELAY_")) delete env[name];
  const child = spawn(process.execPath, [CLI, "serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      assert.equal(child.exitCode, null, output);
      const res = await fetch(`http://127.0.0.1:${port}/v1/me`, {
        headers: { authorization: `Bearer ${KEY}` },
      }).catch(() => undefined);
      if (res?.status === 200) break;
      assert.ok(Date.now() < deadline, `not serving on the .env's port:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const line = /4 setting\(s\) from (.*): (.*)/.exec(output);
    assert.ok(line, output);
    assert.equal(line[1], join(dir, ".env"));
    assert.deepEqual(line[2]!.split(", ").sort(), [
      "VIDRELAY_BOOTSTRAP_KEY",
      "VIDRELAY_CONSOLE",
      "VIDRELAY_DATA_DIR",
      "VIDRELAY_PORT",
    ]);
    assert.ok(!output.includes(KEY), "the file's values are never printed");
  } finally {
    child.kill("SIGTERM");
    assert.equal(await exited, 0, output);
  }
});
