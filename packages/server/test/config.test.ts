import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  ConfigError,
  checkoutRoot,
  defaultDataDir,
  envName,
  flagName,
  loadConfig,
  storeLabel,
} from "../src/config.ts";
import { CLI } from "./helpers/paths.ts";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "");

const run = promisify(execFile);

describe("configuration", () => {
  test("embedded defaults", () => {
    const config = loadConfig({}, {});
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 8080);
    assert.ok(config.dataDir.endsWith("/data"));
    assert.equal(config.publicUrl, "http://127.0.0.1:8080");
    assert.ok(config.databaseUrl.startsWith("sqlite:"));
    assert.ok(config.databaseUrl.endsWith("/data/vidrelay.db"));
  });

  test("the data dir does not depend on the working directory; a relative one is where the command was typed", () => {
    assert.equal(checkoutRoot(), REPO_ROOT);
    const data = join(REPO_ROOT, "data");
    // Unset: the checkout's data/, whichever folder the command runs in (npm start: packages/server).
    assert.equal(loadConfig({}, {}).dataDir, data);
    assert.equal(loadConfig({}, { INIT_CWD: "/srv/app" }).dataDir, data);
    assert.equal(loadConfig({}, {}).databaseUrl, `sqlite:${data}/vidrelay.db`);
    // Relative: to the folder npm was run in (INIT_CWD), else the working directory.
    assert.equal(
      loadConfig({}, { INIT_CWD: "/srv/app", VIDRELAY_DATA_DIR: "state" }).dataDir,
      "/srv/app/state",
    );
    assert.equal(loadConfig({ dataDir: "state" }, {}).dataDir, resolve("state"));
    assert.equal(
      loadConfig({ dataDir: "/var/lib/vidrelay" }, { INIT_CWD: "/srv/app" }).dataDir,
      "/var/lib/vidrelay",
    );
    assert.equal(
      loadConfig({}, { INIT_CWD: "/srv/app", VIDRELAY_DATABASE_URL: "sqlite:db/v.db" }).databaseUrl,
      "sqlite:/srv/app/db/v.db",
    );
    assert.equal(loadConfig({ databaseUrl: "sqlite:/abs/v.db" }, {}).databaseUrl, "sqlite:/abs/v.db");
  });

  test("installed as a package (not in a checkout), the default is the user's data folder", async () => {
    const app = await mkdtemp(join(tmpdir(), "vidrelay-installed-"));
    try {
      const installed = join(app, "node_modules", "@vidrelay", "server");
      await mkdir(installed, { recursive: true });
      await writeFile(join(app, "package.json"), JSON.stringify({ name: "someones-app" }));
      assert.equal(checkoutRoot(installed), undefined);
      // Our monorepo's name above it, but not listing it as a workspace: still not a checkout.
      await writeFile(
        join(app, "package.json"),
        JSON.stringify({ name: "vidrelay-monorepo", workspaces: ["packages/server"] }),
      );
      assert.equal(checkoutRoot(installed), undefined);
      assert.equal(defaultDataDir({ XDG_DATA_HOME: "/xdg" }, installed), "/xdg/vidrelay");
      const home = join(homedir(), ".local", "share", "vidrelay");
      assert.equal(defaultDataDir({ XDG_DATA_HOME: "relative/ignored" }, installed), home);
      assert.equal(defaultDataDir({}, installed), home);
    } finally {
      await rm(app, { recursive: true, force: true });
    }
  });

  test("the store is named without credentials", () => {
    assert.equal(storeLabel("sqlite:/x/data/vidrelay.db"), "sqlite:/x/data/vidrelay.db");
    assert.equal(
      storeLabel("postgres://app:hunter2@db.internal:5432/vidrelay?sslmode=require"),
      "postgres://db.internal:5432/vidrelay",
    );
  });

  test("env vars with the VIDRELAY_ prefix, flags win", () => {
    const config = loadConfig(
      { port: "9100" },
      { VIDRELAY_PORT: "9000", VIDRELAY_HOST: "0.0.0.0", VIDRELAY_PUBLIC_URL: "https://video.example.com/" },
    );
    assert.equal(config.port, 9100);
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.publicUrl, "https://video.example.com");
    assert.equal(envName("dataDir"), "VIDRELAY_DATA_DIR");
    assert.equal(flagName("publicUrl"), "--public-url");
  });

  test("every bad value is reported with its variable and flag name", () => {
    try {
      loadConfig(
        {},
        {
          VIDRELAY_PORT: "70000",
          VIDRELAY_PUBLIC_URL: "not a url",
          VIDRELAY_DATABASE_URL: "mysql://x",
          VIDRELAY_BOOTSTRAP_KEY: "short",
          VIDRELAY_SECRET: "tiny",
          VIDRELAY_WORKERS: "maybe",
        },
      );
      assert.fail("expected a ConfigError");
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      const text = error.message;
      for (const name of [
        "VIDRELAY_PORT (--port)",
        "VIDRELAY_PUBLIC_URL (--public-url)",
        "VIDRELAY_DATABASE_URL",
        "VIDRELAY_BOOTSTRAP_KEY",
        "VIDRELAY_SECRET",
        "VIDRELAY_WORKERS",
      ]) {
        assert.ok(text.includes(name), `${name} missing from:\n${text}`);
      }
      assert.equal(error.problems.length, 6);
    }
  });

  test("a password inside a URL setting is masked in the error, the rest shown to fix the typo", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({}, env);
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.message;
      }
      assert.fail("expected a ConfigError");
    };
    const typo = problems({
      VIDRELAY_DATABASE_URL: "postgress://app:hunter2-secret@db.internal:5432/vidrelay",
    });
    assert.ok(!typo.includes("hunter2"), typo);
    assert.match(typo, /"postgress:\/\/app:\*\*\*@db\.internal:5432\/vidrelay"/);
    const query = problems({
      VIDRELAY_DATABASE_URL: "mysql://db/vidrelay?user=app&password=hunter2&sslmode=require",
    });
    assert.ok(!query.includes("hunter2"), query);
    assert.match(query, /password=\*\*\*&sslmode=require/);
    const publicUrl = problems({ VIDRELAY_PUBLIC_URL: "ftp://user:hunter2@files.example.com" });
    assert.ok(!publicUrl.includes("hunter2"), publicUrl);
  });
});

describe("vidrelay CLI", () => {
  test("serve refuses a bad value with exit code 2 and a clear message", async () => {
    const result = await run(process.execPath, [CLI, "serve", "--port", "nope"]).catch((e) => e);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /VIDRELAY_PORT \(--port\) = "nope"/);
  });

  test("keys create | list | revoke work on the store directly", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-cli-"));
    try {
      const env = { ...process.env, VIDRELAY_DATA_DIR: dataDir };
      const created = await run(
        process.execPath,
        [CLI, "keys", "create", "--account-name", "acme", "--json"],
        { env },
      );
      const key = JSON.parse(created.stdout) as { id: string; key: string; account: { id: string } };
      assert.match(key.key, /^sk-[A-Za-z0-9]{48}$/);
      const second = await run(
        process.execPath,
        [CLI, "keys", "create", "--account", key.account.id, "--name", "ci", "--test-mode"],
        { env },
      );
      assert.match(second.stdout, /shown once/);
      assert.match(second.stdout, /\[test mode\]/);
      const list = await run(process.execPath, [CLI, "keys", "list", "--json"], { env });
      const keys = JSON.parse(list.stdout) as Array<{
        id: string;
        test_mode: boolean;
        revoked_at: number | null;
      }>;
      assert.equal(keys.length, 2);
      assert.ok(!list.stdout.includes(key.key), "secrets are never listed");
      await run(process.execPath, [CLI, "keys", "revoke", key.id], { env });
      const after = JSON.parse(
        (await run(process.execPath, [CLI, "keys", "list", "--json"], { env })).stdout,
      ) as Array<{
        id: string;
        revoked_at: number | null;
      }>;
      assert.ok(after.find((k) => k.id === key.id)?.revoked_at);
      const usage = await run(process.execPath, [CLI, "keys", "revoke"], { env }).catch((e) => e);
      assert.equal(usage.code, 2);
      const missing = await run(process.execPath, [CLI, "keys", "revoke", "key_nope"], { env }).catch(
        (e) => e,
      );
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no API key key_nope/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test("keys name the store they open (stderr with --json); keys create --admin is the way back in", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-cli-"));
    try {
      const env = { ...process.env, VIDRELAY_DATA_DIR: dataDir };
      const store = `store: sqlite:${join(dataDir, "vidrelay.db")}`;
      // No admin account: most likely not the server's store, so refused, naming the store.
      const refused = await run(process.execPath, [CLI, "keys", "create", "--admin"], { env }).catch(
        (e) => e,
      );
      assert.equal(refused.code, 2);
      assert.ok(refused.stdout.startsWith(`${store} (new: no store was there yet)\n`), refused.stdout);
      assert.match(refused.stderr, /this store has no admin account \(sqlite:.*\): is it the server's\?/);
      const boss = await run(
        process.execPath,
        [CLI, "keys", "create", "--account-name", "boss", "--admin", "--json"],
        { env },
      );
      assert.equal(boss.stderr.trim(), store);
      const first = JSON.parse(boss.stdout) as { account: { id: string; admin: boolean } };
      assert.equal(first.account.admin, true);
      await run(process.execPath, [CLI, "keys", "create", "--account-name", "later", "--admin"], { env });
      const again = await run(process.execPath, [CLI, "keys", "create", "--admin"], { env });
      assert.ok(again.stdout.startsWith(`${store}\n`), again.stdout);
      assert.match(again.stdout, new RegExp(`created key \\S+ for account ${first.account.id} \\(boss\\)`));
      assert.match(again.stdout, /^sk-[A-Za-z0-9]{48}$/m);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
