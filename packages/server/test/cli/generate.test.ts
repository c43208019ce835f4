import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { VidRelay } from "@vidrelay/sdk";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { freePort } from "../helpers/process.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { runCli } from "./run.ts";

describe("vidrelay generate", () => {
  let t: TestServer;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    t = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), "vidrelay-cli-generate-"));
    env = { VIDRELAY_BASE_URL: t.url, VIDRELAY_API_KEY: t.key };
  });
  after(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("uploads the image, submits, waits, downloads a 9:16 mp4 and prints its path", async () => {
    const out = join(dir, "out.mp4");
    const result = await runCli(
      [
        "generate",
        "-i",
        sample("landscape-600x450.jpg"),
        "-p",
        "@image1 slow push-in",
        "--seconds",
        "5",
        "--ratio",
        "9:16",
        "--resolution",
        "480p",
        "-o",
        out,
      ],
      env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), out, "stdout is the saved path");
    const facts = await clipFacts(out);
    assert.ok(facts.height > facts.width, `${facts.width}x${facts.height}`);
    assert.ok(
      Math.abs(facts.width / facts.height - 9 / 16) < 0.03,
      `${facts.width}x${facts.height} is not 9:16`,
    );
    assert.ok(Math.abs(facts.duration - 5) < 0.15, `duration ${facts.duration}`);
    assert.equal(facts.videoCodec, "h264");
    // Not a terminal: plain progress lines (no carriage returns), one per change, ending in success.
    assert.ok(!result.stderr.includes("\r"), "no in-place redraws when stderr is not a TTY");
    assert.match(result.stderr, /uploaded landscape-600x450\.jpg → file_/);
    const lines = result.stderr.split("\n").filter((l) => /^task_\w+ +\w+ +\d+%/.test(l));
    assert.ok(lines.length >= 2, result.stderr);
    assert.match(lines.at(-1)!, /succeeded +100%/);
    // The image was the first frame (seedance 1.5 has no reference mode), cited as @image1.
    const client = new VidRelay({ apiKey: t.key, baseURL: t.url });
    const [task] = await client.videos.list({ limit: 1 }).toArray(1);
    assert.equal(task?.prompt, "@image1 slow push-in");
    assert.deepEqual([task?.metadata.ratio, task?.metadata.resolution], ["9:16", "480p"]);
  });

  test("against a stopped server: exit 4 and one line saying so", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const result = await runCli(
      [
        "generate",
        "-i",
        sample("landscape-600x450.jpg"),
        "-p",
        "@image1 slow push-in",
        "-o",
        join(dir, "x.mp4"),
      ],
      { VIDRELAY_BASE_URL: base, VIDRELAY_API_KEY: t.key },
    );
    assert.equal(result.code, 4);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      `vidrelay: cannot reach ${base} (connection refused) — is 'vidrelay serve' running?\n`,
    );
    await assert.rejects(stat(join(dir, "x.mp4")));
  });

  test("--estimate says what it would hold and whether it is allowed; nothing is uploaded or created", async () => {
    const client = new VidRelay({ apiKey: t.key, baseURL: t.url });
    const before = [
      (await client.videos.list().toArray()).length,
      (await client.files.list().toArray()).length,
    ];
    const photo = sample("photo-saw-2725x2225.jpg");
    const human = await runCli(
      ["generate", "-i", photo, "-p", "@image1 slow push-in", "--seconds", "5", "--estimate"],
      env,
    );
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      /seedance-1-5-pro-with-audio: 5 s at 720p on local would hold 0\.0000 USD \(free\)\nallowed/,
    );
    const json = await runCli(
      ["generate", "-p", "a harbour", "-m", "grok-imagine-video", "--estimate", "--json"],
      env,
    );
    assert.equal(json.code, 0, json.stderr);
    const event = JSON.parse(json.stdout) as {
      event: string;
      estimate: { allowed: boolean; seconds: string; provider: string };
    };
    assert.deepEqual([event.event, event.estimate.allowed, event.estimate.seconds], ["estimate", true, "8"]);
    const after = [
      (await client.videos.list().toArray()).length,
      (await client.files.list().toArray()).length,
    ];
    assert.deepEqual(after, before, "no task, no upload");
  });

  test("--no-wait --json prints the submitted task as JSON lines and returns at once", async () => {
    const result = await runCli(
      [
        "generate",
        "-p",
        "a quiet harbour at night",
        "--seconds",
        "4",
        "--resolution",
        "480p",
        "--no-wait",
        "--json",
      ],
      env,
    );
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; task: { task_id: string; status: string } });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.event, "submitted");
    assert.equal(events[0]!.task.status, "submitted");
    await new VidRelay({ apiKey: t.key, baseURL: t.url }).videos
      .cancel(events[0]!.task.task_id)
      .catch(() => {});
  });

  test("--fit pad letterboxes a first frame of another shape; a bad --fit is refused naming metadata.fit", async () => {
    const args = (fit: string) => [
      ...["generate", "-m", "happyhorse-1.0-i2v", "-i", sample("landscape-600x450.jpg")],
      ...["-p", "@image1 the camera holds", "--seconds", "3", "--resolution", "720p", "--ratio", "16:9"],
      ...["--fit", fit, "--no-wait", "--json"],
    ];
    const result = await runCli(args("pad"), env);
    assert.equal(result.code, 0, result.stderr);
    const submitted = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { task: { task_id: string } };
    const client = new VidRelay({ apiKey: t.key, baseURL: t.url });
    const task = await client.videos.get(submitted.task.task_id);
    assert.equal(task.metadata.fit, "pad");
    await client.videos.cancel(task.id).catch(() => {});

    // Refused before the image is uploaded (test/cli/generate-checks.test.ts has every such flag).
    const bad = await runCli(args("stretch"), env);
    assert.equal(bad.code, 2, bad.stderr);
    assert.equal(bad.stderr, 'vidrelay: --fit must be crop or pad (got "stretch")\n');
  });

  test("--json streams progress events and ends with the saved file", async () => {
    const out = join(dir, "json.mp4");
    const result = await runCli(
      ["generate", "-p", "rain on a window", "--seconds", "4", "--resolution", "480p", "--json", "-o", out],
      env,
    );
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as { event: string; task: { status: string; progress: number }; output?: string },
      );
    assert.equal(events[0]?.event, "submitted");
    assert.ok(events.some((e) => e.event === "progress"));
    const last = events.at(-1)!;
    assert.equal(last.event, "succeeded");
    assert.equal(last.output, out);
    assert.equal(last.task.status, "succeeded");
    assert.ok((await stat(out)).size > 1000);
    assert.equal(result.stderr, "", "nothing but JSON in --json mode");
  });

  test("usage errors exit 2; a refused key exits 3; a request the server refuses exits 2 with the param", async () => {
    const none = await runCli(["generate"], env);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^vidrelay: nothing to generate/);

    const unknownFlag = await runCli(["generate", "-p", "x", "--frobnicate"], env);
    assert.equal(unknownFlag.code, 2);
    assert.match(unknownFlag.stderr, /frobnicate/);

    const missing = await runCli(["generate", "-i", join(dir, "nope.jpg"), "-p", "x"], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.jpg: no such file/);

    const noKey = await runCli(["generate", "-p", "x"], { VIDRELAY_BASE_URL: t.url });
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /VIDRELAY_API_KEY/);

    const badKey = await runCli(["generate", "-p", "x"], {
      ...env,
      VIDRELAY_API_KEY: "sk-wrong0000000000000000000000000000000",
    });
    assert.equal(badKey.code, 3);
    assert.match(badKey.stderr, /refused the API key/);
    assert.equal(badKey.stderr.trim().split("\n").length, 1);

    const badSeconds = await runCli(["generate", "-p", "x", "--seconds", "99"], env);
    assert.equal(badSeconds.code, 2);
    assert.match(
      badSeconds.stderr,
      /--seconds 99: seedance-1-5-pro-with-audio makes clips of 4 to 12 seconds/,
    );

    // What only the server can refuse still exits 2 naming the param: a data: URL it cannot decode.
    const refused = await runCli(["generate", "-i", "data:image/png;base64,AAAA", "-p", "x"], env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /\[metadata\.content\[0\]\.image_url\.url\]/);

    const tooMany = await runCli(
      [
        "generate",
        "-i",
        sample("grey-400x267.jpg"),
        "-i",
        sample("grey-400x267.jpg"),
        "-i",
        sample("grey-400x267.jpg"),
        "-p",
        "x",
      ],
      env,
    );
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /takes a first and a last frame, not 3 images/);
  });

  test("a failed task exits 1 with its error code (tasks wait on a cancelled task)", async () => {
    const client = new VidRelay({ apiKey: t.key, baseURL: t.url });
    const created = await client.videos.create({
      model: "seedance-1-5-pro-with-audio",
      prompt: "x",
      seconds: "12",
    });
    await client.videos.cancel(created.task_id);
    const result = await runCli(["tasks", "wait", created.task_id], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`vidrelay: task ${created.task_id} failed \\(cancelled\\)`));
  });
});
