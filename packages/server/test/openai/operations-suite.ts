/**
 * Edit, extend and the spritesheet through an official `openai` package (6.x on Node 20, 7.x on
 * Node 22: both are passed in), unchanged but for `baseURL` and `apiKey`, against a real gateway
 * rendering with the local engine.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

// biome-ignore lint/suspicious/noExplicitAny: the two SDK majors are driven through one shape.
type Json = any;

export interface OpenAiPackage {
  /** The default export (the client class). */
  OpenAI: new (
    options: Json,
  ) => Json;
  BadRequestError: new (...args: never[]) => Json;
  toFile(value: Buffer, name: string, options: { type: string }): Promise<Json>;
}

const MODEL = "grok-imagine-video";

export function operationsSuite(label: string, sdk: OpenAiPackage): void {
  describe(`videos.edit, videos.extend and the spritesheet with ${label}`, () => {
    let t: TestServer;
    let client: Json;
    let base: Json;

    before(async () => {
      t = await startTestServer();
      client = new sdk.OpenAI({ baseURL: `${t.url}/v1`, apiKey: t.key, maxRetries: 0 });
      base = await finished(
        await client.videos.create({
          model: MODEL,
          prompt: "waves under a pier",
          seconds: "3",
          size: "864x496",
        }),
      );
    });
    after(() => t.stop());

    async function finished(video: Json, timeoutMs = 120_000): Promise<Json> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await client.videos.retrieve(video.id);
        if (now.status === "completed") return now;
        if (now.status === "failed") assert.fail(`${video.id} failed: ${JSON.stringify(now.error)}`);
        if (Date.now() > deadline) assert.fail(`${video.id} still ${now.status}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    async function mp4(id: string) {
      const response = await client.videos.downloadContent(id);
      const path = join(t.dataDir, `${id}.mp4`);
      await writeFile(path, Buffer.from(await response.arrayBuffer()));
      return { path, facts: await clipFacts(path) };
    }

    test("extend {id}: a normal video object whose seconds is the stitched total", async () => {
      const extended = await client.videos.extend({
        prompt: "the tide keeps rolling in",
        seconds: 4,
        video: { id: base.id },
      });
      assert.equal(extended.object, "video");
      assert.equal(extended.model, MODEL);
      assert.equal(extended.seconds, "7", "3 s source + 4 s added, while it runs");
      const done = await finished(extended);
      assert.equal(done.seconds, "7");
      const { facts } = await mp4(done.id);
      assert.ok(Math.abs(facts.duration - 7) < 0.25, `duration ${facts.duration}`);
    });

    test("edit an uploaded video: sepia, same length", async () => {
      const source = await mp4(base.id);
      const file = await sdk.toFile(await readFile(source.path), "pier.mp4", { type: "video/mp4" });
      const edited = await finished(
        await client.videos.edit({ prompt: "give it a sepia look", video: file }),
      );
      assert.equal(edited.seconds, "3");
      const { facts } = await mp4(edited.id);
      assert.ok(Math.abs(facts.duration - source.facts.duration) < 0.2);
    });

    test("edit {id} in black and white; the spritesheet is a JPEG grid", async () => {
      const edited = await finished(
        await client.videos.edit({ prompt: "black and white please", video: { id: base.id } }),
      );
      const response = await client.videos.downloadContent(edited.id, { variant: "spritesheet" });
      assert.equal(response.headers.get("content-type"), "image/jpeg");
      const bytes = Buffer.from(await response.arrayBuffer());
      const meta = await sharp(bytes).metadata();
      assert.equal(meta.format, "jpeg");
      assert.equal(meta.width, 5 * 256, "5 tiles of 256 px across");
      assert.equal(meta.height, 5 * 146, "5 rows of 864x496 tiles (256 × 496/864, rounded to even)");
      const again = Buffer.from(
        await (await client.videos.downloadContent(edited.id, { variant: "spritesheet" })).arrayBuffer(),
      );
      assert.ok(again.equals(bytes), "made once, then served from storage");
    });

    test("an edit on a model that cannot edit is a BadRequestError naming the field", async () => {
      const error: Json = await client.videos
        .edit({ prompt: "sepia", video: { id: base.id }, model: "seedance-1-5-pro-with-audio" } as Json)
        .then(
          () => assert.fail("expected a 400"),
          (e: unknown) => e as Json,
        );
      assert.ok(error instanceof sdk.BadRequestError, String(error));
      assert.equal(error.param, "model");
      assert.equal(error.code, "unsupported_operation");
      assert.match(error.message, /grok-imagine-video/);

      const long: Json = await client.videos
        .extend({ prompt: "more", seconds: 12, video: { id: base.id } })
        .then(
          () => assert.fail("expected a 400"),
          (e: unknown) => e as Json,
        );
      assert.ok(long instanceof sdk.BadRequestError);
      assert.equal(long.param, "seconds");

      const vague: Json = await client.videos
        .edit({ prompt: "make it more magical", video: { id: base.id } })
        .then(
          () => assert.fail("expected a 400"),
          (e: unknown) => e as Json,
        );
      assert.equal(vague.param, "prompt");
      assert.equal(vague.code, "unsupported_edit");
    });
  });
}
