import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

/** A mistyped model id is refused with the contract's error, whose message names the closest ids. */
describe("model typos over HTTP: did you mean", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ workers: false });
  });
  after(() => t.stop());

  async function refusal(path: string, init: RequestInit & { json?: unknown }): Promise<ErrorBody["error"]> {
    const res = await t.api(path, { method: "POST", ...init });
    const text = await res.text();
    assert.equal(res.status, 404, text);
    const body = JSON.parse(text) as ErrorBody;
    assert.deepEqual(Object.keys(body), ["error"]);
    assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
    assert.equal(body.error.type, "not_found_error");
    assert.equal(body.error.code, "model_not_found");
    assert.equal(body.error.param, "model");
    return body.error;
  }

  const submit = (model: string) =>
    refusal("/v1/video/generations", { json: { model, prompt: "a quiet harbour at dawn" } });

  test("a shortened id names the ids it could be", async () => {
    const { message } = await submit("seedance-1-0-pro");
    assert.equal(
      message,
      'The model "seedance-1-0-pro" does not exist. Did you mean "seedance-1-5-pro-with-audio" or ' +
        '"seedance-1-5-pro-no-audio"? GET /v1/models lists the models you can use.',
    );
  });

  test("a missing or an extra character names the one id", async () => {
    assert.match(
      (await submit("seedance-1-5-pro-with-adio")).message,
      /Did you mean "seedance-1-5-pro-with-audio"\?/,
    );
    assert.match(
      (await submit("doubao-seedance-2-0-720pp")).message,
      /Did you mean "doubao-seedance-2-0-720p"\?/,
    );
    assert.match((await submit("happyhorse-1-0-i2v")).message, /Did you mean "happyhorse-1\.0-i2v"\?/);
  });

  test("nothing close: no suggestion", async () => {
    const { message } = await submit("sora-2");
    assert.equal(message, 'The model "sora-2" does not exist. GET /v1/models lists the models you can use.');
  });

  test("the OpenAI door says the same, for JSON and multipart bodies", async () => {
    const json = await refusal("/v1/videos", { json: { model: "grok-imagine-vdeo", prompt: "a kite" } });
    assert.match(json.message, /Did you mean "grok-imagine-video"\?/);
    const form = new FormData();
    form.set("model", "seedance-1-0-pro");
    form.set("prompt", "a kite");
    const multipart = await refusal("/v1/videos", { body: form });
    assert.match(
      multipart.message,
      /Did you mean "seedance-1-5-pro-with-audio" or "seedance-1-5-pro-no-audio"\?/,
    );
    const none = await refusal("/v1/videos", { json: { model: "veo-3", prompt: "a kite" } });
    assert.doesNotMatch(none.message, /Did you mean/);
  });

  test("a refused typo creates no task", async () => {
    await submit("seedance-1-5-pro-with-audi");
    const list = (await (await t.api("/v1/video/generations")).json()) as { data: unknown[] };
    assert.equal(list.data.length, 0);
  });
});
