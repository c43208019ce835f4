import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { openSqlite } from "../../src/store/sqlite-driver.ts";

/**
 * The README's quick start as a newcomer meets it: a fresh clone, `npm start` (first with port
 * 8080's stand-in taken), `npx vidrelay keys create` from two folders, a restart, and the way back
 * in when the admin key is lost. Everything runs through npm and npx as typed, in a clone of the
 * committed HEAD, so the working directories npm picks (the server package's folder for
 * `npm start`) are the real ones.
 */

/** The checkout this test belongs to, whose committed HEAD is cloned. */
const REPO = realpathSync(fileURLToPath(new URL("../../../../", import.meta.url)));
const KEY = /^\s*(sk-[A-Za-z0-9]{48})\s*$/m;

const hasGit = await new Promise<boolean>((resolve) =>
  execFile("git", ["-C", REPO, "rev-parse", "HEAD"], (error) => resolve(!error)),
);

describe("first run from a fresh clone (README quick start)", { skip: !hasGit && "needs git" }, () => {
  let clone: string;
  let env: Record<string, string>;
  let blocker: Server;
  let port: number;
  const running = new Set<ChildProcess>();

  before(async () => {
    const work = realpathSync(await mkdtemp(join(tmpdir(), "vidrelay-first-run-")));
    clone = join(work, "vidrelay");
    await run("git", ["clone", "--quiet", REPO, clone], work);
    await linkDependencies(clone);
    env = newcomerEnv();
    // The console is built by `npm start` when missing (a vite build: slow, and not what this test
    // is about). A console built in the checkout is shared like node_modules; without one, the
    // console is turned off, which also skips the build step.
    if (existsSync(join(REPO, "packages", "console", "dist", "index.html"))) {
      await symlink(join(REPO, "packages", "console", "dist"), join(clone, "packages", "console", "dist"));
    } else env.VIDRELAY_CONSOLE = "false";
    blocker = createServer();
    port = await new Promise<number>((resolve, reject) => {
      blocker.once("error", reject);
      blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port));
    });
    env.VIDRELAY_PORT = String(port);
  });

  after(async () => {
    for (const child of running) stopGroup(child, "SIGKILL");
    blocker?.close();
    if (clone) await rm(join(clone, ".."), { recursive: true, force: true });
  });

  test("a failed first start, then the key, keys from any folder, a restart, and the way back in", async () => {
    const store = join(clone, "data", "vidrelay.db");

    // a. Port taken: one line naming VIDRELAY_PORT and --port, exit 2, no stack, no account.
    const failed = await run("npm", ["start"], clone, { env, allowFailure: true });
    const output = failed.stdout + failed.stderr;
    assert.equal(failed.code, 2, output);
    const mentions = output.split("\n").filter((line) => line.includes("VIDRELAY_PORT"));
    assert.equal(mentions.length, 1, output);
    assert.match(mentions[0]!, new RegExp(`^vidrelay: port ${port} on 127\\.0\\.0\\.1 is in use; .*--port`));
    assert.doesNotMatch(output, /^ {4}at /m, "no stack trace");
    assert.doesNotMatch(output, /EADDRINUSE/);
    if (existsSync(store)) assert.equal(accountCount(store), 0, "a failed start creates no account");

    // b. Port free: the key is printed once and works; the store is <clone>/data/vidrelay.db.
    await new Promise((resolve) => blocker.close(resolve));
    const first = await startServer();
    const key = KEY.exec(first.output())?.[1];
    assert.ok(key, first.output());
    assert.equal(first.output().split(key).length - 1, 1, "the key is printed once");
    assert.match(first.output(), new RegExp(`^ {2}store: +sqlite:${literal(store)}$`, "m"));
    assert.ok(existsSync(store));
    assert.equal(await status(first.url, "/v1/models", key), 200);

    // c. `npx vidrelay keys create` from the root and from the server package: the same store.
    for (const cwd of [clone, join(clone, "packages", "server")]) {
      const created = await run("npx", ["vidrelay", "keys", "create", "--account-name", "someone"], cwd, {
        env,
      });
      assert.match(created.stdout, new RegExp(`^store: sqlite:${literal(store)}$`, "m"), `from ${cwd}`);
      const made = KEY.exec(created.stdout)?.[1];
      assert.ok(made, created.stdout);
      assert.equal(await status(first.url, "/v1/models", made), 200, `key made from ${cwd}`);
    }

    // d. A restart prints no key but the way back in, which works as admin.
    await first.stop();
    const second = await startServer();
    assert.match(
      second.output(),
      /^ {2}admin account exists; lost its key\? run: vidrelay keys create --admin$/m,
      second.output(),
    );
    assert.doesNotMatch(second.output(), /sk-[A-Za-z0-9]{48}/);
    const recovered = await run("npx", ["vidrelay", "keys", "create", "--admin"], clone, { env });
    assert.match(recovered.stdout, new RegExp(`^store: sqlite:${literal(store)}$`, "m"));
    const admin = KEY.exec(recovered.stdout)?.[1];
    assert.ok(admin, recovered.stdout);
    assert.equal(await status(second.url, "/v1/admin/accounts", admin), 200);
    await second.stop();
  });

  /** `npm start` in the background, resolved once its banner (key or reminder included) is out. */
  async function startServer(): Promise<{ url: string; output(): string; stop(): Promise<void> }> {
    // Its own process group: `npm start` is npm → sh → npm → sh → node, and cleanup must reach all.
    const child = spawn("npm", ["start"], {
      cwd: clone,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    // Every process of the chain holds the output pipes: "close" means all of them are gone.
    const gone = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const deadline = Date.now() + 30_000;
    while (!/Try: curl|lost its key\?|BOOTSTRAP_KEY gives/.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        stopGroup(child, "SIGKILL");
        assert.fail(`npm start did not come up:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /listening on (\S+)/.exec(output)?.[1];
    assert.ok(url, output);
    return {
      url,
      output: () => output,
      async stop() {
        // As Ctrl-C does, to the whole process group: a signal to npm alone would not reach the
        // server (npm passes it to `sh -c`, which dies without passing it on).
        stopGroup(child, "SIGINT");
        const timer = setTimeout(() => stopGroup(child, "SIGKILL"), 15_000);
        await gone;
        clearTimeout(timer);
        running.delete(child);
        assert.match(output, /vidrelay: stopped/, output);
      },
    };
  }
});

/**
 * Make the clone's dependencies usable without `npm ci` (minutes, and the registry): it gets its
 * own node_modules folder whose entries link to the checkout's installed packages, except what
 * must be the clone's own — `@vidrelay/*` (npm links each workspace package there; linked to the
 * checkout's, `npx vidrelay` in the clone would run the checkout's CLI, with the checkout's data
 * dir) and `.bin` (its links are relative, so recreated as they are they lead to the clone's
 * `@vidrelay/server/bin/vidrelay.js`). A workspace package's own node_modules (third-party
 * packages npm could not hoist) is linked whole; the SDK's built dist/ too, as `npm ci` would
 * have made it (its prepare script).
 */
async function linkDependencies(clone: string): Promise<void> {
  const installed = join(REPO, "node_modules");
  const modules = join(clone, "node_modules");
  await mkdir(join(modules, ".bin"), { recursive: true });
  for (const name of readdirSync(installed)) {
    if (name === ".bin" || name === "@vidrelay") continue;
    await symlink(realpathSync(join(installed, name)), join(modules, name));
  }
  for (const name of readdirSync(join(installed, ".bin"))) {
    const from = join(installed, ".bin", name);
    let target: string;
    try {
      target = readlinkSync(from);
    } catch {
      target = realpathSync(from); // a copied script rather than a link
    }
    await symlink(target, join(modules, ".bin", name));
  }
  await mkdir(join(modules, "@vidrelay"));
  const workspaces = (
    JSON.parse(readFileSync(join(clone, "package.json"), "utf8")) as { workspaces: string[] }
  ).workspaces;
  for (const workspace of workspaces) {
    const { name } = JSON.parse(readFileSync(join(clone, workspace, "package.json"), "utf8")) as {
      name: string;
    };
    await symlink(join("..", "..", workspace), join(modules, name));
    for (const own of ["node_modules", ...(workspace.endsWith("sdk") ? ["dist"] : [])]) {
      const original = join(REPO, workspace, own);
      if (existsSync(original) && !existsSync(join(clone, workspace, own)))
        await symlink(realpathSync(original), join(clone, workspace, own));
    }
  }
}

/**
 * A newcomer's shell: none of the test runner's VIDRELAY_* or npm_* variables (npm would reuse
 * them), no node_modules/.bin of this checkout on PATH (npx must find the clone's). npm may not
 * reach the registry: everything it needs is local, and a fetch would be a failure here.
 */
function newcomerEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["HOME", "TMPDIR", "LANG", "USER"]) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  out.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => !dir.includes("node_modules"))
    .join(delimiter);
  out.npm_config_offline = "true";
  out.npm_config_update_notifier = "false";
  return out;
}

function run(
  command: string,
  args: string[],
  cwd: string,
  options: { env?: Record<string, string>; allowFailure?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env: options.env ?? process.env, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        if (code !== 0 && !options.allowFailure) {
          reject(new Error(`${command} ${args.join(" ")} in ${cwd} failed (${code}):\n${stdout}\n${stderr}`));
        } else resolve({ code, stdout, stderr });
      },
    );
  });
}

function stopGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function status(base: string, path: string, key: string): Promise<number> {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
  await response.arrayBuffer();
  return response.status;
}

function accountCount(file: string): number {
  const sqlite = openSqlite(file);
  try {
    const rows = sqlite.prepare("select count(*) as n from accounts").all([]) as Array<{ n: number }>;
    return Number(rows[0]?.n ?? 0);
  } finally {
    sqlite.close();
  }
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
