/**
 * POST /v1/video/generations/estimate (docs/api.md §3.3): on every built-in model the estimate is
 * exactly the hold the real submit takes; a refused key hears the refusal and nothing is created.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { VidRelay } from "@vidrelay/sdk";
import { DEFAULT_CATALOG } from "../../src/catalog/models.ts";
import { sample } from "../helpers/paths.ts";
import { startTestServer, type TestServer, uploadFile } from "../helpers/server.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies and rows are read by path
type Json = any;

describe("price estimates", () => {
  let t: TestServer;
  let photo: string;
  before(async () => {
    // Local renders priced like the model, so every built-in model has a non-zero hold.
    t = await startTestServer({ localRendersBilled: true });
    photo = ((await (await uploadFile(t, sample("photo-saw-2725x2225.jpg"))).json()) as Json).url;
  });
  after(() => t.stop());

  const post = (path: string, json: unknown, key?: string) =>
    t.api(path, { method: "POST", json, headers: key ? { authorization: `Bearer ${key}` } : {} });

  /** A valid request for each model: its longest clip at its top resolution, with the media its modes need. */
  function bodyFor(model: (typeof DEFAULT_CATALOG)[number]): Json {
    const top = model.resolutions.at(-1);
    const image = (role: string) => ({ type: "image_url", image_url: { url: photo }, role });
    const content = model.modes.includes("text")
      ? []
      : model.modes.includes("first_frame")
        ? [image("first_frame")]
        : [image("reference_image")];
    return {
      model: model.id,
      prompt: "@image1 a saw on a bench".replace(content.length ? "" : "@image1 ", ""),
      seconds: String(model.seconds.max),
      metadata: { resolution: top, ...(content.length ? { content } : {}) },
    };
  }

  test("on every built-in model the estimate equals the hold the submit takes", async () => {
    for (const model of DEFAULT_CATALOG) {
      const body = bodyFor(model);
      const res = await post("/v1/video/generations/estimate", body);
      assert.equal(res.status, 200, `${model.id}: ${await res.clone().text()}`);
      const estimate = (await res.json()) as Json;
      assert.equal(estimate.object, "estimate");
      assert.equal(estimate.allowed, true, model.id);
      assert.equal(estimate.provider, "local");
      assert.ok(estimate.amount_micros > 0, `${model.id} is priced`);

      const submitted = await post("/v1/video/generations", body);
      assert.equal(submitted.status, 200, `${model.id}: ${await submitted.clone().text()}`);
      const taskId = ((await submitted.json()) as Json).task_id;
      const db = t.server.services.database.db as Json;
      const hold = await db
        .selectFrom("billing_holds")
        .selectAll()
        .where("task_id", "=", taskId)
        .executeTakeFirst();
      assert.equal(
        Number(hold.amount_held),
        estimate.amount_micros,
        `${model.id}: estimate ${estimate.amount}`,
      );
      assert.equal(hold.price_version, estimate.price.version);
      // The hold is what was compared: no need to render the longest clip of every model.
      await post(`/v1/video/generations/${taskId}/cancel`, {});
    }
  });

  test("a key that may not submit hears the refusal; nothing is created; a bad body is the submit's 400", async () => {
    const broke = await t.newAccountKey("broke");
    const body = {
      model: "grok-imagine-video",
      prompt: "a quiet street",
      seconds: "4",
      metadata: { resolution: "720p" },
    };
    const res = await post("/v1/video/generations/estimate", body, broke);
    assert.equal(res.status, 200);
    const estimate = (await res.json()) as Json;
    assert.equal(estimate.allowed, false);
    assert.equal(estimate.refusal.code, "insufficient_balance");
    assert.equal(estimate.refusal.status, 403);
    assert.equal(estimate.amount, "0.2800", "4 s at 0.07/s, held even though refused");
    const list = (await (
      await t.api("/v1/video/generations", { headers: { authorization: `Bearer ${broke}` } })
    ).json()) as Json;
    assert.deepEqual(list.data, [], "an estimate creates no task");

    const viaSdk = await new VidRelay({ apiKey: broke, baseURL: t.url }).videos.estimate(body as Json);
    assert.deepEqual([viaSdk.allowed, viaSdk.amount_micros], [false, 280_000], "the SDK's videos.estimate");

    const bad = await post("/v1/video/generations/estimate", { ...body, seconds: "40" });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as Json).error.param, "seconds");
  });
});
