import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toApiModel } from "../../src/api/model-object.ts";
import { ModelList, ModelObject, openApiComponents } from "../../src/api/schemas.ts";
import { Catalog, type CatalogModel, DEFAULT_CATALOG, parseCatalogModels } from "../../src/catalog/models.ts";
import { ApiError, invalid } from "../../src/domain/errors.ts";
import { PIXEL_SIZES } from "../../src/domain/pixels.ts";
import { ErrorBody, toJsonSchema } from "../../src/http/schema.ts";
import { TaskCreated } from "../../src/tasks/schemas.ts";

const SPEC_IDS = [
  "seedance-1-5-pro-with-audio",
  "seedance-1-5-pro-no-audio",
  "doubao-seedance-2-0-1080p",
  "doubao-seedance-2-0-720p",
  "doubao-seedance-2-0-480p",
  "doubao-seedance-2-5-720p",
  "doubao-seedance-2-5-480p",
  "happyhorse-1.0-i2v",
  "happyhorse-1.0-t2v",
  "happyhorse-1.1-t2v",
  "happyhorse-1.1-i2v",
  "happyhorse-1.1-r2v",
  "grok-imagine-video",
  "grok-imagine-video-1.5",
  "grok-imagine-video-1.5-lite",
];

describe("default catalog", () => {
  const catalog = new Catalog();

  test("holds docs/api.md §7 models, in order", () => {
    assert.deepEqual(catalog.ids(), SPEC_IDS);
    assert.deepEqual(
      catalog.list().map((m) => m.id),
      SPEC_IDS,
    );
  });

  test("the newest models carry their providers' limits (docs/providers.md §8b)", () => {
    const m = (id: string) => catalog.get(id)!;
    const s25 = m("doubao-seedance-2-5-720p");
    assert.deepEqual(s25.seconds, { min: 4, max: 30, default: 5 });
    assert.deepEqual(
      [s25.references.images, s25.references.videos, s25.references.audios, s25.references.total],
      [30, 10, 10, 50],
    );
    assert.equal(s25.references.audioOnly, true);
    assert.deepEqual(s25.operations.extend?.seconds, { min: 4, max: 30, default: 5 });
    const g15 = m("grok-imagine-video-1.5");
    assert.deepEqual(g15.modes, ["text", "first_frame", "first_last_frame"]);
    assert.deepEqual(g15.resolutions, ["480p", "720p", "1080p"]);
    assert.equal(g15.keyframes, 4);
    assert.equal(g15.audio.mode, "optional");
    assert.equal(g15.operations.edit, null, "edits run only on grok-imagine-video");
    const lite = m("grok-imagine-video-1.5-lite");
    assert.deepEqual([lite.modes, lite.keyframes], [["text", "first_frame"], 0]);
    assert.deepEqual(m("grok-imagine-video").operations.edit, { maxSourceSeconds: 8.7 });
    assert.deepEqual(m("grok-imagine-video").operations.extend?.seconds, { min: 2, max: 10, default: 6 });
    const r2v = m("happyhorse-1.1-r2v");
    assert.deepEqual([r2v.modes, r2v.references.images, r2v.inputImage?.minSide], [["reference"], 9, 400]);
    assert.deepEqual(m("happyhorse-1.1-i2v").resolutions, ["720p", "1080p"]);
  });

  test("matches docs/api.md §7 table", () => {
    const m = (id: string) => catalog.get(id)!;
    assert.deepEqual(m("seedance-1-5-pro-with-audio").seconds, { min: 4, max: 12, default: 5 });
    assert.deepEqual(m("seedance-1-5-pro-with-audio").modes, ["text", "first_frame", "first_last_frame"]);
    assert.equal(m("seedance-1-5-pro-with-audio").audio.mode, "always");
    assert.equal(m("seedance-1-5-pro-no-audio").audio.mode, "never");
    for (const res of ["1080p", "720p", "480p"] as const) {
      const s20 = m(`doubao-seedance-2-0-${res}`);
      assert.deepEqual(s20.resolutions, [res]);
      assert.deepEqual(s20.seconds, { min: 4, max: 15, default: 5 });
      assert.equal(s20.audio.mode, "optional");
      assert.ok(s20.modes.includes("reference"));
      assert.deepEqual(s20.references, {
        images: 9,
        videos: 3,
        audios: 3,
        videoTotalSeconds: 15,
        audioTotalSeconds: 15,
        total: 12,
        audioOnly: false,
      });
    }
    assert.deepEqual(m("happyhorse-1.0-i2v").modes, ["first_frame"]);
    assert.deepEqual(m("happyhorse-1.0-t2v").modes, ["text"]);
    assert.deepEqual(m("happyhorse-1.0-i2v").resolutions, ["720p", "1080p"]);
    assert.deepEqual(m("happyhorse-1.0-i2v").inputImage, {
      minSide: 300,
      maxSide: null,
      maxAspect: 2.5,
      maxBytes: 10 * 1024 * 1024,
    });
    assert.deepEqual(m("grok-imagine-video").seconds.min, 1);
    assert.deepEqual(m("grok-imagine-video").seconds.max, 15);
    assert.deepEqual(m("grok-imagine-video").resolutions, ["480p", "720p"]);
    assert.deepEqual(m("grok-imagine-video").modes, ["text", "first_frame"]);
  });

  test("every ratio and resolution has a pixel size", () => {
    for (const model of catalog.list()) {
      for (const res of model.resolutions) {
        for (const ratio of model.ratios) {
          if (ratio !== "adaptive") assert.ok(PIXEL_SIZES[res][ratio], `${model.id} ${res} ${ratio}`);
        }
      }
    }
  });

  test("descriptions never call anything AI", () => {
    for (const model of catalog.list()) {
      assert.doesNotMatch(
        `${model.name} ${model.description}`,
        /\bA\.?I\b|artificial intelligence/i,
        model.id,
      );
    }
  });

  test("require() on an unknown id is the contract's 404", () => {
    assert.throws(
      () => catalog.require("nope"),
      (error: unknown) =>
        error instanceof ApiError &&
        error.status === 404 &&
        error.type === "not_found_error" &&
        error.code === "model_not_found" &&
        error.param === "model",
    );
  });

  test("the default catalog is frozen", () => {
    assert.ok(Object.isFrozen(DEFAULT_CATALOG));
  });
});

describe("catalog validation", () => {
  const base = DEFAULT_CATALOG[0]!;

  test("rejects duplicate ids", () => {
    assert.throws(() => new Catalog([base, base]), /duplicate model id/);
  });

  test("rejects defaults outside the model's lists", () => {
    const broken: CatalogModel[] = [
      { ...base, seconds: { min: 4, max: 12, default: 13 } },
      { ...base, defaultResolution: "1080p", resolutions: ["720p"] },
      { ...base, defaultRatio: "21:9", ratios: ["16:9"], defaultRatioWithMedia: "16:9" },
      { ...base, audio: { mode: "always", default: false } },
      { ...base, references: { ...base.references, images: 2 } },
    ];
    for (const model of broken) assert.throws(() => new Catalog([model]), Error, JSON.stringify(model));
  });

  test("parseCatalogModels reads operator configuration", () => {
    const raw = JSON.parse(JSON.stringify([{ ...base, id: "operator-model" }]));
    const [model] = parseCatalogModels(raw);
    assert.equal(model!.id, "operator-model");
    assert.throws(() => parseCatalogModels([{ ...raw[0], family: "Not A Family!" }]));
  });
});

describe("toApiModel and the API schemas", () => {
  test("every default model is a valid ModelObject with the §6 head", () => {
    const data = DEFAULT_CATALOG.map((m) => toApiModel(m));
    for (const entry of data) {
      ModelObject.parse(entry);
      assert.equal(entry.object, "model");
      assert.equal(entry.owned_by, "vidrelay");
      assert.ok(Number.isInteger(entry.created) && entry.created > 1_600_000_000);
    }
    ModelList.parse({ object: "list", data });
  });

  test("capabilities a client can build a form from", () => {
    const entry = toApiModel(new Catalog().get("doubao-seedance-2-0-1080p")!);
    assert.deepEqual(entry.seconds, { min: 4, max: 15, default: 5 });
    assert.deepEqual(entry.resolutions, { values: ["1080p"], default: "1080p" });
    assert.equal(entry.ratios.default, "16:9");
    assert.equal(entry.ratios.default_with_media, "adaptive");
    assert.deepEqual(entry.audio, { mode: "optional", default: true });
    assert.equal(entry.references.images, 9);
    assert.deepEqual(entry.parameters.camera_fixed, { supported: false });
    assert.deepEqual(entry.prompt, { max_length: 5000, required: "without_media" });
    const i2v = toApiModel(new Catalog().get("happyhorse-1.0-i2v")!);
    assert.equal(i2v.prompt.required, "never");
    assert.deepEqual(i2v.parameters.seed, { supported: true, min: -1, max: 2147483647 });
    assert.equal(toApiModel(new Catalog().get("happyhorse-1.0-t2v")!).prompt.required, "always");
  });

  test("extra fields (e.g. pricing) are merged", () => {
    const entry = toApiModel(DEFAULT_CATALOG[0]!, { pricing: { currency: "USD" }, providers: ["local"] });
    assert.deepEqual(entry.pricing, { currency: "USD" });
    assert.deepEqual(ModelObject.parse(entry).providers, ["local"]);
  });

  test("ErrorBody matches ApiError.toJSON()", () => {
    ErrorBody.parse(invalid("invalid_value", "nope", "seconds").toJSON());
    ErrorBody.parse(invalid("invalid_body", "nope").toJSON());
  });

  test("TaskCreated matches the §3 response", () => {
    TaskCreated.parse({
      task_id: "task_0123456789abcdef0123456789abcdef",
      id: "task_0123456789abcdef0123456789abcdef",
      object: "video",
      model: "seedance-1-5-pro-with-audio",
      status: "submitted",
      progress: 0,
      created_at: 1760000000,
    });
  });

  test("OpenAPI components are self-contained 2020-12 schemas", () => {
    const components = openApiComponents();
    for (const name of [
      "SubmitBody",
      "Task",
      "TaskCreated",
      "TaskList",
      "File",
      "FileList",
      "Model",
      "ModelList",
      "Error",
    ]) {
      assert.ok(components[name], name);
    }
    const text = JSON.stringify(components);
    assert.doesNotMatch(text, /"\$ref"|"\$schema"|"\$defs"|"additionalProperties"/);
    assert.doesNotMatch(text, /9007199254740991/);
    const submit = toJsonSchema(ErrorBody);
    assert.equal(submit.type, "object");
    assert.equal(submit.title, "Error");
  });
});
