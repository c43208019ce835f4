import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { cleanEnv } from "./run.ts";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const PHOTO = sample("photo-saw-2725x2225.jpg");

const pythonProblem = (() => {
  const probe = spawnSync("python3", ["-c", "import requests"], { encoding: "utf8" });
  if (probe.error) return `python3 is not installed (${probe.error.message})`;
  if (probe.status !== 0) return `python3 cannot import requests: ${probe.stderr.trim().split("\n").pop()}`;
  return undefined;
})();

function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: REPO, env: cleanEnv(env), timeout: 180_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const curlProblem = ["curl", "jq", "bash"]
  .filter((bin) => spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0)
  .map((bin) => `${bin} is not installed`)[0];

/** The examples in examples/, run as a user would, against a real server (renders run side by side). */
describe("examples/", { concurrency: true }, () => {
  let t: TestServer;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    t = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), "vidrelay-examples-"));
    env = { VIDRELAY_BASE_URL: t.url, VIDRELAY_API_KEY: t.key };
  });
  after(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function expectVideoAt(stdout: string, name: string): Promise<void> {
    const url = stdout.trim();
    assert.match(url, new RegExp(`^${t.url}/videos/\\w+\\.mp4$`), `printed: ${JSON.stringify(stdout)}`);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "video/mp4");
    const path = join(dir, `${name}.mp4`);
    await writeFile(path, Buffer.from(await res.arrayBuffer()));
    const facts = await clipFacts(path);
    assert.deepEqual([facts.width, facts.height], [1280, 720]);
    assert.ok(Math.abs(facts.duration - 5) < 0.15, `duration ${facts.duration}`);
  }

  test("python/quickstart.py (requests) prints the URL of a 1280x720 mp4", {
    skip: pythonProblem,
  }, async () => {
    // No argument: the image shipped in examples/media/ (a clone has nothing else).
    const result = await run("python3", ["examples/python/quickstart.py"], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^submitted task_\w+\n/);
    assert.match(result.stderr, /succeeded 100%\n$/);
    await expectVideoAt(result.stdout, "python");
  });

  test("sdk/quickstart.ts prints the URL of a 1280x720 mp4 and saves it", async () => {
    const saved = join(dir, "sdk-saved.mp4");
    const result = await run(
      process.execPath,
      ["--import", "tsx", "examples/sdk/quickstart.ts", "examples/media/landscape-600x450.jpg", saved],
      env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /succeeded 100%\n/);
    await expectVideoAt(result.stdout, "sdk");
    assert.deepEqual(((f) => [f.width, f.height])(await clipFacts(saved)), [1280, 720]);
  });

  test("curl.sh prints the URL of a 1280x720 mp4", { skip: curlProblem }, async () => {
    const result = await run("bash", ["examples/curl.sh"], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^submitted task_\w+\n/);
    await expectVideoAt(result.stdout, "curl");
  });

  test("the examples explain a missing key instead of crashing", async () => {
    const noKey = { VIDRELAY_BASE_URL: t.url };
    const sdk = await run(process.execPath, ["--import", "tsx", "examples/sdk/quickstart.ts", PHOTO], noKey);
    assert.equal(sdk.code, 1);
    assert.match(sdk.stderr, /VIDRELAY_API_KEY/);
    if (!pythonProblem) {
      const py = await run("python3", ["examples/python/quickstart.py", PHOTO], noKey);
      assert.equal(py.code, 1);
      assert.match(py.stderr, /set VIDRELAY_API_KEY/);
    }
    if (!curlProblem) {
      const sh = await run("bash", ["examples/curl.sh", PHOTO], noKey);
      assert.notEqual(sh.code, 0);
      assert.match(sh.stderr, /set VIDRELAY_API_KEY/);
    }
  });
});
