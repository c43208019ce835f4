import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";

/** The documented image-to-video flow, over real HTTP: upload, submit @image1, poll, download. */
describe("image-to-video flow on embedded defaults", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  test("upload → submit seedance-1-5-pro-with-audio 5 s 16:9 720p → poll → a real 1280x720 H.264/AAC mp4", async () => {
    const uploaded = await uploadFile(t, sample("photo-saw-2725x2225.jpg"), { filename: "portrait.jpg" });
    assert.equal(uploaded.status, 200);
    const file = (await uploaded.json()) as Record<string, unknown>;
    assert.match(String(file.id), /^file_/);
    assert.equal(file.object, "file");
    assert.equal(file.content_type, "image/jpeg");
    assert.equal(file.width, 2725);
    assert.equal(file.height, 2225);
    assert.equal(file.filename, "portrait.jpg");
    assert.ok(String(file.url).startsWith(`${t.url}/files/`));

    const submitted = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "seedance-1-5-pro-with-audio",
        prompt: "@image1 the saw glints as the camera slowly pushes in",
        seconds: "5",
        metadata: {
          ratio: "16:9",
          resolution: "720p",
          content: [{ type: "image_url", image_url: { url: file.url }, role: "reference_image" }],
        },
      },
    });
    assert.equal(submitted.status, 200);
    const created = (await submitted.json()) as Record<string, unknown>;
    assert.match(String(created.task_id), /^task_[A-Za-z0-9]{32}$/);
    assert.equal(created.id, created.task_id);
    assert.equal(created.status, "submitted");
    assert.equal(created.object, "video");
    assert.equal(typeof created.created_at, "number");

    const task = await waitForTask(t, String(created.task_id));
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.equal(task.progress, 100);
    assert.equal(task.provider, "local");
    assert.equal(task.format, "mp4");
    assert.equal(task.seconds, "5");
    assert.deepEqual(
      {
        ratio: (task.metadata as Record<string, unknown>).ratio,
        resolution: (task.metadata as Record<string, unknown>).resolution,
      },
      { ratio: "16:9", resolution: "720p" },
    );
    assert.ok(String(task.url).startsWith(`${t.url}/videos/`));

    // Download from the public URL with no key, like any client would.
    const download = await fetch(String(task.url));
    assert.equal(download.status, 200);
    assert.equal(download.headers.get("content-type"), "video/mp4");
    const bytes = Buffer.from(await download.arrayBuffer());
    const out = join(t.dataDir, "downloaded.mp4");
    await writeFile(out, bytes);
    const facts = await clipFacts(out);
    assert.equal(facts.width, 1280);
    assert.equal(facts.height, 720);
    assert.ok(Math.abs(facts.duration - 5) <= 0.1, `duration ${facts.duration}`);
    assert.equal(facts.videoCodec, "h264");
    assert.equal(facts.audioCodec, "aac");
    const video = task.video as Record<string, unknown>;
    assert.equal(video.width, 1280);
    assert.equal(video.has_audio, true);
    assert.equal(video.bytes, bytes.length);

    // Range on the public URL and on the authenticated content endpoint.
    const ranged = await fetch(String(task.url), { headers: { range: "bytes=0-99" } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get("content-range"), `bytes 0-99/${bytes.length}`);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(0, 100));
    const content = await t.api(`/v1/video/generations/${task.task_id}/content`, {
      headers: { range: "bytes=-10" },
    });
    assert.equal(content.status, 206);
    assert.deepEqual(Buffer.from(await content.arrayBuffer()), bytes.subarray(bytes.length - 10));
    const unsatisfiable = await fetch(String(task.url), {
      headers: { range: `bytes=${bytes.length + 10}-` },
    });
    assert.equal(unsatisfiable.status, 416);

    // Thumbnail is a real JPEG.
    const poster = await fetch(String(task.thumbnail_url));
    assert.equal(poster.headers.get("content-type"), "image/jpeg");
    const posterBytes = Buffer.from(await poster.arrayBuffer());
    assert.equal(posterBytes[0], 0xff);
    assert.equal(posterBytes[1], 0xd8);
  });

  test("a text-only task on a no-audio model has no audio stream; return_last_frame gives a PNG", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "seedance-1-5-pro-no-audio",
        prompt: "A lighthouse at dusk",
        seconds: 4,
        metadata: { ratio: "1:1", resolution: "480p", return_last_frame: true },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await waitForTask(t, task_id);
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const out = join(t.dataDir, "t2v.mp4");
    await writeFile(out, Buffer.from(await (await fetch(String(task.url))).arrayBuffer()));
    const facts = await clipFacts(out);
    assert.equal(facts.width, 640);
    assert.equal(facts.height, 640);
    assert.equal(facts.audioCodec, null, "no audio stream at all");
    assert.ok(Math.abs(facts.duration - 4) <= 0.1);
    const png = Buffer.from(await (await fetch(String(task.last_frame_url))).arrayBuffer());
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  });

  test("SSE streams status changes until the task is done", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "seedance-1-5-pro-no-audio",
        prompt: "waves",
        seconds: "4",
        metadata: { resolution: "480p" },
      },
    });
    const { task_id } = (await res.json()) as { task_id: string };
    const stream = await t.api(`/v1/video/generations/${task_id}/events`);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("content-type") ?? "", /text\/event-stream/);
    const text = await stream.text(); // the server closes the stream after the terminal event
    const events = text
      .split("\n\n")
      .filter((block) => block.includes("event: task"))
      .map(
        (block) =>
          JSON.parse(
            block
              .split("\n")
              .find((l) => l.startsWith("data: "))!
              .slice(6),
          ) as Record<string, unknown>,
      );
    assert.ok(events.length >= 2, `expected several events, got ${events.length}`);
    assert.equal(events.at(-1)?.status, "succeeded");
    assert.ok(text.includes("event: done"));
    const progresses = events.map((e) => Number(e.progress));
    assert.deepEqual(
      progresses,
      [...progresses].sort((a, b) => a - b),
      "progress never goes backwards",
    );
  });

  test("Idempotency-Key: same body → same task; different body → 409", async () => {
    const body = {
      model: "seedance-1-5-pro-no-audio",
      prompt: "idempotent",
      seconds: "4",
      metadata: { resolution: "480p" },
    };
    const headers = { "idempotency-key": "order-42" };
    const a = await t.api("/v1/video/generations", { method: "POST", json: body, headers });
    const b = await t.api("/v1/video/generations", { method: "POST", json: { ...body }, headers });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(b.headers.get("idempotent-replayed"), "true");
    const ta = (await a.json()) as { task_id: string };
    const tb = (await b.json()) as { task_id: string };
    assert.equal(ta.task_id, tb.task_id);
    const c = await t.api("/v1/video/generations", {
      method: "POST",
      json: { ...body, prompt: "other" },
      headers,
    });
    assert.equal(c.status, 409);
    const error = ((await c.json()) as { error: Record<string, unknown> }).error;
    assert.equal(error.type, "idempotency_error");
    assert.equal(error.param, "Idempotency-Key");
    await waitForTask(t, ta.task_id);
  });

  test("cancel turns a task failed with error.code cancelled, exactly once", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "doubao-seedance-2-0-1080p",
        prompt: "a long one",
        seconds: "15",
        metadata: { ratio: "16:9" },
      },
    });
    const { task_id } = (await res.json()) as { task_id: string };
    const cancelled = await t.api(`/v1/video/generations/${task_id}/cancel`, { method: "POST" });
    assert.equal(cancelled.status, 200);
    const body = (await cancelled.json()) as Record<string, unknown>;
    assert.equal(body.status, "failed");
    assert.deepEqual((body.error as Record<string, unknown>).code, "cancelled");
    const again = await t.api(`/v1/video/generations/${task_id}/cancel`, { method: "POST" });
    assert.equal(again.status, 409);
    // The render (if it started) stops, and the task stays failed.
    await new Promise((r) => setTimeout(r, 1500));
    const final = (await (await t.api(`/v1/video/generations/${task_id}`)).json()) as Record<string, unknown>;
    assert.equal(final.status, "failed");
    assert.equal(final.url, undefined);
    const content = await t.api(`/v1/video/generations/${task_id}/content`);
    assert.equal(content.status, 409);
  });

  test("list: filters and cursor pagination", async () => {
    const all = (await (await t.api("/v1/video/generations?limit=2")).json()) as Record<string, unknown>;
    assert.equal(all.object, "list");
    assert.equal((all.data as unknown[]).length, 2);
    assert.equal(all.has_more, true);
    const next = (await (await t.api(`/v1/video/generations?limit=2&after=${all.next_cursor}`)).json()) as {
      data: Array<{ task_id: string }>;
    };
    const firstIds = (all.data as Array<{ task_id: string }>).map((d) => d.task_id);
    assert.ok(next.data.every((d) => !firstIds.includes(d.task_id)));
    const failed = (await (await t.api("/v1/video/generations?status=failed")).json()) as {
      data: Array<{ status: string }>;
    };
    assert.ok(failed.data.length >= 1);
    assert.ok(failed.data.every((d) => d.status === "failed"));
    const bad = await t.api("/v1/video/generations?status=done");
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { param: string } }).error.param, "status");
  });

  test("another account's task and file are a 404; a bad key is a 401", async () => {
    const other = await t.newAccountKey("intruder");
    const mine = (await (await t.api("/v1/video/generations?limit=1")).json()) as {
      data: Array<{ task_id: string }>;
    };
    const taskId = mine.data[0]!.task_id;
    const asOther = { headers: { authorization: `Bearer ${other}` } };
    for (const path of [
      `/v1/video/generations/${taskId}`,
      `/v1/video/generations/${taskId}/content`,
      `/v1/video/generations/${taskId}/events`,
    ]) {
      const res = await t.api(path, asOther);
      assert.equal(res.status, 404, path);
      const error = ((await res.json()) as { error: Record<string, unknown> }).error;
      assert.equal(error.type, "not_found_error");
    }
    const cancel = await t.api(`/v1/video/generations/${taskId}/cancel`, { method: "POST", ...asOther });
    assert.equal(cancel.status, 404);
    const files = (await (await t.api("/v1/files")).json()) as { data: Array<{ id: string }> };
    const fileId = files.data[0]!.id;
    assert.equal((await t.api(`/v1/files/${fileId}`, asOther)).status, 404);
    assert.equal((await t.api(`/v1/files/${fileId}`, { method: "DELETE", ...asOther })).status, 404);
    const otherList = (await (await t.api("/v1/video/generations", asOther)).json()) as { data: unknown[] };
    assert.equal(otherList.data.length, 0);

    for (const authorization of [undefined, "Bearer sk-nope", "Basic abc"]) {
      const res = await fetch(`${t.url}/v1/models`, { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401);
      const error = ((await res.json()) as { error: Record<string, unknown> }).error;
      assert.equal(error.type, "authentication_error");
      assert.ok(String(error.message).length > 10);
    }
  });
});
