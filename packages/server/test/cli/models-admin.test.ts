import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { sample } from "../helpers/paths.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";
import { runCli } from "./run.ts";

const TASKS = "/api/v3/contents/generations/tasks";
const MODEL = "acme-seedance-i2v";
const UPSTREAM = "doubao-seedance-1-5-pro-251215";

// biome-ignore lint/suspicious/noExplicitAny: response and journal bodies are read by path
type Json = any;

/** A model no built-in has, declared as docs/models.md shows: image-to-video only, 4–6 s, 720p, silent. */
const DECLARATION = {
  id: MODEL,
  name: "Acme Seedance i2v",
  description: "Seedance 1.5 pro animating one product photo, silent, 4-6 s at 720p.",
  family: "acme",
  modes: ["first_frame"],
  seconds: { min: 4, max: 6, default: 5 },
  resolutions: { values: ["720p"], default: "720p" },
  ratios: { values: ["16:9", "1:1", "adaptive"], default: "adaptive" },
  audio: { mode: "never", default: false },
  input_image: { min_side: 300, max_side: 6000, max_aspect: 2.5, max_bytes: 31457280 },
  parameters: { seed: { supported: true }, camera_fixed: { supported: true } },
  pricing: { per_second: { "720p": "0.05" } },
};

describe("vidrelay models add | list | disable: a model without a release", () => {
  let t: TestServer;
  let ark: ArkDouble;
  let env: Record<string, string>;
  let channelId: string;
  before(async () => {
    ark = await startArkDouble({ profile: "cn", queueDelayMs: 0 });
    t = await startTestServer({ upstreamPollScale: 0.01 });
    env = { VIDRELAY_BASE_URL: t.url, VIDRELAY_API_KEY: t.key };
    const res = await t.api("/v1/admin/channels", {
      method: "POST",
      json: {
        provider: "ark",
        base_url: ark.baseUrl,
        api_key: ark.keys[0],
        models: { "seedance-1-5-pro-with-audio": UPSTREAM },
      },
    });
    channelId = ((await res.json()) as Json).id;
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  const seedRequest = (url: string) => ({
    model: MODEL,
    prompt: "@image1 the camera slowly pushes in",
    seconds: "5",
    metadata: {
      ratio: "16:9",
      resolution: "720p",
      content: [{ type: "image_url", image_url: { url }, role: "reference_image" }],
    },
  });

  test("added from a file, listed, validated by its declaration; the seed's request reaches Ark", async () => {
    const file = join(t.dataDir, "model.json");
    await writeFile(file, JSON.stringify(DECLARATION));
    const added = await runCli(
      ["models", "add", file, "--upstream", `${channelId}=${UPSTREAM}`, "--json"],
      env,
    );
    assert.equal(added.code, 0, added.stderr);
    assert.equal(JSON.parse(added.stdout).version, 1);

    const again = await runCli(["models", "add", file], env);
    assert.equal(again.code, 2, "adding an existing id is a usage error");
    assert.match(again.stderr, /models update/);

    const list = await runCli(["models", "list"], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${MODEL}\\s+enabled\\s+1\\s+operator\\s+${channelId}=${UPSTREAM}`));
    const listed = ((await (await t.api("/v1/models")).json()) as Json).data.find(
      (m: Json) => m.id === MODEL,
    );
    assert.deepEqual(listed.modes, ["first_frame"]);

    // Validated by the declaration: text-only is not one of its modes.
    const textOnly = await t.api("/v1/video/generations", {
      method: "POST",
      json: { model: MODEL, prompt: "x" },
    });
    assert.equal(textOnly.status, 400);
    assert.equal(((await textOnly.json()) as Json).error.param, "metadata.content");

    const photo = (await (await uploadFile(t, sample("photo-saw-2725x2225.jpg"))).json()) as { url: string };
    const res = await t.api("/v1/video/generations", { method: "POST", json: seedRequest(photo.url) });
    assert.equal(res.status, 200, await res.clone().text());
    const task = await waitForTask(t, ((await res.json()) as Json).task_id);
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.equal(task.provider, "ark");
    const body = ark.journal.list({ method: "POST", path: TASKS }).at(-1)!.body as Json;
    assert.equal(body.model, UPSTREAM);
    assert.equal(body.duration, 5);
    assert.equal(body.ratio, "16:9");
    assert.equal(body.resolution, "720p");
    assert.equal(body.generate_audio, false);
    const image = body.content.find((c: Json) => c.type === "image_url");
    assert.equal(image.role, "first_frame");
    assert.equal((task.usage as Json).cost, "0.2500", "5 s at the declared 0.05/s");
  });

  test("disable makes a submit a 400 naming model; versions shows the history", async () => {
    const disabled = await runCli(["models", "disable", MODEL, "--note", "retired upstream"], env);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /version 2 {2}disabled/);
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: seedRequest("https://example.com/a.jpg"),
    });
    assert.equal(res.status, 400);
    const error = ((await res.json()) as Json).error;
    assert.deepEqual([error.code, error.param], ["model_disabled", "model"]);
    const versions = await runCli(["models", "versions", MODEL], env);
    assert.match(versions.stdout, /2\s+disabled\s+\S+\s+\S+\s+retired upstream/);
    assert.match(versions.stdout, /1\s+enabled/);
  });

  test("a broken file is refused by the gateway with the field named, and an unknown subcommand by the CLI", async () => {
    const file = join(t.dataDir, "broken.json");
    await writeFile(
      file,
      JSON.stringify({ ...DECLARATION, id: "acme-broken", seconds: { min: 6, max: 4, default: 5 } }),
    );
    const res = await runCli(["models", "add", file], env);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /seconds/);
    const help = await runCli(["models", "add", "--help"], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /models as data/);
  });
});
