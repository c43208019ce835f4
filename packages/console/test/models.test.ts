/**
 * The Models page (admin) in Chromium against a real gateway, with the Ark double behind a channel
 * the editor maps a new model to; and, without a browser, the editor's rules (where a refused
 * param sits in the declaration's text). Every effect is checked through the API itself.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { type ArkDouble, startArkDouble } from "../../server/test/doubles/ark/double.ts";
import {
  copyId,
  declarationText,
  EditorError,
  fieldOfParam,
  locateParam,
  messageWithParam,
  parseDeclaration,
} from "../src/pages/models/declaration.ts";
import { assertClean, browserSkipReason, type ConsoleHarness, startConsoleHarness } from "./harness.ts";

const skip = browserSkipReason();
const UPSTREAM = "doubao-seedance-1-5-pro-251215";

// biome-ignore lint/suspicious/noExplicitAny: API bodies are read by path
type Json = Record<string, any>;

async function json<T = Json>(res: Response): Promise<T> {
  const text = await res.text();
  assert.ok(res.ok, `${res.status} ${text}`);
  return JSON.parse(text) as T;
}

describe("models editor rules (no browser)", () => {
  const text = JSON.stringify(
    {
      name: "A",
      modes: ["text", "first_frame"],
      seconds: { min: 4, max: 8, default: 99 },
      pricing: { per_second: { "480p": "0.02" } },
    },
    null,
    2,
  );
  const at = (param: string) => {
    const span = locateParam(text, param);
    return span && { path: span.path, text: text.slice(span.start, span.end) };
  };

  test("a param is found as its key and value; an array element by its index", () => {
    assert.deepEqual(at("seconds.default"), { path: "seconds.default", text: '"default": 99' });
    assert.deepEqual(at("modes[1]"), { path: "modes.1", text: '"first_frame"' });
    assert.equal(at("name")?.text, '"name": "A"');
  });

  test("a key the text lacks selects its nearest enclosing one; nothing of it selects nothing", () => {
    assert.equal(at("pricing.per_second.720p")?.path, "pricing.per_second");
    assert.match(at("pricing.per_second.720p")?.text ?? "", /^"per_second": \{\s+"480p": "0.02"\s+\}$/);
    assert.equal(at("description"), undefined);
    assert.equal(locateParam("{ not json", "name"), undefined);
  });

  test("text that is not a JSON object is refused on the declaration, at its position", () => {
    assert.throws(
      () => parseDeclaration('{\n  "name": "A",\n}'),
      (error: unknown) =>
        error instanceof EditorError &&
        error.field === "model-declaration" &&
        /not valid JSON/.test(error.message) &&
        error.span !== undefined,
    );
    assert.throws(() => parseDeclaration("[1]"), /JSON object/);
    assert.deepEqual(parseDeclaration('{"name":"A"}'), { name: "A" });
  });

  test("params go to their field; a message names its param once", () => {
    assert.equal(fieldOfParam("id"), "model-id");
    assert.equal(fieldOfParam("note"), "model-note");
    assert.equal(fieldOfParam("upstream_models.ch_x"), "model-upstream");
    assert.equal(fieldOfParam("seconds.default"), "model-declaration");
    assert.equal(fieldOfParam("pricing.per_second.720p"), "model-declaration");
    assert.equal(
      messageWithParam("seconds.default: too long", "seconds.default"),
      "seconds.default: too long",
    );
    assert.equal(messageWithParam("Required", "name"), "name: Required");
  });

  test("a copy leaves out id and created; an edit keeps created; a copy's id is free", () => {
    const entry = { declaration: { id: "m", name: "M", created: 5, modes: ["text"] } } as never;
    assert.deepEqual(JSON.parse(declarationText(entry, true)), { name: "M", modes: ["text"] });
    assert.deepEqual(JSON.parse(declarationText(entry, false)), { name: "M", created: 5, modes: ["text"] });
    assert.equal(copyId("m", ["m"]), "m-copy");
    assert.equal(copyId("m", ["m", "m-copy", "m-copy-2"]), "m-copy-3");
  });
});

describe("console: models", { skip }, () => {
  let h: ConsoleHarness;
  let ark: ArkDouble;
  let channelId: string;
  /** A built-in the tests copy from, as the API lists it. */
  let builtin: Json;

  before(async () => {
    ark = await startArkDouble({ profile: "cn" });
    h = await startConsoleHarness({ allowPrivateTargets: "127.0.0.1" });
    const channel = await json(
      await h.gateway.api("/v1/admin/channels", {
        method: "POST",
        json: {
          provider: "ark",
          name: "ark-models",
          base_url: ark.baseUrl,
          api_key: ark.keys[0],
          models: { "seedance-1-5-pro-no-audio": UPSTREAM },
        },
      }),
    );
    channelId = channel.id;
    const models = (await json(await h.gateway.api("/v1/admin/models"))).data as Json[];
    builtin = models.find((m) => m.builtin && m.declaration.pricing?.per_second)!;
    assert.ok(builtin, "a built-in model with a price");
  });
  after(async () => {
    await h?.close();
    await ark?.close();
  });

  const entryOf = (id: string) => h.gateway.api(`/v1/admin/models/${id}`);
  /** Declare a model through the API: a copy of the built-in under `id`, served by the Ark channel. */
  const declare = async (id: string) => {
    const { id: _id, created: _created, ...declaration } = builtin.declaration;
    const body = { ...declaration, upstream_models: { [channelId]: UPSTREAM } };
    return json(await h.gateway.api(`/v1/admin/models/${id}`, { method: "PUT", json: body }));
  };
  const openModels = async (page: Page) => {
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Models", exact: true })
      .click();
    await page.getByRole("heading", { level: 1, name: "Models" }).waitFor();
    await page.locator("main tbody tr").first().waitFor();
  };
  const rowOf = (page: Page, id: string) => page.locator(`tr[data-model-id="${id}"]`);

  test("the list shows every model: a built-in with its source, state, version, upstream ids and price", async () => {
    const { page, report } = await h.signIn();
    await openModels(page);
    const listed = (await json(await h.gateway.api("/v1/admin/models"))).data as Json[];
    assert.equal(await page.locator("main tbody tr").count(), listed.length);

    const row = rowOf(page, builtin.id);
    const text = (await row.textContent()) ?? "";
    assert.ok(text.includes(builtin.declaration.name), text);
    assert.match(text, /enabled/);
    assert.match(text, /built-in/);
    assert.equal(((await row.locator("[data-version]").textContent()) ?? "").trim(), "0");
    for (const [resolution, amount] of Object.entries(builtin.declaration.pricing.per_second)) {
      assert.ok(text.includes(`${resolution} ${amount}`), `${resolution} ${amount} in ${text}`);
    }
    // The channel made in before() maps seedance-1-5-pro-no-audio: its row names the channel.
    const mapped = (await rowOf(page, "seedance-1-5-pro-no-audio").textContent()) ?? "";
    assert.ok(mapped.includes(`ark-models → ${UPSTREAM}`), mapped);
    assertClean(report);
  });

  test("add: a broken declaration is refused on the field it names; the fixed one is listed and served", async () => {
    const id = "acme-console-short";
    const { page, report } = await h.signIn();
    await openModels(page);
    await page.getByRole("button", { name: "Add model" }).click();
    await page.waitForFunction(() => document.activeElement?.id === "model-source");
    await page.getByLabel("Start from").selectOption(builtin.id);
    assert.equal(await page.getByLabel("Model id", { exact: true }).inputValue(), `${builtin.id}-copy`);
    await page.getByLabel("Model id", { exact: true }).fill(id);

    const editor = page.getByLabel("Declaration (JSON)");
    const copied = JSON.parse(await editor.inputValue()) as Json;
    assert.equal(copied.id, undefined, "the copy has no id");
    assert.equal(copied.created, undefined, "the copy has no created");
    assert.deepEqual(copied.pricing, builtin.declaration.pricing);
    copied.name = "Acme console short";
    copied.seconds = { min: 4, max: 8, default: 99 };
    await editor.fill(JSON.stringify(copied, null, 2));
    await page.getByLabel("Channel 1").selectOption(channelId);
    await page.getByLabel("Upstream model id 1").fill(UPSTREAM);
    const submit = page.locator("form.model-editor").getByRole("button", { name: "Add model" });
    await submit.click();

    // The API's message under the editor, naming the field, and that field selected in the text.
    const declarationError = page.locator('[data-field-error="model-declaration"]');
    await declarationError.waitFor();
    assert.match((await declarationError.textContent()) ?? "", /seconds\.default/);
    assert.equal(await editor.getAttribute("aria-invalid"), "true");
    assert.equal(await editor.getAttribute("data-param"), "seconds.default");
    const selected = await editor.evaluate((el: HTMLTextAreaElement) =>
      el.value.slice(el.selectionStart, el.selectionEnd),
    );
    assert.equal(selected, '"default": 99');
    assert.equal((await entryOf(id)).status, 404, "nothing was written");

    // Fixed, but the upstream id left empty: the error names the channel and sits on the mapping.
    copied.seconds = { min: 4, max: 8, default: 6 };
    await editor.fill(JSON.stringify(copied, null, 2));
    await page.getByLabel("Upstream model id 1").fill("");
    await submit.click();
    const upstreamError = page.locator('[data-field-error="model-upstream"]');
    await upstreamError.waitFor();
    assert.ok(((await upstreamError.textContent()) ?? "").includes(`upstream_models.${channelId}`));
    assert.equal(await declarationError.count(), 0);
    assert.equal(await page.getByLabel("Upstream model id 1").getAttribute("aria-invalid"), "true");
    assert.equal((await entryOf(id)).status, 404, "nothing was written");

    await page.getByLabel("Upstream model id 1").fill(UPSTREAM);
    await submit.click();
    await page
      .getByRole("status")
      .filter({ hasText: `Added ${id} (version 1).` })
      .waitFor();
    assert.equal(await editor.count(), 0, "the editor closed");
    const row = rowOf(page, id);
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    assert.match(text, /Acme console short/);
    assert.match(text, /operator/);
    assert.match(text, /enabled/);
    assert.ok(text.includes(`ark-models → ${UPSTREAM}`), text);

    const entry = await json(await entryOf(id));
    assert.equal(entry.version, 1);
    assert.equal(entry.builtin, false);
    assert.deepEqual(entry.upstream_models, { [channelId]: UPSTREAM });
    const served = (await json(await h.gateway.api("/v1/models"))).data.find((m: Json) => m.id === id);
    assert.ok(served, "GET /v1/models lists the new model");
    assert.deepEqual(served.seconds, { min: 4, max: 8, default: 6 });
    assertClean(report);
  });

  test("disable with a note: the list and the API say disabled, a submit is refused, Versions lists both", async () => {
    const id = "acme-console-pause";
    await declare(id);
    const { page, report } = await h.signIn();
    await openModels(page);
    const row = rowOf(page, id);
    await row.getByRole("button", { name: `Disable ${id}` }).click();
    await row.getByLabel(`Note for disabling ${id} (optional)`).fill("paused for review");
    await row.getByRole("button", { name: `Confirm: disable ${id}` }).click();
    await row.getByRole("button", { name: `Enable ${id}` }).waitFor();
    assert.match((await row.textContent()) ?? "", /disabled/);
    assert.equal(((await row.locator("[data-version]").textContent()) ?? "").trim(), "2");

    const entry = await json(await entryOf(id));
    assert.equal(entry.enabled, false);
    assert.equal(entry.note, "paused for review");
    const refused = await h.gateway.api("/v1/video/generations", {
      method: "POST",
      json: { model: id, prompt: "a lighthouse at dusk" },
    });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as Json).error.code, "model_disabled");

    await row.getByRole("button", { name: `Versions of ${id}` }).click();
    const versions = page.getByRole("table", { name: `Versions of ${id}` }).locator("tbody tr");
    await versions.nth(1).waitFor();
    assert.equal(await versions.count(), 2);
    assert.match((await versions.nth(0).textContent()) ?? "", /^2disabled.*paused for review$/);
    assert.match((await versions.nth(1).textContent()) ?? "", /^1enabled/);

    // Enable again (no note): a third version, and the open history shows it.
    await row.getByRole("button", { name: `Enable ${id}` }).click();
    await row.getByRole("button", { name: `Confirm: enable ${id}` }).click();
    await row.getByRole("button", { name: `Disable ${id}` }).waitFor();
    await versions.nth(2).waitFor();
    assert.match((await versions.nth(0).textContent()) ?? "", /^3enabled/);
    assert.equal((await json(await entryOf(id))).enabled, true);
    assertClean(report);
  });

  test("edit: the model's own declaration, saved as its next version with a note", async () => {
    const id = "acme-console-edit";
    await declare(id);
    const { page, report } = await h.signIn();
    await openModels(page);
    await rowOf(page, id)
      .getByRole("button", { name: `Edit ${id}` })
      .click();
    const editor = page.getByLabel("Declaration (JSON)");
    await page.waitForFunction(() => document.activeElement?.id === "model-declaration");
    assert.equal(await page.getByLabel("Model id", { exact: true }).inputValue(), id);
    assert.equal(await page.getByLabel("Model id", { exact: true }).getAttribute("readonly"), "");
    const declaration = JSON.parse(await editor.inputValue()) as Json;
    assert.equal(declaration.name, builtin.declaration.name);
    assert.equal(typeof declaration.created, "number", "an edit keeps the model's created");
    assert.equal(await page.getByLabel("Channel 1").inputValue(), channelId);
    assert.equal(await page.getByLabel("Upstream model id 1").inputValue(), UPSTREAM);
    declaration.seconds = { min: 4, max: 7, default: 5 };
    await editor.fill(JSON.stringify(declaration, null, 2));
    await page.getByLabel("Note (optional)").fill("shorter clips");
    await page.getByRole("button", { name: "Save version" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `Saved ${id} as version 2.` })
      .waitFor();
    await rowOf(page, id).locator("[data-version]").filter({ hasText: "2" }).waitFor();

    const served = await json(await h.gateway.api(`/v1/models/${id}`));
    assert.deepEqual(served.seconds, { min: 4, max: 7, default: 5 });
    const versions = (await json(await h.gateway.api(`/v1/admin/models/${id}/versions`))).data as Json[];
    assert.deepEqual(
      versions.map((v) => [v.version, v.note]),
      [
        [2, "shorter clips"],
        [1, null],
      ],
    );
    assertClean(report);
  });

  test("a non-admin key has no Models page; on a phone the page and its editor fit the screen", async () => {
    const key = await h.gateway.newAccountKey("models-user");
    const user = await h.signIn(key);
    const nav = user.page.getByRole("navigation", { name: "Main" });
    assert.equal(await nav.getByRole("link", { name: "Models", exact: true }).count(), 0);
    await user.page.goto("/console/models");
    await user.page.getByRole("alert").filter({ hasText: "admin" }).waitFor();
    assert.equal(await user.page.getByRole("heading", { level: 1, name: "Models" }).count(), 0);
    assertClean(user.report);

    const { page, report } = await h.open({ viewport: { width: 375, height: 740 } });
    await page.goto("/console/");
    await page.getByLabel("API key").fill(h.gateway.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    await page.goto("/console/models");
    await page.locator("main tbody tr").first().waitFor();
    await page.getByRole("button", { name: "Add model" }).click();
    await page.getByLabel("Declaration (JSON)").waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the Models page is ${overflow}px wider than the screen`);
    assertClean(report);
  });
});
