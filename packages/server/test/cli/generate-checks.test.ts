import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sample } from "../helpers/paths.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { runCli } from "./run.ts";

/**
 * `vidrelay generate` checks every flag before it uploads anything: each bad command line below is
 * one line on stderr, exit 2, and the server ends up with no file and no task.
 */
describe("vidrelay generate checks its flags before uploading", () => {
  let t: TestServer;
  let dir: string;
  let env: Record<string, string>;
  const PHOTO = sample("landscape-600x450.jpg"); // 600x450: fits every model's image limits
  const SMALL = sample("grey-400x267.jpg"); // 267 px high: under Seedance's 300 px
  const WIDE = sample("wide-4096x800.avif"); // aspect 5.1: over every model's 2.5
  before(async () => {
    t = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), "vidrelay-cli-checks-"));
    env = { VIDRELAY_BASE_URL: t.url, VIDRELAY_API_KEY: t.key };
    await writeFile(join(dir, "notes.jpg"), "these are my notes, not a photo\n");
    await writeFile(join(dir, "empty.jpg"), "");
    await mkdir(join(dir, "folder.jpg"));
    await mkdir(join(dir, "out"));
  });
  after(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const withPhoto = (...more: string[]) => ["-i", PHOTO, "-p", "@image1 slow push-in", ...more];
  const cases: [name: string, args: () => string[], message: RegExp][] = [
    [
      "--ratio not a ratio",
      () => withPhoto("--ratio", "16:10"),
      /^--ratio must be 21:9, .* or adaptive \(got "16:10"\)$/,
    ],
    [
      "--resolution not a resolution",
      () => withPhoto("--resolution", "4k"),
      /^--resolution must be 480p, 720p or 1080p \(got "4k"\)$/,
    ],
    [
      "--fit not crop or pad",
      () => withPhoto("--fit", "stretch"),
      /^--fit must be crop or pad \(got "stretch"\)$/,
    ],
    [
      "--seconds outside the model's range",
      () => withPhoto("--seconds", "99"),
      /^--seconds 99: seedance-1-5-pro-with-audio makes clips of 4 to 12 seconds$/,
    ],
    [
      "--ratio the model does not take",
      () => withPhoto("-m", "happyhorse-1.0-i2v", "--ratio", "21:9"),
      /^--ratio 21:9: happyhorse-1\.0-i2v takes 16:9, /,
    ],
    [
      "--resolution the model does not make",
      () => withPhoto("-m", "happyhorse-1.0-i2v", "--resolution", "480p"),
      /^--resolution 480p: happyhorse-1\.0-i2v makes 720p, 1080p$/,
    ],
    [
      "--fit pad on a model that crops itself",
      () => withPhoto("--fit", "pad"),
      /^--fit pad: seedance-1-5-pro-with-audio crops/,
    ],
    [
      "--no-audio on an always-audio model",
      () => withPhoto("--no-audio"),
      /^--no-audio: seedance-1-5-pro-with-audio always makes a soundtrack$/,
    ],
    [
      "--audio on a silent model",
      () => withPhoto("-m", "seedance-1-5-pro-no-audio", "--audio"),
      /^--audio: seedance-1-5-pro-no-audio makes no soundtrack$/,
    ],
    [
      "--seed over the model's maximum",
      () => withPhoto("-m", "happyhorse-1.0-i2v", "--seed", "3000000000"),
      /^--seed 3000000000: happyhorse-1\.0-i2v takes -1 to 2147483647$/,
    ],
    [
      "a prompt over the model's length",
      () => ["-i", PHOTO, "-p", "x".repeat(5001)],
      /^--prompt is 5001 characters; seedance-1-5-pro-with-audio takes at most 5000$/,
    ],
    [
      "a model typo",
      () => withPhoto("-m", "seedance-1-0-pro"),
      /^no model "seedance-1-0-pro" for this key\. Did you mean "seedance-1-5-pro-with-audio" or "seedance-1-5-pro-no-audio"\? 'vidrelay models'/,
    ],
    [
      "an unknown model",
      () => withPhoto("-m", "sora-2"),
      /^no model "sora-2" for this key\. 'vidrelay models' lists/,
    ],
    [
      "images on a text-only model",
      () => withPhoto("-m", "happyhorse-1.0-t2v"),
      /^happyhorse-1\.0-t2v makes video from text only/,
    ],
    [
      "no image on an image-only model",
      () => ["-m", "happyhorse-1.0-i2v", "-p", "a kite"],
      /^happyhorse-1\.0-i2v needs an image: pass it with -i$/,
    ],
    [
      "a last frame without a first",
      () => ["-p", "x", "--last-frame", PHOTO],
      /^--last-frame needs a first frame too/,
    ],
    [
      "a last frame on a model without one",
      () => withPhoto("-m", "grok-imagine-video", "--last-frame", PHOTO),
      /^--last-frame: grok-imagine-video takes no last frame$/,
    ],
    [
      "frames mixed with references",
      () => withPhoto("-m", "doubao-seedance-2-0-720p", "--first-frame", PHOTO),
      /cannot be mixed with --first-frame\/--last-frame$/,
    ],
    [
      "an image too small for the model",
      () => ["-i", SMALL, "-p", "x"],
      /^grey-400x267\.jpg is 400x267 px; seedance-1-5-pro-with-audio needs at least 300 px on each side$/,
    ],
    [
      "an image too wide for the model",
      () => ["-i", WIDE, "-p", "x"],
      /^wide-4096x800\.avif is 4096x800 px; .* aspect ratio of at most 2\.5:1$/,
    ],
    [
      "an image that is text",
      () => ["-i", join(dir, "notes.jpg"), "-p", "x"],
      /notes\.jpg is plain text; -i takes JPEG, PNG/,
    ],
    ["an empty image", () => ["-i", join(dir, "empty.jpg"), "-p", "x"], /empty\.jpg is empty$/],
    [
      "an image that is a folder",
      () => ["-i", join(dir, "folder.jpg"), "-p", "x"],
      /folder\.jpg is not a file$/,
    ],
    [
      "a missing image",
      () => ["-i", join(dir, "nope.jpg"), "-p", "x"],
      /^cannot read .*nope\.jpg: no such file$/,
    ],
    [
      "-o in a missing folder",
      () => withPhoto("-o", join(dir, "missing", "clip.mp4")),
      /^-o .*clip\.mp4: the folder .*missing does not exist$/,
    ],
    ["-o a folder", () => withPhoto("-o", join(dir, "out")), /^-o .*out is a folder; give the file to save/],
  ];

  for (const [name, args, message] of cases) {
    test(`${name}: one line, exit 2, nothing uploaded`, async () => {
      const result = await runCli(["generate", ...args()], env);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      const lines = result.stderr.split("\n").filter(Boolean);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!.replace(/^vidrelay: /, ""), message);
      assert.ok(lines[0]!.startsWith("vidrelay: "), lines[0]);
      const files = (await (await t.api("/v1/files")).json()) as { data: unknown[] };
      assert.equal(files.data.length, 0, "nothing was uploaded");
      const tasks = (await (await t.api("/v1/video/generations")).json()) as { data: unknown[] };
      assert.equal(tasks.data.length, 0, "nothing was submitted");
    });
  }

  test("the same images and flags, corrected, upload once and submit", async () => {
    const result = await runCli(
      [
        "generate",
        ...withPhoto("--ratio", "16:9", "--resolution", "480p", "--seconds", "4", "--no-wait", "--json"),
      ],
      env,
    );
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; task?: { task_id: string } });
    assert.deepEqual(
      events.map((e) => e.event),
      ["uploaded", "submitted"],
    );
    const files = (await (await t.api("/v1/files")).json()) as { data: unknown[] };
    assert.equal(files.data.length, 1);
    await t.api(`/v1/video/generations/${events[1]!.task!.task_id}/cancel`, { method: "POST" });
  });
});
