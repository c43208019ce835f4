import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkMediaFacts, DURATION_TOLERANCE, type MediaFact } from "../../src/catalog/media-facts.ts";
import { Catalog } from "../../src/catalog/models.ts";
import { SUBMIT_ERROR_CODES } from "../../src/catalog/submit-errors.ts";
import { normalizeSubmit } from "../../src/catalog/validate.ts";
import { ApiError } from "../../src/domain/errors.ts";
import { SubmitBody } from "../../src/tasks/schemas.ts";
import { BAD_SUBMITS, GOOD_SUBMITS, image, video } from "../fixtures/bad-submits.ts";

const catalog = new Catalog();

function catchError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected an ApiError, nothing was thrown");
}

describe("BAD_SUBMITS table", () => {
  test("has at least 40 entries with unique names", () => {
    assert.ok(BAD_SUBMITS.length >= 40, `only ${BAD_SUBMITS.length} entries`);
    assert.equal(new Set(BAD_SUBMITS.map((b) => b.name)).size, BAD_SUBMITS.length);
  });

  test("rawBody entries really are malformed JSON, and are marked httpOnly", () => {
    for (const entry of BAD_SUBMITS.filter((b) => b.rawBody !== undefined)) {
      assert.throws(() => JSON.parse(entry.rawBody!), SyntaxError, entry.name);
      assert.equal(entry.httpOnly, true, entry.name);
    }
  });

  test("media URLs are valid https URLs unless the URL is the rule under test", () => {
    for (const entry of BAD_SUBMITS) {
      if (entry.param?.endsWith(".url") || entry.param?.endsWith("_url")) continue;
      const urls = JSON.stringify(entry.body ?? null).match(/"url":"[^"]*"/g) ?? [];
      for (const url of urls) assert.match(url, /^"url":"https:\/\/example\.com\//, entry.name);
    }
  });

  test("every code is a documented code", () => {
    for (const entry of BAD_SUBMITS.filter((b) => !b.httpOnly)) {
      assert.ok(
        (SUBMIT_ERROR_CODES as readonly string[]).includes(entry.code),
        `${entry.name}: ${entry.code}`,
      );
    }
  });

  for (const entry of BAD_SUBMITS) {
    test(entry.name, { skip: entry.httpOnly ? "fails in HTTP parsing" : false }, () => {
      const error = catchError(() => normalizeSubmit(structuredClone(entry.body), catalog));
      assert.deepEqual(
        { status: error.status, type: error.type, code: error.code, param: error.param },
        { status: entry.status, type: entry.type, code: entry.code, param: entry.param },
        `message was: ${error.message}`,
      );
      assert.ok(error.message.length > 20, "the message should say what to do");
    });
  }
});

describe("GOOD_SUBMITS table", () => {
  for (const entry of GOOD_SUBMITS) {
    test(entry.name, () => {
      const body = structuredClone(entry.body);
      const { request, callbackUrl, metadataEcho } = normalizeSubmit(body, catalog);
      assert.deepEqual(body, entry.body, "the body is not modified");
      const e = entry.expect;
      assert.equal(request.mode, e.mode);
      assert.equal(request.seconds, e.seconds);
      assert.equal(request.ratio, e.ratio);
      assert.equal(request.resolution, e.resolution);
      assert.equal(request.generateAudio, e.generateAudio);
      assert.equal(request.model, (entry.body as { model: string }).model);
      if (e.prompt !== undefined) assert.equal(request.prompt, e.prompt);
      if (e.roles)
        assert.deepEqual(
          request.content.map((m) => m.role),
          e.roles,
        );
      if (e.citations) assert.deepEqual(request.citations, e.citations);
      if (e.callbackUrl !== undefined) assert.equal(callbackUrl, e.callbackUrl);
      if (e.metadataEcho) assert.deepEqual(metadataEcho, e.metadataEcho);
      for (const [key, value] of Object.entries(e.request ?? {})) {
        assert.deepEqual(request[key as keyof typeof request], value, key);
      }
      for (const key of e.absent ?? []) assert.equal(key in request, false, `${key} should be absent`);
      // The echo always agrees with the request.
      assert.equal(metadataEcho.ratio, request.ratio);
      assert.equal(metadataEcho.resolution, request.resolution);
      assert.equal(metadataEcho.generate_audio, request.generateAudio);
      assert.equal("content" in metadataEcho || "callback_url" in metadataEcho, false);
    });

    test(`${entry.name}: accepted by the SubmitBody schema too`, () => {
      const parsed = SubmitBody.safeParse(entry.body);
      assert.ok(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues));
    });
  }
});

describe("normalizeSubmit details", () => {
  const base = { model: "doubao-seedance-2-0-720p", prompt: "a fox" };

  test("citation messages name the citation and what exists", () => {
    const error = catchError(() =>
      normalizeSubmit(
        { ...base, prompt: "@image1 and @image3", metadata: { content: [image(1), image(2), video(1)] } },
        catalog,
      ),
    );
    assert.match(error.message, /@image3/);
    assert.match(error.message, /only 2 images/);
  });

  test("numbering is per kind in content[] order", () => {
    const { request } = normalizeSubmit(
      { ...base, metadata: { content: [video(1), image(1), video(2), image(2)] } },
      catalog,
    );
    assert.deepEqual(
      request.content.map((m) => `${m.kind}${m.index}@${m.position}`),
      ["video1@0", "image1@1", "video2@2", "image2@3"],
    );
  });

  test("citations in prompts are matched case-insensitively and deduplicated", () => {
    const { request } = normalizeSubmit(
      { ...base, prompt: "@VIDEO1 @image1 @Video1 @image1", metadata: { content: [image(1), video(1)] } },
      catalog,
    );
    assert.deepEqual(request.citations, ["video1", "image1"]);
  });

  test("a data: URL keeps its payload, with a lower-case scheme", () => {
    const url = "DATA:image/png;base64,iVBORw0KGgo=";
    const { request } = normalizeSubmit(
      { ...base, metadata: { content: [{ type: "image_url", image_url: { url } }] } },
      catalog,
    );
    assert.equal(request.content[0]!.url, "data:image/png;base64,iVBORw0KGgo=");
  });

  test("messages for audio conflicts name the alternative model", () => {
    const withAudio = catchError(() =>
      normalizeSubmit(
        { model: "seedance-1-5-pro-with-audio", prompt: "x", metadata: { generate_audio: false } },
        catalog,
      ),
    );
    assert.match(withAudio.message, /seedance-1-5-pro-no-audio/);
    const silent = catchError(() =>
      normalizeSubmit(
        { model: "seedance-1-5-pro-no-audio", prompt: "x", metadata: { generate_audio: true } },
        catalog,
      ),
    );
    assert.match(silent.message, /seedance-1-5-pro-with-audio/);
  });

  test("unsupported-value messages list what is allowed", () => {
    const error = catchError(() =>
      normalizeSubmit({ model: "happyhorse-1.0-t2v", prompt: "x", seconds: "20" }, catalog),
    );
    assert.match(error.message, /from 3 to 15/);
    const ratio = catchError(() =>
      normalizeSubmit({ model: "grok-imagine-video", prompt: "x", metadata: { ratio: "21:9" } }, catalog),
    );
    assert.match(ratio.message, /16:9, 4:3, 1:1, 3:4, 9:16, adaptive/);
  });

  test("seedance 1.5 refuses several reference images naming its limit", () => {
    const error = catchError(() =>
      normalizeSubmit(
        {
          model: "seedance-1-5-pro-with-audio",
          prompt: "x",
          metadata: { content: [image(1, "reference_image"), image(2, "reference_image")] },
        },
        catalog,
      ),
    );
    assert.match(error.message, /at most 1 reference_image/);
  });

  test("a custom catalog is honoured", () => {
    const custom = new Catalog([
      {
        ...catalog.get("seedance-1-5-pro-with-audio")!,
        id: "my-model",
        seconds: { min: 2, max: 3, default: 2 },
      },
    ]);
    const { request } = normalizeSubmit({ model: "my-model", prompt: "x" }, custom);
    assert.equal(request.seconds, 2);
    const error = catchError(() =>
      normalizeSubmit({ model: "seedance-1-5-pro-with-audio", prompt: "x" }, custom),
    );
    assert.equal(error.status, 404);
  });
});

describe("checkMediaFacts", () => {
  const s20 = catalog.get("doubao-seedance-2-0-720p")!;
  const hhI2v = catalog.get("happyhorse-1.0-i2v")!;
  const grok = catalog.get("grok-imagine-video")!;
  const refs = normalizeSubmit(
    {
      model: s20.id,
      prompt: "x",
      metadata: {
        content: [
          image(1),
          video(1),
          video(2),
          video(3),
          { type: "audio_url", audio_url: { url: "https://example.com/a.mp3" } },
        ],
      },
    },
    catalog,
  ).request;
  const i2v = normalizeSubmit({ model: hhI2v.id, metadata: { content: [image(1)] } }, catalog).request;

  const check = (request: typeof refs, facts: MediaFact[], model = s20) =>
    catchError(() => checkMediaFacts(request, facts, model));

  test("accepts media within every limit", () => {
    checkMediaFacts(
      refs,
      [
        { position: 0, kind: "image", width: 1280, height: 720, bytes: 200_000 },
        { position: 1, kind: "video", duration: 5.04, bytes: 1_000_000 },
        { position: 2, kind: "video", duration: 5.02 },
        { position: 3, kind: "video", duration: 5 },
        { position: 4, kind: "audio", duration: 15 },
      ],
      s20,
    );
  });

  test("video total above 15 s names the video that crosses it", () => {
    const error = check(refs, [
      { position: 1, kind: "video", duration: 6 },
      { position: 2, kind: "video", duration: 6 },
      { position: 3, kind: "video", duration: 4 },
    ]);
    assert.equal(error.code, "media_too_long");
    assert.equal(error.param, "metadata.content[3].video_url.url");
  });

  test("durations get a small tolerance", () => {
    checkMediaFacts(refs, [{ position: 4, kind: "audio", duration: 15 + DURATION_TOLERANCE / 2 }], s20);
    const error = check(refs, [{ position: 4, kind: "audio", duration: 16 }]);
    assert.equal(error.param, "metadata.content[4].audio_url.url");
    assert.equal(error.code, "media_too_long");
  });

  test("image smaller than the model's minimum side", () => {
    const error = check(refs, [{ position: 0, kind: "image", width: 299, height: 800 }]);
    assert.equal(error.code, "image_too_small");
    assert.equal(error.param, "metadata.content[0].image_url.url");
    assert.match(error.message, /300 px/);
  });

  test("image larger than the model's maximum side", () => {
    assert.equal(
      check(refs, [{ position: 0, kind: "image", width: 6001, height: 3000 }]).code,
      "image_too_large",
    );
  });

  test("image aspect ratio outside 1:2.5..2.5:1", () => {
    const error = check(i2v, [{ position: 0, kind: "image", width: 1000, height: 300 }], hhI2v);
    assert.equal(error.code, "image_aspect_ratio");
    checkMediaFacts(i2v, [{ position: 0, kind: "image", width: 750, height: 300 }], hhI2v);
  });

  test("image bytes above the model's limit (HappyHorse 10 MB)", () => {
    const error = check(
      i2v,
      [{ position: 0, kind: "image", width: 800, height: 600, bytes: 11 * 1024 * 1024 }],
      hhI2v,
    );
    assert.equal(error.code, "media_too_large");
    assert.equal(error.param, "metadata.content[0].image_url.url");
  });

  test("video bytes above the model's limit", () => {
    assert.equal(
      check(refs, [{ position: 1, kind: "video", bytes: 60 * 1024 * 1024 }]).code,
      "media_too_large",
    );
  });

  test("a model without image constraints accepts any image", () => {
    const request = normalizeSubmit({ model: grok.id, metadata: { content: [image(1)] } }, catalog).request;
    checkMediaFacts(request, [{ position: 0, kind: "image", width: 10, height: 2000, bytes: 1e9 }], grok);
  });

  test("facts that do not match the request are a programming error", () => {
    assert.throws(() => checkMediaFacts(refs, [{ position: 9, kind: "image" }], s20), /no content entry/);
    assert.throws(() => checkMediaFacts(refs, [{ position: 0, kind: "video" }], s20), /is image/);
  });
});
