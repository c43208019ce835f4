import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { VidRelay } from "@vidrelay/sdk";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { freePort } from "../helpers/process.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { runCli } from "./run.ts";

describe("vidrelay client commands", () => {
  let t: TestServer;
  let dir: string;
  let env: Record<string, string>;
  let client: VidRelay;
  before(async () => {
    t = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), "vidrelay-cli-commands-"));
    env = { VIDRELAY_BASE_URL: t.url, VIDRELAY_API_KEY: t.key };
    client = new VidRelay({ apiKey: t.key, baseURL: t.url });
  });
  after(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("--help on every command exits 0 and shows an example", async () => {
    // In-process (the same main() the binary runs): spawning eight CLIs would only add start-up time.
    const { main } = await import("../../src/cli/main.ts");
    const commands = [
      [],
      ["generate"],
      ["tasks"],
      ["tasks", "wait"],
      ["files"],
      ["models"],
      ["doctor"],
      ["serve"],
      ["keys"],
    ];
    for (const command of commands) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main([...command, "--help"], { out: (l) => out.push(l), err: (l) => err.push(l) });
      const name = command.join(" ") || "vidrelay";
      assert.equal(code, 0, `${name}: ${err.join("\n")}`);
      assert.match(out.join("\n"), /Examples?:\n {2}\S/, `${name} --help has no example`);
      assert.deepEqual(err, []);
    }
    // And once through the real binary.
    const real = await runCli(["generate", "--help"], {});
    assert.equal(real.code, 0);
    assert.match(real.stdout, /^vidrelay generate — /);
  });

  test("files upload | list | rm", async () => {
    const uploaded = await runCli(
      ["files", "upload", sample("landscape-600x450.jpg"), sample("grey-400x267.jpg"), "--json"],
      env,
    );
    assert.equal(uploaded.code, 0, uploaded.stderr);
    const files = uploaded.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; filename: string });
    assert.deepEqual(
      files.map((f) => f.filename),
      ["landscape-600x450.jpg", "grey-400x267.jpg"],
    );
    const [list, removed] = await Promise.all([
      runCli(["files", "list"], env),
      runCli(["files", "rm", files[0]!.id], env),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^FILE +NAME +TYPE +SIZE +PIXELS +EXPIRES/);
    assert.match(list.stdout, new RegExp(`${files[1]!.id} +grey-400x267\\.jpg +image/jpeg +\\d+ +400x267`));
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout.trim(), `deleted ${files[0]!.id}`);
    const after = await runCli(["files", "list", "--json"], env);
    const ids = after.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { id: string }).id);
    assert.ok(!ids.includes(files[0]!.id));
    assert.ok(ids.includes(files[1]!.id));
    const again = await runCli(["files", "rm", files[0]!.id], env);
    assert.equal(again.code, 2, "deleting an unknown file is refused");
    assert.match(again.stderr, /^vidrelay: /);
  });

  test("tasks list | get | cancel | wait", async () => {
    const done = await client.videos.create({
      model: "seedance-1-5-pro-with-audio",
      prompt: "a spinning top",
      seconds: "4",
      metadata: { resolution: "480p" },
    });
    const long = await client.videos.create({
      model: "seedance-1-5-pro-with-audio",
      prompt: "a very long take",
      seconds: "12",
      metadata: { resolution: "480p" },
    });
    const out = join(dir, "waited.mp4");
    const [waited, cancelled] = await Promise.all([
      runCli(["tasks", "wait", done.task_id, "-o", out], env),
      runCli(["tasks", "cancel", long.task_id], env),
    ]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal(cancelled.stdout.trim(), `cancelled ${long.task_id}`);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(waited.stdout.trim(), out);
    const facts = await clipFacts(out);
    const video = (await client.videos.get(done.task_id)).video;
    assert.deepEqual([facts.width, facts.height], [video?.width, video?.height]);
    assert.ok(facts.width > facts.height);

    const [list, failedOnly, get, unknown] = await Promise.all([
      runCli(["tasks", "list"], env),
      runCli(["tasks", "list", "--status", "failed", "--json"], env),
      runCli(["tasks", "get", long.task_id], env),
      runCli(["tasks", "get", "task_00000000000000000000000000000000"], env),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^TASK +STATUS +PROGRESS +MODEL +SECONDS +CREATED/);
    assert.match(list.stdout, new RegExp(`${done.task_id} +succeeded +100%`));
    assert.match(list.stdout, new RegExp(`${long.task_id} +failed \\(cancelled\\)`));
    const failed = failedOnly.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { task_id: string; status: string });
    assert.deepEqual(
      failed.map((f) => [f.task_id, f.status]),
      [[long.task_id, "failed"]],
    );
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /status +failed — cancelled: /);
    assert.match(get.stdout, /seconds +12\n/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^vidrelay: .*\n$/);

    const badStatus = await runCli(["tasks", "list", "--status", "done"], env);
    assert.equal(badStatus.code, 2);
    assert.match(badStatus.stderr, /--status must be one of/);
  });

  test("usage prints a row per day (its date in DAY) and the total", async () => {
    // After the tasks above: today's row exists. The DAY column read a field the API never sends
    // until the CLI used the SDK's generated UsageRow type.
    const usage = await runCli(["usage", "--group-by", "day"], env);
    assert.equal(usage.code, 0, usage.stderr);
    const today = new Date().toISOString().slice(0, 10);
    const lines = usage.stdout.trim().split("\n");
    assert.match(lines[0]!, /^DAY\s+MODEL\s+KEY\s+TASKS/);
    assert.ok(
      lines.some((line) => line.startsWith(today)),
      usage.stdout,
    );
    assert.match(lines.at(-1)!, /^total\s/);
  });

  test("models lists the catalog; models ID prints one as JSON", async () => {
    const [table, one] = await Promise.all([
      runCli(["models"], env),
      runCli(["models", "doubao-seedance-2-0-720p"], env),
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /seedance-1-5-pro-with-audio +text,first_frame,first_last_frame +4-12 \(5\) +480p,720p,1080p +always/,
    );
    assert.equal(one.code, 0, one.stderr);
    assert.equal((JSON.parse(one.stdout) as { references: { images: number } }).references.images, 9);
  });

  test("doctor: all good (0), a stopped server (4), a refused key (3)", async () => {
    const port = await freePort();
    const [good, down, badKey] = await Promise.all([
      runCli(["doctor"], env),
      runCli(["doctor", "--base-url", `http://127.0.0.1:${port}`], env),
      runCli(["doctor", "--api-key", "sk-wrong0000000000000000000000000000000"], {
        VIDRELAY_BASE_URL: t.url,
      }),
    ]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    for (const name of ["server", "ready", "store", "api key", "ffmpeg", "channels"]) {
      assert.match(good.stdout, new RegExp(`^ok +${name} `, "m"), `${name} not ok:\n${good.stdout}`);
    }
    assert.match(good.stdout, /channels +none configured/);
    assert.match(good.stdout, /ffmpeg +\S+ \(/);

    assert.equal(down.code, 4, down.stdout);
    assert.match(
      down.stdout,
      /^FAIL +server +cannot reach http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/m,
    );

    assert.equal(badKey.code, 3, badKey.stdout);
    assert.match(badKey.stdout, /^FAIL +api key /m);
    assert.match(badKey.stdout, /^ok +server /m);
  });
});
