/**
 * Edit and extend through the gateway to the providers that can (issue 27): the `openai` SDK's
 * videos.edit / videos.extend (an uploaded video and {id}) and the RelayDance door's keyframes and
 * priority, relayed to the xAI and Ark doubles, whose journals show the exact upstream bodies.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { startXaiDouble, type XaiDouble } from "../doubles/xai/double.ts";
import { sample } from "../helpers/paths.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";
import type { OpenAiPackage } from "../openai/operations-suite.ts";

// biome-ignore lint/suspicious/noExplicitAny: SDK objects and journal bodies are read by path
type Json = any;

const GROK = "grok-imagine-video";
const GROK15 = "grok-imagine-video-1.5";
const SEEDANCE = "doubao-seedance-2-0-720p";
const ARK_MODEL = "doubao-seedance-2-0-260128";
const ARK_TASKS = "/api/v3/contents/generations/tasks";

/** The suite, with the `openai` package it drives (6.x here on Node 20, 7.x on Node 22: operations-gateway-v7). */
export function relayedOperationsSuite(label: string, sdk: OpenAiPackage): void {
  describe(`edit and extend relayed to xAI and Ark, with ${label}`, () => {
    let t: TestServer;
    let xai: XaiDouble;
    let ark: ArkDouble;
    let client: Json;

    before(async () => {
      xai = await startXaiDouble();
      ark = await startArkDouble({ profile: "cn", queueDelayMs: 0 });
      t = await startTestServer({ upstreamPollScale: 0.01 });
      for (const json of [
        {
          provider: "xai",
          base_url: xai.baseUrl,
          api_key: xai.keys[0],
          models: { [GROK]: GROK, [GROK15]: GROK15 },
        },
        { provider: "ark", base_url: ark.baseUrl, api_key: ark.keys[0], models: { [SEEDANCE]: ARK_MODEL } },
      ]) {
        const res = await t.api("/v1/admin/channels", { method: "POST", json });
        assert.equal(res.status, 200, await res.clone().text());
      }
      client = new sdk.OpenAI({ baseURL: `${t.url}/v1`, apiKey: t.key, maxRetries: 0 });
    });
    after(async () => {
      await t.stop();
      await xai.close();
      await ark.close();
    });

    async function finished(video: Json): Promise<Json> {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const now = await client.videos.retrieve(video.id);
        if (now.status === "completed") return now;
        if (now.status === "failed") assert.fail(`${video.id} failed: ${JSON.stringify(now.error)}`);
        if (Date.now() > deadline) assert.fail(`${video.id} still ${now.status}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const lastPost = (double: XaiDouble | ArkDouble, path: string) =>
      double.journal.last({ method: "POST", path })!.body as Json;

    test("xAI: extend {id} and edit an upload reach /v1/videos/extensions and /v1/videos/edits", async () => {
      const base = await finished(
        await client.videos.create({ model: GROK, prompt: "a pier at dawn", seconds: "4" }),
      );
      const extended = await finished(
        await client.videos.extend({ prompt: "the sun rises", seconds: 4, video: { id: base.id } }),
      );
      assert.equal(extended.model, GROK);
      const extension = lastPost(xai, "/v1/videos/extensions");
      assert.equal(extension.model, GROK);
      assert.equal(extension.duration, 4, "the seconds added");
      assert.equal(extension.prompt, "the sun rises");
      assert.match(extension.video.url, /^(data:video\/mp4;base64,|https?:)/);
      assert.equal(extension.aspect_ratio, undefined);

      const response = await client.videos.downloadContent(base.id);
      const path = join(t.dataDir, "base.mp4");
      await writeFile(path, Buffer.from(await response.arrayBuffer()));
      const upload = await sdk.toFile(await readFile(path), "base.mp4", { type: "video/mp4" });
      // OpenAI's edit has no model; vidrelay takes one as an extra field (else the first that can edit).
      const params = { prompt: "make it look like a watercolour", video: upload, model: GROK } as Json;
      const edited = await finished(await client.videos.edit(params));
      assert.equal(edited.model, GROK);
      const edit = lastPost(xai, "/v1/videos/edits");
      assert.deepEqual(Object.keys(edit).sort(), ["model", "prompt", "video"]);
      assert.equal(edit.prompt, "make it look like a watercolour");
    });

    test("xAI 1.5: last frame, keyframes, silent audio and the hashed account as user", async () => {
      const photo = (await (await uploadFile(t, sample("photo-saw-2725x2225.jpg"))).json()) as Json;
      const image = (role: string, at?: number) => ({
        type: "image_url",
        image_url: { url: photo.url },
        role,
        ...(at ? { at } : {}),
      });
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        json: {
          model: GROK15,
          prompt: "a saw on a workbench, the light moves",
          seconds: "6",
          metadata: {
            generate_audio: false,
            resolution: "1080p",
            content: [
              image("first_frame"),
              image("keyframe", 2),
              image("keyframe", 3.333),
              image("last_frame"),
            ],
          },
        },
      });
      assert.equal(res.status, 200, await res.clone().text());
      const task = await waitForTask(t, ((await res.json()) as Json).task_id);
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
      const body = lastPost(xai, "/v1/videos/generations");
      assert.equal(body.model, GROK15);
      assert.equal(body.generate_audio, false);
      assert.equal(body.resolution, "1080p");
      assert.ok(body.image?.url && body.last_frame?.url);
      assert.deepEqual(
        body.keyframes.map((k: Json) => Math.round(k.timestamp_s * 3)),
        [6, 10],
        "2 s and 3.333 s, on the 1/3 s grid",
      );
      assert.match(body.user, /^[0-9a-f]{32}$/, "a hash, never the account id");
    });

    test("Ark Seedance 2.0: edit {id} and extend with omni_reference_task_type, priority and safety_identifier", async () => {
      const base = await t.api("/v1/video/generations", {
        method: "POST",
        json: { model: SEEDANCE, prompt: "a red kite over a beach", seconds: "5", metadata: { priority: 7 } },
      });
      const baseTask = await waitForTask(t, ((await base.json()) as Json).task_id);
      assert.equal(baseTask.status, "succeeded", JSON.stringify(baseTask.error));
      const create = lastPost(ark, ARK_TASKS);
      assert.equal(create.priority, 7);
      assert.match(create.safety_identifier, /^[0-9a-f]{32}$/);

      const edited = await finished(
        await client.videos.edit({ prompt: "turn the kite blue", video: { id: baseTask.task_id } }),
      );
      assert.equal(edited.model, SEEDANCE, "the source video's model edits it");
      const edit = lastPost(ark, ARK_TASKS);
      assert.equal(edit.omni_reference_task_type, "edit");
      assert.equal(edit.duration, -1);
      assert.equal(edit.ratio, "adaptive");
      const video = edit.content.find((c: Json) => c.type === "video_url");
      assert.equal(video.role, "reference_video");

      await finished(
        await client.videos.extend({
          prompt: "the kite flies away",
          seconds: 5,
          video: { id: baseTask.task_id },
        }),
      );
      const extend = lastPost(ark, ARK_TASKS);
      assert.equal(extend.omni_reference_task_type, "extend");
      assert.equal(extend.duration, 5);
      assert.equal(extend.ratio, "adaptive");
    });
  });
}
