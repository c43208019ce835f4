import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { freshPostgres, type TestDatabase } from "../helpers/databases.ts";
import { until } from "../helpers/receiver.ts";
import { startTestServer, type TestServer, waitForTask } from "../helpers/server.ts";

const MODEL = "acme-seedance-short";
const UPSTREAM = "doubao-seedance-1-5-pro-251215";

/** A model no built-in has: 4–8 s, 480p/720p, two ratios, silent, frames but no references. */
function declaration(overrides: Record<string, unknown> = {}) {
  return {
    name: "Acme Seedance short",
    description: "Short silent Seedance clips for Acme's catalogue.",
    family: "acme",
    modes: ["text", "first_frame"],
    seconds: { min: 4, max: 8, default: 6 },
    resolutions: { values: ["480p", "720p"], default: "480p" },
    ratios: { values: ["16:9", "9:16", "adaptive"], default: "16:9", default_with_media: "adaptive" },
    audio: { mode: "never", default: false },
    input_image: { min_side: 300, max_side: 6000, max_aspect: 2.5, max_bytes: 31457280 },
    parameters: { seed: { supported: true }, watermark: { supported: true, default: false } },
    pricing: { per_second: { "480p": "0.02", "720p": "0.04" } },
    ...overrides,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read by path
type Json = Record<string, any>;

describe("models as data: PUT /v1/admin/models/{id}", () => {
  let ark: ArkDouble;
  let t: TestServer;
  let channelId: string;

  before(async () => {
    ark = await startArkDouble({ profile: "cn", queueDelayMs: 0 });
    t = await startTestServer({ upstreamPollScale: 0.01 });
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

  const put = (id: string, body: unknown) => t.api(`/v1/admin/models/${id}`, { method: "PUT", json: body });
  const submit = (body: Json) => t.api("/v1/video/generations", { method: "POST", json: body });

  test("a declared model is listed with its limits and price, and its submits reach the Ark channel", async () => {
    const res = await put(MODEL, { ...declaration(), upstream_models: { [channelId]: UPSTREAM } });
    assert.equal(res.status, 200, await res.clone().text());
    const entry = (await res.json()) as Json;
    assert.equal(entry.object, "model_declaration");
    assert.equal(entry.version, 1);
    assert.equal(entry.enabled, true);
    assert.equal(entry.builtin, false);
    assert.deepEqual(entry.upstream_models, { [channelId]: UPSTREAM });
    assert.deepEqual(entry.declaration.pricing.per_second, { "480p": "0.02", "720p": "0.04" });

    const listed = ((await (await t.api("/v1/models")).json()) as Json).data.find(
      (m: Json) => m.id === MODEL,
    );
    assert.ok(listed, "GET /v1/models lists the new model");
    assert.deepEqual(listed.seconds, { min: 4, max: 8, default: 6 });
    assert.deepEqual(listed.providers, ["ark"]);
    assert.equal(listed.pricing.per_second["720p"], "0.0400");

    // Validated by its declaration: 10 s is outside 4–8, 1080p is not offered.
    const long = await submit({ model: MODEL, prompt: "a lighthouse", seconds: "10" });
    assert.equal(long.status, 400);
    const longError = ((await long.json()) as Json).error;
    assert.equal(longError.param, "seconds");
    assert.match(longError.message, /4 to 8/);
    const big = await submit({ model: MODEL, prompt: "a lighthouse", metadata: { resolution: "1080p" } });
    assert.equal(((await big.json()) as Json).error.param, "metadata.resolution");

    const ok = await submit({
      model: MODEL,
      prompt: "a lighthouse at dusk",
      seconds: "5",
      metadata: { ratio: "9:16", seed: 7 },
    });
    assert.equal(ok.status, 200, await ok.clone().text());
    const taskId = ((await ok.json()) as Json).task_id;
    const done = await waitForTask(t, taskId);
    assert.equal(done.status, "succeeded", JSON.stringify(done));
    // What reached the Ark double, as its validator read the create body.
    const upstream = ark.tasks.list().at(-1)!.params;
    assert.equal(upstream.modelField, UPSTREAM);
    assert.equal(upstream.duration, 5);
    assert.equal(upstream.ratio, "9:16");
    assert.equal(upstream.resolution, "480p");
    assert.equal(upstream.seed, 7);
    assert.equal(upstream.generateAudio, false, "a silent model asks Ark for no audio");
    assert.equal((done.usage as Json).cost, "0.1000", "5 s at the declared 0.02/s");
  });

  test("disabling makes a submit a 400 naming model; the model leaves /v1/models; its tasks stay readable", async () => {
    const res = await t.api(`/v1/admin/models/${MODEL}`, {
      method: "PATCH",
      json: { enabled: false, note: "paused" },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const entry = (await res.json()) as Json;
    assert.equal(entry.enabled, false);
    assert.equal(entry.version, 2);
    const refused = await submit({ model: MODEL, prompt: "again" });
    assert.equal(refused.status, 400);
    const error = ((await refused.json()) as Json).error;
    assert.equal(error.code, "model_disabled");
    assert.equal(error.param, "model");
    assert.match(error.message, /disabled/);
    const models = ((await (await t.api("/v1/models")).json()) as Json).data.map((m: Json) => m.id);
    assert.ok(!models.includes(MODEL));
    const versions = ((await (await t.api(`/v1/admin/models/${MODEL}/versions`)).json()) as Json).data;
    assert.deepEqual(
      versions.map((v: Json) => [v.version, v.enabled, v.note]),
      [
        [2, false, "paused"],
        [1, true, null],
      ],
    );
    const back = await t.api(`/v1/admin/models/${MODEL}`, { method: "PATCH", json: { enabled: true } });
    assert.equal(((await back.json()) as Json).enabled, true);
  });

  test("a bad declaration is a 400 naming the field, and writes nothing", async () => {
    const cases: Array<[Json, string]> = [
      [declaration({ seconds: { min: 4, max: 8, default: 9 } }), "seconds.default"],
      [declaration({ resolutions: { values: ["480p"], default: "720p" } }), "resolutions.default"],
      [declaration({ modes: ["telepathy"] }), "modes[0]"],
      [declaration({ colour: "blue" }), "colour"],
      [declaration({ pricing: { per_second: { "480p": "0.02" } } }), "pricing.per_second.720p"],
      [declaration({ upstream_models: { ch_nope: UPSTREAM } }), "upstream_models.ch_nope"],
      [{ ...declaration(), name: undefined }, "name"],
    ];
    for (const [body, param] of cases) {
      const res = await put("acme-broken", body);
      assert.equal(res.status, 400, `${param}: ${res.status}`);
      const error = ((await res.json()) as Json).error;
      assert.equal(error.param, param, `${param}: ${JSON.stringify(error)}`);
    }
    const gone = await t.api("/v1/admin/models/acme-broken");
    assert.equal(gone.status, 404, "nothing was written");
  });

  test("a built-in can be changed (version 1 over the data file) and the admin key is required", async () => {
    const builtin = "seedance-1-5-pro-with-audio";
    const entry = (await (await t.api(`/v1/admin/models/${builtin}`)).json()) as Json;
    assert.equal(entry.builtin, true);
    assert.equal(entry.version, 0);
    assert.equal(entry.declaration.pricing.per_second["720p"], "0.07", "the data file's price lines");
    const res = await t.api(`/v1/admin/models/${builtin}`, {
      method: "PATCH",
      json: { seconds: { min: 4, max: 10, default: 6 } },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as Json).version, 1);
    const model = (await (await t.api(`/v1/models/${builtin}`)).json()) as Json;
    assert.deepEqual(model.seconds, { min: 4, max: 10, default: 6 });
    assert.equal(model.pricing.per_second["720p"], "0.0700", "a change without pricing keeps the price");
    const user = await t.newAccountKey("someone");
    const denied = await t.api(`/v1/admin/models/${builtin}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${user}` },
      json: { enabled: false },
    });
    assert.equal(denied.status, 403);
  });
});

describe("models as data across processes (Postgres)", () => {
  let database: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    database = await freshPostgres();
    a = await startTestServer({ databaseUrl: database.url });
    b = await startTestServer({ databaseUrl: database.url }, { asInstalled: true });
  });
  after(async () => {
    await a.stop();
    await b.stop();
    await database.drop();
  });

  test("a model declared on one process is served by the other within the refresh interval", async () => {
    const res = await a.api(`/v1/admin/models/${MODEL}`, { method: "PUT", json: declaration() });
    assert.equal(res.status, 200, await res.clone().text());
    await until(
      async () => {
        const listed = ((await (await b.api("/v1/models")).json()) as Json).data;
        return listed.some((m: Json) => m.id === MODEL);
      },
      5000,
      "the other process to list the model",
    );
    await a.api(`/v1/admin/models/${MODEL}`, { method: "PATCH", json: { enabled: false } });
    await until(
      async () => {
        const res = await b.api("/v1/video/generations", {
          method: "POST",
          json: { model: MODEL, prompt: "x" },
        });
        return res.status === 400 && ((await res.json()) as Json).error.code === "model_disabled";
      },
      5000,
      "the other process to refuse the disabled model",
    );
  });
});
