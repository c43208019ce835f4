import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { startXaiDouble } from "../../server/test/doubles/xai/double.ts";
import { startReceiver, until } from "../../server/test/helpers/receiver.ts";
import { waitForTask } from "../../server/test/helpers/server.ts";
import { assertClean, browserSkipReason, type ConsoleHarness, startConsoleHarness } from "./harness.ts";

const skip = browserSkipReason();
const HAPPYHORSE = "happyhorse-1.0-t2v";
const SEEDANCE = "seedance-1-5-pro-no-audio";

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

interface ApiTask {
  id: string;
  status: string;
  model: string;
  error?: { code: string };
}

describe("console: tasks", { skip }, () => {
  let h: ConsoleHarness;
  let hooks: Receiver;
  before(async () => {
    // The webhook receivers listen on loopback, which the SSRF policy refuses unless allowed.
    h = await startConsoleHarness({ allowPrivateTargets: "127.0.0.1", upstreamPollScale: 0.01 });
    hooks = await startReceiver();
  });
  after(async () => {
    await hooks?.close();
    await h?.close();
  });

  async function submit(
    model: string,
    prompt: string,
    options: { seconds?: string; resolution?: string; callbackUrl?: string; key?: string } = {},
  ): Promise<string> {
    const res = await h.gateway.api("/v1/video/generations", {
      method: "POST",
      headers: options.key ? { authorization: `Bearer ${options.key}` } : {},
      json: {
        model,
        prompt,
        seconds: options.seconds ?? (model === SEEDANCE ? "4" : "3"),
        metadata: {
          resolution: options.resolution ?? (model === SEEDANCE ? "480p" : "720p"),
          ...(options.callbackUrl ? { callback_url: options.callbackUrl } : {}),
        },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { id: string }).id;
  }

  async function apiList(query: string): Promise<ApiTask[]> {
    const res = await h.gateway.api(`/v1/video/generations?limit=100${query}`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { data: ApiTask[] }).data;
  }

  async function apiTask(id: string): Promise<ApiTask> {
    const res = await h.gateway.api(`/v1/video/generations/${id}`);
    assert.equal(res.status, 200);
    return (await res.json()) as ApiTask;
  }

  const rowIds = (page: Page) =>
    page
      .locator("table.task-table tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-task-id")));
  const badge = (page: Page, id: string) => page.locator(`tr[data-task-id="${id}"] .badge`);

  test("the table lists submitted tasks and updates them live to succeeded, then stops polling", async () => {
    const ids = [
      await submit(HAPPYHORSE, "a red kite over a beach", { callbackUrl: hooks.url }),
      await submit(HAPPYHORSE, "rain on a window", { callbackUrl: hooks.url }),
    ];
    const { page, report } = await h.signIn();
    let listRequests = 0;
    page.on("request", (r) => {
      if (/\/v1\/video\/generations\?/.test(r.url())) listRequests++;
    });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tasks" }).click();
    await page.getByRole("heading", { level: 1, name: "Tasks" }).waitFor();
    // A marker on window proves the later changes arrive without a reload.
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    for (const id of ids) {
      const first = await badge(page, id).textContent();
      assert.ok(first === "submitted" || first === "running", `${id} first shown as ${first}`);
      const row = page.locator(`tr[data-task-id="${id}"]`);
      assert.match((await row.textContent()) ?? "", new RegExp(HAPPYHORSE.replace(/\./g, "\\.")));
    }
    // A hidden tab asks nothing; shown again, it catches up.
    const setHidden = (hidden: boolean) =>
      page.evaluate((h) => {
        Object.defineProperty(document, "visibilityState", {
          value: h ? "hidden" : "visible",
          configurable: true,
        });
        document.dispatchEvent(new Event("visibilitychange"));
      }, hidden);
    await setHidden(true);
    const whileHidden = listRequests;
    await page.waitForTimeout(4500);
    assert.equal(listRequests, whileHidden, "the list was polled while the tab was hidden");
    await setHidden(false);
    for (const id of ids) {
      await badge(page, id).filter({ hasText: "succeeded" }).waitFor({ timeout: 90_000 });
    }
    assert.equal(
      await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
      true,
    );
    // Succeeded rows show what they cost.
    for (const id of ids) {
      const cost = await page.locator(`tr[data-task-id="${id}"] td`).nth(5).textContent();
      assert.match(cost ?? "", /\d/, `cost of ${id}: ${cost}`);
    }
    // …and their prompt beside a thumbnail: the poster frame at the task's thumbnail_url, lazy-loaded.
    const prompts = ["a red kite over a beach", "rain on a window"];
    for (const [i, id] of ids.entries()) {
      const row = page.locator(`tr[data-task-id="${id}"]`);
      assert.equal(await row.locator('td[data-col="task"] .task-prompt').textContent(), prompts[i]);
      const task = (await (await h.gateway.api(`/v1/video/generations/${id}`)).json()) as {
        thumbnail_url: string;
      };
      const img = row.locator('td[data-col="task"] img.task-thumb');
      assert.equal(await img.count(), 1, `one thumbnail in the row of ${id}`);
      assert.equal(await img.getAttribute("src"), task.thumbnail_url);
      assert.equal(await img.getAttribute("loading"), "lazy");
      await until(
        () => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0),
        30_000,
        `the thumbnail of ${id} to load`,
      );
      const [width, height] = await img.evaluate((el: HTMLImageElement) => [
        el.naturalWidth,
        el.naturalHeight,
      ]);
      assert.deepEqual([width, height], [1280, 720], "the 720p 16:9 video's poster frame");
    }
    // Everything listed is finished: the page stops asking.
    const settled = listRequests;
    await page.waitForTimeout(5000);
    assert.equal(listRequests, settled, "the list was polled after every task had finished");
    await until(() => hooks.received.length >= 2, 30_000, "both webhooks");
    assertClean(report);
  });

  test("status and model filters narrow the rows and live in the URL; paging moves by cursor", async () => {
    const seedance = await submit(SEEDANCE, "a lighthouse at dusk");
    // Five tasks of its own, so that paging by two has three pages whatever ran before.
    const extras = [await submit(HAPPYHORSE, "fog over a lake"), await submit(HAPPYHORSE, "a city at night")];
    const extra = await submit(HAPPYHORSE, "waves on rocks");
    const cancelled = await submit(HAPPYHORSE, "to be cancelled", { seconds: "10", resolution: "720p" });
    const res = await h.gateway.api(`/v1/video/generations/${cancelled}/cancel`, { method: "POST" });
    assert.equal(res.status, 200);
    for (const id of [seedance, ...extras, extra, cancelled])
      await waitForTask(h.gateway, id, { timeoutMs: 90_000 });

    const { page, report } = await h.signIn();
    await page.goto("/console/tasks");
    await page.locator("table.task-table").waitFor();
    assert.deepEqual(
      await rowIds(page),
      (await apiList("")).map((t) => t.id),
    );

    await page.getByLabel("Status").selectOption("failed");
    await page.waitForURL(/status=failed/);
    await until(async () => (await rowIds(page)).join() === cancelled, 10_000, "only the failed task");
    assert.equal(await badge(page, cancelled).textContent(), "failed");
    // A failed task has its prompt but no video, so no thumbnail: an empty frame keeps the row's shape.
    const failedRow = page.locator(`tr[data-task-id="${cancelled}"]`);
    assert.equal(await failedRow.locator(".task-prompt").textContent(), "to be cancelled");
    assert.equal(await failedRow.locator("img").count(), 0);
    assert.equal(await failedRow.locator(".task-thumb-empty").count(), 1);
    // A reload (or a shared link) keeps the filter.
    await page.reload();
    await page.locator("table.task-table").waitFor();
    assert.equal(await page.getByLabel("Status").inputValue(), "failed");
    assert.deepEqual(await rowIds(page), [cancelled]);

    await page.getByLabel("Status").selectOption("");
    await page.getByLabel("Model").selectOption(SEEDANCE);
    await page.waitForURL(
      (url) => url.searchParams.get("model") === SEEDANCE && !url.searchParams.has("status"),
    );
    await until(async () => (await rowIds(page)).join() === seedance, 10_000, "only the seedance task");

    // Both filters at once: nothing matches, and the page says so.
    await page.getByLabel("Status").selectOption("failed");
    await page.getByText("No tasks match these filters.").waitFor();

    // Paging with two per page walks the API's own order, forward and back.
    // The page size select changes the URL; a link may carry any size the API accepts (1-100).
    await page.goto("/console/tasks");
    await page.locator("table.task-table").waitFor();
    await page.getByLabel("Per page").selectOption("10");
    await page.waitForURL(/limit=10/);
    await page.goto("/console/tasks?limit=2");
    await page.locator("table.task-table").waitFor();
    assert.equal(await page.getByLabel("Per page").inputValue(), "2");
    const all = (await apiList("")).map((t) => t.id);
    assert.ok(all.length >= 5, `expected at least 5 tasks, got ${all.length}`);
    const [first, second, third] = [all.slice(0, 2), all.slice(2, 4), all.slice(4, 6)];
    const next = page.getByRole("button", { name: "Next" });
    const previous = page.getByRole("button", { name: "Previous" });
    const showing = async (want: string[]) =>
      until(async () => (await rowIds(page)).join() === want.join(), 10_000, `rows ${want.join()}`);
    await showing(first);
    assert.equal(await previous.isDisabled(), true);
    await next.click();
    await showing(second);
    assert.match(page.url(), /after=/);
    await next.click();
    await showing(third);
    await page.getByText("Page 3").waitFor();
    await previous.click();
    await showing(second);
    await previous.click();
    await showing(first);
    assert.ok(!page.url().includes("after="));
    assertClean(report);
  });

  test("the detail page shows the request, timings, usage, the playing video; Replay resends a webhook", async () => {
    // This receiver answers 410 first, which makes the delivery "gone" (replayable), then 200.
    const gone = await startReceiver((_req, index, res) => {
      res.statusCode = index === 0 ? 410 : 200;
      res.end(index === 0 ? "gone" : "ok");
    });
    try {
      const id = await submit(HAPPYHORSE, "a paper boat on a stream", { callbackUrl: gone.url });
      const done = await waitForTask(h.gateway, id, { timeoutMs: 90_000 });
      assert.equal(done.status, "succeeded");
      await until(() => gone.received.length === 1, 30_000, "the first webhook");

      const { page, report } = await h.signIn();
      await page.goto("/console/tasks");
      // Keyboard: focus the task's link and open it with Enter.
      await page.getByRole("link", { name: id }).focus();
      await page.keyboard.press("Enter");
      await page.waitForURL(`**/console/tasks/${id}`);
      await page.getByRole("heading", { level: 1, name: `Task ${id}` }).waitFor();
      await page.locator(".page-header .badge", { hasText: "succeeded" }).waitFor();

      const request = page.getByRole("region", { name: "Request" });
      await request.getByText("a paper boat on a stream").waitFor();
      assert.match((await request.textContent()) ?? "", new RegExp(`${HAPPYHORSE.replace(/\./g, "\\.")}`));
      assert.match((await request.textContent()) ?? "", /720p/);
      const timings = (await page.getByRole("region", { name: "Timings" }).textContent()) ?? "";
      assert.match(timings, /Completed/);
      assert.match(timings, /Ran for\d+(\.\d)? s/);
      const cost = await page.locator("[data-cost]").getAttribute("data-cost");
      assert.ok(cost && Number(cost) >= 0, `cost ${cost}`);
      assert.match(
        (await page.getByRole("region", { name: "Usage" }).textContent()) ?? "",
        /Billed seconds3/,
      );

      // The video loads and plays.
      const video = page.locator("video");
      assert.ok(await video.getAttribute("poster"), "the video has a poster");
      await page.waitForFunction(() => (document.querySelector("video")?.readyState ?? 0) >= 2, null, {
        timeout: 20_000,
      });
      const played = await video.evaluate(async (v: HTMLVideoElement) => {
        v.muted = true;
        await v.play();
        const deadline = Date.now() + 10_000;
        while (v.currentTime === 0 && !v.error && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100));
        return { duration: v.duration, time: v.currentTime, paused: v.paused, error: v.error?.message };
      });
      assert.ok(played.duration > 0 && played.time > 0, JSON.stringify(played));
      const download = page.getByRole("link", { name: "Download" });
      assert.equal(await download.getAttribute("href"), await video.getAttribute("src"));

      // The delivery the receiver refused with 410, then Replay.
      const deliveries = page.getByRole("region", { name: "Webhook deliveries" });
      const row = deliveries.locator("tbody tr");
      await row.locator(".badge", { hasText: "gone" }).waitFor();
      assert.match((await row.textContent()) ?? "", /task succeeded/);
      assert.equal(await row.locator("td").nth(2).textContent(), "1");
      assert.equal(await row.locator("td").nth(3).textContent(), "410");
      await deliveries.getByRole("button", { name: /^Replay delivery/ }).click();
      await until(() => gone.received.length === 2, 30_000, "the replayed webhook");
      assert.equal(gone.received[1]?.headers["webhook-id"], gone.received[0]?.headers["webhook-id"]);
      await row.locator(".badge", { hasText: "delivered" }).waitFor({ timeout: 15_000 });
      assert.equal(await row.locator("td").nth(2).textContent(), "2");
      assert.equal(await row.locator("td").nth(3).textContent(), "200");
      // A delivered delivery cannot be replayed: the button says so instead of failing.
      assert.equal(await deliveries.getByRole("button", { name: /^Replay delivery/ }).isDisabled(), true);
      assertClean(report);
    } finally {
      await gone.close();
    }
  });

  test("the detail page follows an unfinished task through its event stream to succeeded", async () => {
    const id = await submit(HAPPYHORSE, "a slow dolly along a hedge");
    const { page, report } = await h.signIn();
    const reads: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith(`/v1/video/generations/${id}`))
        reads.push(new URL(r.url()).pathname);
    });
    await page.goto(`/console/tasks/${id}`);
    const first = await page.locator(".page-header .badge").textContent();
    assert.ok(first === "submitted" || first === "running", `first shown as ${first}`);
    await page.getByRole("progressbar", { name: "Progress" }).waitFor();
    await page.locator(".page-header .badge", { hasText: "succeeded" }).waitFor({ timeout: 90_000 });
    await page.locator("video").waitFor();
    assert.equal(await page.getByRole("progressbar", { name: "Progress" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: "Cancel task" }).count(), 0);
    // Nothing left to do with a finished task: no empty actions panel above its video.
    assert.equal(await page.locator(".task-actions").first().isVisible(), false);
    // One read and one event stream: the changes came as events, not by polling.
    const taskPath = `/v1/video/generations/${id}`;
    assert.equal(reads.filter((p) => p === taskPath).length, 1, reads.join("\n"));
    assert.equal(reads.filter((p) => p === `${taskPath}/events`).length, 1, reads.join("\n"));
    assertClean(report);
  });

  test("Cancel on a queued or running task's page makes it failed (cancelled) in the UI and the API", async () => {
    // Render concurrency is 2: of three long renders at least one waits, and none finishes soon.
    const ids: string[] = [];
    for (const prompt of ["long one", "long two", "long three"]) {
      ids.push(await submit(HAPPYHORSE, prompt, { seconds: "15", resolution: "1080p" }));
    }
    try {
      const target = ids[2] as string;
      const { page, report } = await h.signIn();
      await page.goto(`/console/tasks/${target}`);
      await page.getByRole("heading", { level: 1, name: `Task ${target}` }).waitFor();
      const status = await page.locator(".page-header .badge").textContent();
      assert.ok(status === "submitted" || status === "running", `status ${status}`);
      await page.getByRole("progressbar", { name: "Progress" }).waitFor();

      await page.getByRole("button", { name: "Cancel task" }).click();
      // The confirmation takes focus; "Keep it" backs out without cancelling.
      await page.getByRole("button", { name: "Keep it" }).click();
      assert.notEqual((await apiTask(target)).status, "failed");
      await page.getByRole("button", { name: "Cancel task" }).click();
      const confirm = page.getByRole("button", { name: "Yes, cancel it" });
      assert.equal(await confirm.evaluate((b) => b === document.activeElement), true);
      await page.keyboard.press("Enter");

      await page.locator(".page-header .badge", { hasText: "failed" }).waitFor();
      await page.locator('[data-error-code="cancelled"]').waitFor();
      assert.equal(await page.getByRole("button", { name: "Cancel task" }).count(), 0);
      assert.equal(await page.getByRole("progressbar", { name: "Progress" }).count(), 0);
      const after = await apiTask(target);
      assert.equal(after.status, "failed");
      assert.equal(after.error?.code, "cancelled");
      assertClean(report);
    } finally {
      for (const id of ids) await h.gateway.api(`/v1/video/generations/${id}/cancel`, { method: "POST" });
    }
  });

  test("without the event stream the detail page polls; a cancel the API refuses shows its message", async () => {
    const slow = await submit(HAPPYHORSE, "a cancel that comes too late", {
      seconds: "15",
      resolution: "1080p",
    });
    const quick = await submit(HAPPYHORSE, "followed by polling");
    try {
      const { page, report } = await h.signIn();
      // `slow`'s stream never answers (a stalled proxy): the page learns nothing until it asks again.
      await page.route(`**/v1/video/generations/${slow}/events`, () => {});
      // `quick` has no stream at all: the page falls back to reading the task every 2 s.
      await page.route(`**/v1/video/generations/${quick}/events`, (route) =>
        route.fulfill({
          status: 404,
          contentType: "application/json",
          body: JSON.stringify({
            error: { message: "no events here", type: "not_found_error", code: "not_found", param: null },
          }),
        }),
      );

      await page.goto(`/console/tasks/${slow}`);
      await page.getByRole("button", { name: "Cancel task" }).click();
      // Someone else cancels it first; this page still offers the confirmation.
      const res = await h.gateway.api(`/v1/video/generations/${slow}/cancel`, { method: "POST" });
      assert.equal(res.status, 200);
      await page.getByRole("button", { name: "Yes, cancel it" }).click();
      const refused = page.getByRole("alert").filter({ hasText: "Cancel refused" });
      await refused.waitFor();
      assert.match((await refused.textContent()) ?? "", /cancel/i);
      // The refusal reads the task again: it shows as it now is.
      await page.locator(".page-header .badge", { hasText: "failed" }).waitFor();
      await page.locator('[data-error-code="cancelled"]').waitFor();

      await page.goto(`/console/tasks/${quick}`);
      await page.locator(".page-header .badge", { hasText: "succeeded" }).waitFor({ timeout: 90_000 });
      await page.locator("video").waitFor();
      assert.ok(report.refusedRequests.some((r) => r.includes("404")));
      assertClean(report);
    } finally {
      await h.gateway.api(`/v1/video/generations/${slow}/cancel`, { method: "POST" });
    }
  });

  test("a missing task and another account's task show not found; a phone shows the pages without overflow", async () => {
    const mine = {
      id: await submit(HAPPYHORSE, "only the admin account sees this", { callbackUrl: hooks.url }),
    };
    assert.equal((await waitForTask(h.gateway, mine.id, { timeoutMs: 90_000 })).status, "succeeded");
    const otherKey = await h.gateway.newAccountKey("tasks-other");
    const { page, report } = await h.signIn(otherKey);
    await page.goto("/console/tasks/task_doesnotexist");
    await page.getByRole("alert").filter({ hasText: "Task not found" }).waitFor();
    await page.goto(`/console/tasks/${mine.id}`);
    await page.getByRole("alert").filter({ hasText: "Task not found" }).waitFor();
    assert.equal(await page.locator("video").count(), 0);
    await page.goto("/console/tasks");
    await page.getByText("No tasks yet").waitFor();
    assert.ok(report.refusedRequests.length >= 2, report.refusedRequests.join("\n"));
    assertClean(report);

    const phone = await h.open({ viewport: { width: 375, height: 740 } });
    await phone.page.goto("/console/");
    await phone.page.getByLabel("API key").fill(h.gateway.key);
    await phone.page.getByRole("button", { name: "Sign in" }).click();
    await phone.page.getByRole("navigation", { name: "Main" }).waitFor();
    for (const path of ["/console/tasks", `/console/tasks/${mine.id}`]) {
      await phone.page.goto(path);
      await phone.page.locator(path.endsWith("tasks") ? "table.task-table" : "[data-delivery-id]").waitFor();
      const overflow = await phone.page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      const wide = await phone.page.evaluate(() =>
        [...document.querySelectorAll("body *")]
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
          .slice(0, 8)
          .map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().width)}`),
      );
      assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the screen: ${wide.join(", ")}`);
      if (path === "/console/tasks") {
        // The table is wider than the phone: it scrolls inside its own box.
        const wrap = phone.page.locator(".table-wrap").first();
        assert.ok(await wrap.evaluate((el) => el.scrollWidth > el.clientWidth));
      }
    }
    assertClean(phone.report);
  });

  test("a task its provider cannot stop shows why, and offers no Cancel", async () => {
    // xAI documents no cancel: once submitted there, the task runs to its end.
    const xai = await startXaiDouble();
    try {
      const res = await h.gateway.api("/v1/admin/channels", {
        method: "POST",
        json: {
          provider: "xai",
          base_url: xai.baseUrl,
          api_key: xai.keys[0],
          models: { "grok-imagine-video": "grok-imagine-video" },
        },
      });
      assert.equal(res.status, 200, await res.clone().text());
      const submitted = await h.gateway.api("/v1/video/generations", {
        method: "POST",
        json: {
          model: "grok-imagine-video",
          prompt: "[[queue:0]] [[run:3000]] a lighthouse at night",
          seconds: "2",
          metadata: { resolution: "480p" },
        },
      });
      assert.equal(submitted.status, 200, await submitted.clone().text());
      const { id } = (await submitted.json()) as { id: string };
      await until(
        async () => ((await apiTask(id)) as ApiTask & { cancellable?: boolean }).cancellable === false,
        15_000,
        "the task to be at xAI",
      );
      const { page, report } = await h.signIn();
      await page.goto(`/console/tasks/${id}`);
      const note = page.getByRole("note");
      await note.waitFor();
      assert.match((await note.textContent()) ?? "", /with xAI, which cannot stop it now/);
      assert.equal(await page.getByRole("button", { name: "Cancel task" }).count(), 0);
      const refused = await h.gateway.api(`/v1/video/generations/${id}/cancel`, { method: "POST" });
      assert.equal(refused.status, 409);
      await page.locator(".page-header .badge", { hasText: "succeeded" }).waitFor({ timeout: 60_000 });
      assert.equal(await page.getByRole("note").count(), 0);
      assertClean(report);
    } finally {
      await xai.close();
    }
  });
});
