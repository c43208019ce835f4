import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { cleanEnv } from "./run.ts";

/**
 * The README's snippets as a newcomer pastes them: read from README.md itself, checked for the
 * mistakes that bit users (a poll loop without a pause, an event stream without the key, a download
 * step without a command, an image that is not in the clone), then run against a real server.
 */

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const README = readFileSync(join(REPO, "README.md"), "utf8");

/** The fenced code blocks of the README section whose heading starts with `heading`. */
function blocks(heading: string): string[] {
  const start = README.split("\n").findIndex((line) => /^#{2,4} /.test(line) && line.includes(heading));
  assert.ok(start >= 0, `README has a section "${heading}"`);
  const rest = README.split("\n").slice(start + 1);
  const end = rest.findIndex((line) => /^#{2,4} /.test(line));
  const section = (end < 0 ? rest : rest.slice(0, end)).join("\n");
  return [...section.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

const CURL = blocks("Generate a video with curl")[0]!;
const SDK = blocks("with the TypeScript SDK")[0]!;
const OPENAI = blocks("OpenAI-compatible")[0]!;
const CLI_SNIPPET = blocks("with the CLI")[0]!;

const missing = ["bash", "curl", "python3"].find(
  (bin) => spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0,
);

describe("README snippets", () => {
  test("every examples/ path the README names ships in the repository", () => {
    const paths = [...README.matchAll(/\bexamples\/[\w./-]+\.\w+/g)].map((m) => m[0]);
    assert.ok(paths.length >= 4, `found ${paths.join(", ")}`);
    for (const path of paths) assert.ok(existsSync(join(REPO, path)), `${path} is in the repository`);
  });

  test("the SDK snippet uploads an image that ships in the repository", () => {
    const uploads = [...SDK.matchAll(/files\.upload\("([^"]+)"\)/g)].map((m) => m[1]!);
    assert.equal(uploads.length, 1, SDK);
    assert.ok(statSync(join(REPO, uploads[0]!)).isFile(), `${uploads[0]} is a file in the repository`);
  });

  test("the CLI snippet's image ships in the repository", () => {
    const image = /-i (\S+)/.exec(CLI_SNIPPET)?.[1];
    assert.ok(image && statSync(join(REPO, image)).isFile(), CLI_SNIPPET);
  });

  test("the curl snippet polls with a pause, sends the key to the event stream, downloads without it", () => {
    const loop = /^while [\s\S]*?^done$/m.exec(CURL)?.[0];
    assert.ok(loop, `the poll step is a loop:\n${CURL}`);
    assert.match(loop, /\/v1\/video\/generations\/\$TASK\b/);
    assert.match(loop, /^\s+sleep [1-9]/m, "the loop sleeps between polls");
    const events = CURL.split("\n").filter((line) => line.includes("/events"));
    assert.equal(events.length, 1, CURL);
    assert.match(events[0]!, /curl -N .*-H "Authorization: Bearer \$VIDRELAY_API_KEY"/);
    // Every call to the API carries the key; the download of the capability URL does not need it.
    for (const line of CURL.split("\n").filter((l) => /curl .*\$BASE\/v1\//.test(l))) {
      assert.match(line, /Authorization: Bearer \$VIDRELAY_API_KEY/, line);
    }
    const step4 = CURL.slice(CURL.indexOf("# 4."));
    assert.match(step4, /^# 4\..*needs no key/m);
    const download = step4.split("\n").find((line) => /\bcurl\b.*-o out\.mp4/.test(line));
    assert.ok(download, `step 4 has a download command:\n${step4}`);
    assert.doesNotMatch(download, /Authorization/);
  });

  test("the OpenAI snippet sleeps between retrieve calls", () => {
    const loop = /^while \(video\.status[^\n]*\{\n([\s\S]*?)^\}$/m.exec(OPENAI)?.[1];
    assert.ok(loop, `the poll loop has a block body:\n${OPENAI}`);
    assert.match(loop, /await sleep\(\d{3,}\)/, "it waits before each retrieve");
    assert.match(loop, /client\.videos\.retrieve\(video\.id\)/);
    assert.match(OPENAI, /import \{ setTimeout as sleep \} from "node:timers\/promises";/);
  });
});

describe("README snippets against a real server", { concurrency: true }, () => {
  let t: TestServer;
  let dir: string;
  before(async () => {
    t = await startTestServer();
    // A folder of the user's own where the snippets write out.mp4, with the clone's examples/ and
    // node_modules/ at hand (imports resolve from the snippet's own folder).
    dir = await mkdtemp(join(tmpdir(), "vidrelay-readme-"));
    await symlink(join(REPO, "examples"), join(dir, "examples"));
    await symlink(join(REPO, "node_modules"), join(dir, "node_modules"));
    await writeFile(join(dir, "package.json"), '{"type": "module"}\n');
    // Counts the HTTP requests a Node snippet makes (written to stderr when the process exits).
    await writeFile(
      join(dir, "count-fetch.mjs"),
      `const real = globalThis.fetch; let calls = 0;
globalThis.fetch = (...args) => { calls++; return real(...args); };
process.on("exit", () => process.stderr.write(\`fetch calls: \${calls}\\n\`));
`,
    );
  });
  after(async () => {
    await t?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
    const started = Date.now();
    return new Promise<{ code: number; stdout: string; stderr: string; seconds: number }>((resolve) => {
      execFile(
        cmd,
        args,
        { cwd, env: cleanEnv({ VIDRELAY_API_KEY: t.key, ...env }), timeout: 180_000 },
        (error, stdout, stderr) =>
          resolve({
            code: error ? Number((error as { code?: unknown }).code ?? 1) : 0,
            stdout,
            stderr,
            seconds: (Date.now() - started) / 1000,
          }),
      );
    });
  }

  async function expect720p(name: string): Promise<void> {
    const facts = await clipFacts(join(dir, name));
    assert.deepEqual([facts.width, facts.height], [1280, 720]);
    assert.ok(Math.abs(facts.duration - 5) < 0.15, `duration ${facts.duration}`);
  }

  test("the curl snippet, as pasted into sh, saves a 1280x720 mp4", {
    skip: missing && `no ${missing}`,
  }, async () => {
    const script = CURL.replace(/^export VIDRELAY_API_KEY=.*$/m, "")
      .replace(/^BASE=.*$/m, `BASE=${t.url}`)
      .replaceAll("out.mp4", "curl.mp4");
    assert.notEqual(script, CURL);
    const result = await run("sh", ["-e", "-c", script], dir);
    assert.equal(result.code, 0, result.stderr);
    const statuses = result.stdout.trim().split("\n");
    assert.equal(statuses.at(-1), "succeeded", result.stdout);
    assert.ok(statuses.length <= result.seconds / 1.5 + 2, `${statuses.length} polls in ${result.seconds} s`);
    await expect720p("curl.mp4");
  });

  test("the OpenAI snippet saves a 1280x720 mp4, polling at most once a second", async () => {
    const source = OPENAI.replace('"http://127.0.0.1:8080/v1"', JSON.stringify(`${t.url}/v1`)).replaceAll(
      "out.mp4",
      "openai.mp4",
    );
    assert.notEqual(source, OPENAI);
    await writeFile(join(dir, "openai-snippet.ts"), source);
    const result = await run(
      process.execPath,
      ["--import", "./count-fetch.mjs", "--import", "tsx", "openai-snippet.ts"],
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    const calls = Number(/fetch calls: (\d+)/.exec(result.stderr)?.[1]);
    // create + download + one retrieve per pause (the unpaced loop made ~250 calls a second).
    assert.ok(calls >= 3 && calls <= result.seconds + 3, `${calls} requests in ${result.seconds} s`);
    await expect720p("openai.mp4");
  });

  test("the SDK snippet saves a 1280x720 mp4", async () => {
    await writeFile(join(dir, "sdk-snippet.ts"), SDK.replaceAll("out.mp4", "sdk.mp4"));
    const result = await run(process.execPath, ["--import", "tsx", "sdk-snippet.ts"], dir, {
      VIDRELAY_BASE_URL: t.url,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim().split("\n").at(-1), "100");
    await expect720p("sdk.mp4");
  });
});
