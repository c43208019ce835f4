/**
 * Issue 27: what the Ark adapter sends for `priority`, `safety_identifier` and Seedance 2.x edits and
 * extensions (`omni_reference_task_type`), and what the Seedance double refuses, over real HTTP:
 * the adapter is called directly (no gateway, no catalog) against the double, whose journal and
 * task records show the exact create bodies. docs/providers.md §1.3.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { NormalizedMedia, NormalizedRequest } from "../../src/domain/request.ts";
import { ArkAdapter, seedFor } from "../../src/providers/ark/adapter.ts";
import { ProviderError, type SubmitContext, type UpstreamStatus } from "../../src/providers/types.ts";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";

// biome-ignore lint/suspicious/noExplicitAny: journal bodies are inspected loosely.
type Json = any;

const TASKS = "/api/v3/contents/generations/tasks";
const V2 = "doubao-seedance-2-0-260128";
const V15 = "doubao-seedance-1-5-pro-251215";
const SOURCE = "https://media.example/source-3s.mp4";

function request(overrides: Partial<NormalizedRequest> = {}): NormalizedRequest {
  return {
    model: "doubao-seedance-2-0-720p",
    mode: "text",
    prompt: "a paper boat on a canal",
    seconds: 5,
    ratio: "16:9",
    resolution: "720p",
    generateAudio: true,
    content: [],
    citations: [],
    ...overrides,
  };
}

const source: NormalizedMedia = { kind: "video", role: "source_video", index: 1, position: 0, url: SOURCE };

describe("Ark adapter: priority, safety_identifier, edit and extend against the double", () => {
  let ark: ArkDouble;
  const adapter = new ArkAdapter({ pollScale: 0.01, submitTimeoutMs: 5000 });
  const context = (upstreamModel = V2, taskId = "task_ops_1"): SubmitContext => ({
    id: "ch_ark",
    baseUrl: ark.baseUrl,
    apiKey: ark.keys[0]!,
    upstreamModel,
    taskId,
    mediaUrl: async (m) => m.url,
  });
  const lastBody = (): Json => ark.journal.last({ method: "POST", path: TASKS })!.body;
  const finish = async (upstreamId: string): Promise<UpstreamStatus> => {
    for (let i = 0; i < 400; i++) {
      const status = await adapter.status(upstreamId, context());
      if (status.type !== "queued" && status.type !== "running") return status;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`task ${upstreamId} did not finish`);
  };

  before(async () => {
    ark = await startArkDouble({ profile: "cn" });
    // The double never fetches URLs: the source's facts are declared, as Ark would read them.
    ark.mediaMeta.set(SOURCE, { format: "mp4", durationSec: 3, fps: 24 });
  });
  after(() => ark.close());

  test("priority and safety_identifier are sent when set, as given; Ark echoes both", async () => {
    const { upstreamId } = await adapter.submit(
      request({ priority: 7, safetyIdentifier: "9d1c0f3a5b7e2468" }),
      context(V2, "task_priority"),
    );
    assert.deepEqual(lastBody(), {
      model: V2,
      content: [{ type: "text", text: "a paper boat on a canal" }],
      resolution: "720p",
      ratio: "16:9",
      duration: 5,
      generate_audio: true,
      seed: seedFor("task_priority"),
      priority: 7,
      safety_identifier: "9d1c0f3a5b7e2468",
    });
    const echoed = ark.tasks.view(upstreamId)!;
    assert.equal(echoed.priority, 7);
    assert.equal(echoed.safety_identifier, "9d1c0f3a5b7e2468");
    assert.equal((await finish(upstreamId)).type, "succeeded");
  });

  test("priority 0 is still sent; neither field appears when the request has none", async () => {
    await adapter.submit(request({ priority: 0 }), context());
    assert.equal(lastBody().priority, 0);
    assert.equal("safety_identifier" in lastBody(), false);
    await adapter.submit(request(), context());
    assert.equal("priority" in lastBody(), false);
    assert.equal("safety_identifier" in lastBody(), false);
    assert.equal("omni_reference_task_type" in lastBody(), false, "no task type on a generation");
  });

  test("edit: the source as a reference_video, omni_reference_task_type edit, duration -1, ratio adaptive", async () => {
    const { upstreamId } = await adapter.submit(
      request({
        operation: "edit",
        prompt: "turn @video1 into a night scene",
        seconds: 3,
        ratio: "16:9",
        content: [source],
      }),
      context(V2, "task_edit"),
    );
    assert.deepEqual(lastBody(), {
      model: V2,
      content: [
        { type: "text", text: "turn @video1 into a night scene" },
        { type: "video_url", video_url: { url: SOURCE }, role: "reference_video" },
      ],
      resolution: "720p",
      ratio: "adaptive",
      duration: -1,
      omni_reference_task_type: "edit",
      generate_audio: true,
      seed: seedFor("task_edit"),
    });
    const done = await finish(upstreamId);
    assert.equal(done.type, "succeeded", JSON.stringify(done));
    if (done.type === "succeeded") assert.equal(done.usage?.seconds, 3, "as long as the 3 s source");
  });

  test("extend: omni_reference_task_type extend, ratio adaptive, duration = the seconds added", async () => {
    const { upstreamId } = await adapter.submit(
      request({ operation: "extend", prompt: "the boat sails on", seconds: 6, content: [source] }),
      context(V2, "task_extend"),
    );
    const body = lastBody();
    assert.equal(body.omni_reference_task_type, "extend");
    assert.equal(body.ratio, "adaptive");
    assert.equal(body.duration, 6);
    assert.deepEqual(body.content[1], {
      type: "video_url",
      video_url: { url: SOURCE },
      role: "reference_video",
    });
    assert.equal((await finish(upstreamId)).type, "succeeded");
  });

  test("after a lost answer, an edit's create is found again by its echo (duration and ratio resolved by Ark)", async () => {
    const edit = request({ operation: "edit", seconds: 3, content: [source] });
    const ctx = context(V2, "task_edit_lost");
    // The window in the double's (simulated, fast) time, as Ark's clock would give it.
    const from = ark.clock.now() - 1000;
    const { upstreamId } = await adapter.submit(edit, ctx);
    const window = { from, to: ark.clock.now() + 1000 };
    assert.deepEqual(await adapter.findSubmitted(edit, ctx, window, new Set()), { upstreamId });
    // Another task's edit of the same source is not this one (its seed differs).
    const other = { ...ctx, taskId: "task_edit_other" };
    assert.equal(await adapter.findSubmitted(edit, other, window, new Set()), null);
  });

  test("the double's refusals reach the adapter as rejected, with Ark's code", async () => {
    const rejection = async (promise: Promise<unknown>) => {
      const err = await promise.then(
        () => assert.fail("expected a refusal"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ProviderError, String(err));
      return err;
    };
    const high = await rejection(adapter.submit(request({ priority: 10 }), context()));
    assert.equal(high.kind, "rejected");
    assert.equal(high.code, "InvalidParameter");
    assert.match(high.message, /priority/);
    const on15 = await rejection(
      adapter.submit(request({ operation: "edit", content: [source] }), context(V15)),
    );
    assert.equal(on15.kind, "rejected");
    assert.match(on15.message, /video input is only supported by the Seedance 2\.0 family/);
  });
});

describe("the Seedance double's contract for priority, safety_identifier and task types", () => {
  let ark: ArkDouble;
  before(async () => {
    ark = await startArkDouble({ profile: "byteplus" });
  });
  after(() => ark.close());

  const V2B = "dreamina-seedance-2-0-260128";
  const V25 = "dreamina-seedance-2-5-260628";
  const video = { type: "video_url", video_url: { url: SOURCE }, role: "reference_video" };
  const text = { type: "text", text: "x" };
  const create = async (body: Record<string, unknown>) => {
    const res = await fetch(`${ark.baseUrl}/contents/generations/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${ark.keys[0]}`, "content-type": "application/json" },
      body: JSON.stringify({ model: V2B, content: [text, video], ...body }),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const refused = (res: { status: number; body: Json }, code: string, pattern?: RegExp) => {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code);
    if (pattern) assert.match(res.body.error.message, pattern);
  };
  const edit = { omni_reference_task_type: "edit", duration: -1, ratio: "adaptive" };

  test("priority: an integer 0–9; safety_identifier: a string of at most 64 characters", async () => {
    assert.equal((await create({ priority: 0 })).status, 200);
    assert.equal((await create({ priority: 9 })).status, 200);
    refused(await create({ priority: 10 }), "InvalidParameter", /priority/);
    refused(await create({ priority: -1 }), "InvalidParameter", /priority/);
    refused(await create({ priority: 1.5 }), "InvalidParameter", /priority/);
    assert.equal((await create({ safety_identifier: "a".repeat(64) })).status, 200);
    refused(await create({ safety_identifier: "a".repeat(65) }), "InvalidParameter", /safety_identifier/);
  });

  test("omni_reference_task_type: the enum; edit needs duration -1 and adaptive; extend needs adaptive", async () => {
    assert.equal((await create(edit)).status, 200);
    assert.equal(
      (await create({ omni_reference_task_type: "extend", ratio: "adaptive", duration: 5 })).status,
      200,
    );
    assert.equal((await create({ omni_reference_task_type: "auto" })).status, 200);
    assert.equal((await create({ omni_reference_task_type: "reference" })).status, 200);
    refused(await create({ omni_reference_task_type: "remix" }), "InvalidParameter", /must be one of/);
    refused(
      await create({ ...edit, duration: 5 }),
      "InvalidParameter.TaskTypeConstraint",
      /duration must be -1/,
    );
    refused(await create({ ...edit, ratio: "16:9" }), "InvalidParameter.TaskTypeConstraint", /adaptive/);
    refused(await create({ ...edit, ratio: undefined }), "InvalidParameter.TaskTypeConstraint", /adaptive/);
    refused(
      await create({ omni_reference_task_type: "extend", ratio: "9:16", duration: 5 }),
      "InvalidParameter.TaskTypeConstraint",
      /adaptive/,
    );
  });

  test("explicit edit/extend need a reference video; reference needs references; 1.x takes no task type", async () => {
    refused(
      await create({ ...edit, content: [text] }),
      "InvalidParameter.TaskTypeConstraint",
      /reference_video/,
    );
    refused(
      await create({ omni_reference_task_type: "reference", content: [text] }),
      "InvalidParameter.TaskTypeConstraint",
      /reference images, videos or audio/,
    );
    refused(
      await create({ model: "seedance-1-5-pro-251215", content: [text], omni_reference_task_type: "auto" }),
      "InvalidParameter",
      /task types are not supported/,
    );
  });

  test("an edit is as long as its declared source; with the setting off only 2.5 takes a task type", async () => {
    ark.mediaMeta.set(SOURCE, { format: "mp4", durationSec: 7.2 });
    const created = await create(edit);
    assert.equal(created.status, 200);
    assert.equal(ark.tasks.get(created.body.id)?.params.duration, 7);
    assert.equal(ark.tasks.get(created.body.id)?.params.taskType, "edit");
    ark.updateSettings({ omniTaskTypeOn20: false });
    try {
      refused(await create(edit), "InvalidParameter", /task types are not supported/);
      assert.equal((await create({ ...edit, model: V25 })).status, 200);
    } finally {
      ark.updateSettings({ omniTaskTypeOn20: true });
    }
  });
});
