import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CLI } from "../helpers/paths.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { cleanEnv } from "./run.ts";

function which(bin: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${bin}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const SCRIPT = which("script");
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run a command inside a pseudo-terminal with util-linux `script`; returns everything the terminal showed. */
function inPty(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT!, ["-qfec", argv.map(quote).join(" "), "/dev/null"], {
      env: cleanEnv({ ...env, TERM: "xterm" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out; the terminal showed:\n${output}`));
    }, 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("vidrelay generate on a terminal", {
  skip: SCRIPT ? false : "util-linux 'script' is not installed",
}, () => {
  let t: TestServer;
  let dir: string;
  before(async () => {
    t = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), "vidrelay-cli-pty-"));
  });
  after(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("draws a progress bar in place that advances to 100%", async () => {
    const out = join(dir, "pty.mp4");
    const { code, output } = await inPty(
      [
        process.execPath,
        CLI,
        "generate",
        "-p",
        "waves rolling onto a beach",
        "--seconds",
        "6",
        "--resolution",
        "720p",
        "-o",
        out,
      ],
      { VIDRELAY_BASE_URL: t.url, VIDRELAY_API_KEY: t.key },
    );
    assert.equal(code, 0, output);
    // Each redraw starts with a carriage return and clears the line; no redraw starts a new line.
    const CLEAR = "\x1b[2K";
    const frames = output
      .split("\r")
      .filter((f) => f.startsWith(`${CLEAR}[`))
      .map((f) => f.slice(CLEAR.length));
    assert.ok(frames.length >= 3, `only ${frames.length} redraws:\n${JSON.stringify(output)}`);
    for (const frame of frames) {
      assert.match(frame, /^\[[#-]{10,40}\] +\d{1,3}% {2}(submitted|running|succeeded) +\d+:\d\d/);
    }
    const percents = frames.map((f) => Number(/\] +(\d+)%/.exec(f)![1]));
    const distinct = percents.filter((p, i) => i === 0 || p !== percents[i - 1]);
    assert.ok(new Set(distinct).size >= 3, `percentages seen: ${distinct.join(", ")}`);
    assert.deepEqual(
      distinct,
      [...distinct].sort((a, b) => a - b),
      `not increasing: ${distinct.join(", ")}`,
    );
    assert.equal(distinct.at(-1), 100);
    // The bar fills with the percentage.
    const full = frames.find((f) => /\] 100%/.test(f))!;
    assert.doesNotMatch(full, /\[[#]*-/);
    // After the bar: a newline, then the summary and the saved path.
    assert.match(output, /succeeded +\d+:\d\d\r?\n/);
    assert.ok(output.trimEnd().endsWith(out), output.slice(-200));
    assert.ok((await stat(out)).size > 1000);
  });
});
