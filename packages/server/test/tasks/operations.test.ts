/**
 * Edit and extend on the RelayDance door (docs/api.md §3.2), rendered by the local engine, and the
 * refusals of operations, keyframes and priority, each a 400 naming its field.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read by path
type Json = any;

const GROK = "grok-imagine-video";

describe("edit and extend on the local engine (RelayDance door)", () => {
  let t: TestServer;
  let base: Json;
  before(async () => {
    t = await startTestServer();
    base = await run({
      model: GROK,
      prompt: "a lighthouse at dusk, slow push in",
      seconds: "3",
      metadata: { resolution: "480p" },
    });
  });
  after(() => t.stop());

  const submit = (body: Json) => t.api("/v1/video/generations", { method: "POST", json: body });
  async function run(body: Json): Promise<Json> {
    const res = await submit(body);
    assert.equal(res.status, 200, await res.clone().text());
    const task = await waitForTask(t, ((await res.json()) as Json).task_id, { timeoutMs: 120_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    return task;
  }
  async function facts(task: Json) {
    const path = join(t.dataDir, `${task.task_id}.mp4`);
    await writeFile(path, Buffer.from(await (await fetch(task.url)).arrayBuffer()));
    return clipFacts(path);
  }
  async function refusal(body: Json): Promise<{ code: string; param: string; message: string }> {
    const res = await submit(body);
    assert.equal(res.status, 400, await res.clone().text());
    return ((await res.json()) as Json).error;
  }

  test("extend a finished task by its id: the clip is the source plus the seconds asked, billed for the seconds added", async () => {
    const task = await run({
      model: GROK,
      prompt: "the camera keeps drifting over the sea",
      seconds: "2",
      metadata: { operation: "extend", source_task_id: base.task_id, resolution: "480p" },
    });
    assert.equal(task.metadata.operation, "extend");
    assert.equal(task.metadata.source_task_id, base.task_id);
    const clip = await facts(task);
    assert.ok(Math.abs(clip.duration - (base.video.duration + 2)) < 0.2, `duration ${clip.duration}`);
    assert.equal(clip.audioCodec !== null, base.video.has_audio);
    assert.equal(task.usage.seconds, 2, "an extension bills the seconds it adds");
  });

  test("edit an uploaded video: black and white, same length, billed for the source's seconds", async () => {
    const path = join(t.dataDir, "base.mp4");
    await writeFile(path, Buffer.from(await (await fetch(base.url)).arrayBuffer()));
    const file = (await (await uploadFile(t, path)).json()) as Json;
    const task = await run({
      model: GROK,
      prompt: "make it black and white",
      metadata: {
        operation: "edit",
        resolution: "480p",
        content: [{ type: "video_url", video_url: { url: file.url } }],
      },
    });
    assert.equal(task.seconds, String(Math.ceil(base.video.duration - 0.1)));
    assert.deepEqual(task.metadata.edits, ["black and white"], "the task says which edits it applied");
    const clip = await facts(task);
    assert.ok(Math.abs(clip.duration - base.video.duration) < 0.2, `duration ${clip.duration}`);
  });

  test("refusals name their field", async () => {
    const source = { operation: "edit", source_task_id: base.task_id };
    const cannot = await refusal({ model: "seedance-1-5-pro-with-audio", prompt: "sepia", metadata: source });
    assert.deepEqual([cannot.code, cannot.param], ["unsupported_operation", "metadata.operation"]);
    assert.match(cannot.message, /grok-imagine-video/);
    assert.match(cannot.message, /doubao-seedance-2-0-720p/);

    const vague = await refusal({ model: GROK, prompt: "make it more magical", metadata: source });
    assert.deepEqual([vague.code, vague.param], ["unsupported_edit", "prompt"]);
    assert.match(vague.message, /black and white/);

    const timed = await refusal({ model: GROK, prompt: "sepia", seconds: "5", metadata: source });
    assert.deepEqual([timed.code, timed.param], ["unsupported_by_model", "seconds"]);

    const long = await refusal({
      model: GROK,
      prompt: "go on",
      seconds: "12",
      metadata: { operation: "extend", source_task_id: base.task_id },
    });
    assert.equal(long.param, "seconds");
    assert.match(long.message, /2 to 10/);

    const missing = await refusal({ model: GROK, prompt: "sepia", metadata: { operation: "edit" } });
    assert.deepEqual([missing.code, missing.param], ["missing_parameter", "metadata.source_task_id"]);

    const unknown = await submit({
      model: GROK,
      prompt: "sepia",
      metadata: { operation: "edit", source_task_id: `task_${"x".repeat(32)}` },
    });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as Json).error.param, "metadata.source_task_id");

    const orphan = await refusal({
      model: GROK,
      prompt: "x",
      metadata: {
        content: [
          { type: "video_url", video_url: { url: "https://example.com/a.mp4" }, role: "source_video" },
        ],
      },
    });
    assert.deepEqual([orphan.code, orphan.param], ["invalid_role", "metadata.content[0].role"]);

    const priority = await refusal({ model: GROK, prompt: "x", metadata: { priority: 10 } });
    assert.deepEqual([priority.code, priority.param], ["out_of_range", "metadata.priority"]);
  });

  test("keyframes: on the 1/3 s grid, inside the clip, at most the model's count", async () => {
    const photo = (await (await uploadFile(t, sample("photo-saw-2725x2225.jpg"))).json()) as Json;
    const frame = (role: string, at?: number) => ({
      type: "image_url",
      image_url: { url: photo.url },
      role,
      ...(at === undefined ? {} : { at }),
    });
    const body = (content: Json[], model = "grok-imagine-video-1.5") => ({
      model,
      prompt: "a saw on a bench",
      seconds: "4",
      metadata: { content },
    });

    const off = await refusal(body([frame("first_frame"), frame("keyframe", 1.5)]));
    assert.deepEqual([off.code, off.param], ["invalid_keyframe", "metadata.content[1].at"]);
    const outside = await refusal(body([frame("first_frame"), frame("keyframe", 4)]));
    assert.deepEqual([outside.code, outside.param], ["invalid_keyframe", "metadata.content[1].at"]);
    const many = await refusal(
      body([frame("first_frame"), ...[1, 1.333, 2, 2.667, 3].map((at) => frame("keyframe", at))]),
    );
    assert.deepEqual([many.code, many.param], ["invalid_keyframe", "metadata.content[5]"]);
    const lite = await refusal(
      body([frame("first_frame"), frame("keyframe", 1)], "grok-imagine-video-1.5-lite"),
    );
    assert.deepEqual([lite.code, lite.param], ["unsupported_by_model", "metadata.content[1].role"]);
    const stray = await refusal(body([frame("first_frame", 1)]));
    assert.deepEqual([stray.code, stray.param], ["invalid_keyframe", "metadata.content[0].at"]);

    const task = await run(body([frame("first_frame"), frame("keyframe", 1.333), frame("keyframe", 2.667)]));
    const clip = await facts(task);
    assert.ok(Math.abs(clip.duration - 4) < 0.2);
  });
});
