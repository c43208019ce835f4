import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { uploadFile, waitForTask } from "../../server/test/helpers/server.ts";
import { assertClean, browserSkipReason, type ConsoleHarness, startConsoleHarness } from "./harness.ts";

const skip = browserSkipReason();
const SAMPLE = "/work/shared/samples/landscape-600x450.jpg";
const DAY_MS = 86_400_000;

interface UsageRow {
  date?: string;
  model?: string;
  tasks: number;
  seconds: number;
  cost_micros: number;
}

async function json<T>(res: Response): Promise<T> {
  assert.ok(res.ok, `${res.url}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

async function assertNoHorizontalOverflow(page: Page, what: string): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${what} is ${overflow}px wider than the screen`);
}

describe("console: files, usage, webhooks", { skip }, () => {
  let h: ConsoleHarness;
  before(async () => {
    // Local renders are free by default; billing them gives the usage chart real costs.
    h = await startConsoleHarness({ localRendersBilled: true });
  });
  after(() => h?.close());

  test("Files: empty state, upload through the page, listed by the API, Delete with confirmation", async () => {
    const key = await h.gateway.newAccountKey("files-user");
    const auth = { authorization: `Bearer ${key}` };
    const { page, report } = await h.signIn(key);
    await page.goto("/console/files");
    await page.getByRole("heading", { level: 1, name: "Files" }).waitFor();
    await page.getByText("No files yet").waitFor();

    await page.getByLabel("Upload file").setInputFiles(SAMPLE);
    await page.getByRole("status").filter({ hasText: "Uploaded landscape-600x450.jpg" }).waitFor();
    const listed = await json<{
      data: { id: string; filename: string; bytes: number; content_type: string }[];
    }>(await h.gateway.api("/v1/files", { headers: auth }));
    assert.equal(listed.data.length, 1);
    const file = listed.data[0]!;
    assert.equal(file.filename, "landscape-600x450.jpg");
    assert.equal(file.bytes, statSync(SAMPLE).size);

    const row = page.locator(`tr[data-file-id="${file.id}"]`);
    await row.waitFor();
    assert.equal(await row.locator('td[data-col="size"]').getAttribute("data-bytes"), String(file.bytes));
    assert.equal(await row.locator('td[data-col="type"]').textContent(), "image/jpeg");
    assert.equal(await row.locator('td[data-col="dimensions"]').textContent(), "600 × 450");
    assert.equal(await page.getByText("No files yet").count(), 0);

    await row.getByRole("button", { name: "Copy id of landscape-600x450.jpg" }).click();
    await page.getByRole("status").filter({ hasText: "Copied the id" }).waitFor();

    // Delete asks first; focus lands on Cancel, and Cancel keeps the file.
    await row.getByRole("button", { name: "Delete landscape-600x450.jpg" }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Cancel");
    await page.keyboard.press("Enter");
    assert.equal(await row.getByRole("button", { name: "Confirm delete" }).count(), 0);
    assert.equal((await h.gateway.api(`/v1/files/${file.id}`, { headers: auth })).status, 200);

    await row.getByRole("button", { name: "Delete landscape-600x450.jpg" }).click();
    await row.getByRole("button", { name: "Confirm delete" }).click();
    await row.waitFor({ state: "detached" });
    await page.getByText("No files yet").waitFor();
    assert.equal((await h.gateway.api(`/v1/files/${file.id}`, { headers: auth })).status, 404);
    assertClean(report);
  });

  test("Files: cursor paging walks the API's pages forward and back", async () => {
    const key = await h.gateway.newAccountKey("paging-user");
    const auth = { authorization: `Bearer ${key}` };
    for (let i = 0; i < 21; i++) {
      const res = await uploadFile(h.gateway, "/work/shared/samples/grey-400x267.jpg", {
        key,
        filename: `grey-${i}.jpg`,
      });
      assert.equal(res.status, 200, await res.text());
    }
    const first = await json<{ data: { id: string }[]; next_cursor: string }>(
      await h.gateway.api("/v1/files?limit=20", { headers: auth }),
    );
    const second = await json<{ data: { id: string }[] }>(
      await h.gateway.api(`/v1/files?limit=20&after=${encodeURIComponent(first.next_cursor)}`, {
        headers: auth,
      }),
    );
    assert.equal(second.data.length, 1);

    const { page, report } = await h.signIn(key);
    await page.goto("/console/files");
    const pager = page.getByRole("navigation", { name: "Pages of files" });
    const rowIds = () =>
      page.locator("tr[data-file-id]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-file-id")));
    await page.locator("tr[data-file-id]").first().waitFor();
    assert.deepEqual(
      await rowIds(),
      first.data.map((f) => f.id),
    );
    assert.equal(await pager.getByRole("button", { name: "Previous" }).isDisabled(), true);

    await pager.getByRole("button", { name: "Next" }).click();
    await pager.getByText("Page 2").waitFor();
    await page.locator("tr[data-file-id]").nth(1).waitFor({ state: "detached" });
    assert.deepEqual(
      await rowIds(),
      second.data.map((f) => f.id),
    );
    assert.equal(await pager.getByRole("button", { name: "Next" }).isDisabled(), true);

    await pager.getByRole("button", { name: "Previous" }).click();
    await page.locator("tr[data-file-id]").nth(19).waitFor();
    assert.deepEqual(
      await rowIds(),
      first.data.map((f) => f.id),
    );
    assertClean(report);
  });

  test("Usage: the chart, totals and balance match GET /v1/usage and GET /v1/balance", async () => {
    const submit = async (model: string, seconds: string) => {
      const res = await h.gateway.api("/v1/video/generations", {
        method: "POST",
        json: { model, prompt: "a lighthouse at dusk", seconds, metadata: { resolution: "480p" } },
      });
      return (await json<{ task_id: string }>(res)).task_id;
    };
    const ids = [
      await submit("seedance-1-5-pro-no-audio", "4"),
      await submit("seedance-1-5-pro-no-audio", "5"),
      await submit("seedance-1-5-pro-with-audio", "4"),
    ];
    for (const id of ids) {
      const task = await waitForTask(h.gateway, id, { timeoutMs: 120_000 });
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    }

    const { page, report } = await h.signIn();
    await page.goto("/console/usage");
    await page.getByRole("heading", { level: 1, name: "Usage" }).waitFor();
    const chart = page.getByRole("img", { name: /per day and model/ });
    await chart.waitFor();

    // The page's default range: the last 7 UTC days, today included.
    const today = Math.floor(Date.now() / DAY_MS);
    const day = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);
    const usage = await json<{ data: UsageRow[]; totals: UsageRow & { cost: string } }>(
      await h.gateway.api(`/v1/usage?group_by=day,model&start_date=${day(today - 6)}&end_date=${day(today)}`),
    );
    const models = [...new Set(usage.data.map((r) => r.model))].sort();
    assert.deepEqual(models, ["seedance-1-5-pro-no-audio", "seedance-1-5-pro-with-audio"]);
    assert.equal(usage.totals.tasks, 3);
    assert.ok(usage.totals.cost_micros > 0, "billed local renders cost something");

    // One bar segment per day × model with a cost, each of the API's value.
    const bars = chart.locator("rect.chart-bar");
    const segments = await bars.evaluateAll((rects) =>
      rects.map((r) => [
        r.getAttribute("data-category"),
        r.getAttribute("data-series"),
        r.getAttribute("data-value"),
      ]),
    );
    const expected = usage.data
      .filter((r) => r.cost_micros > 0)
      .map((r) => [r.date, r.model, String(r.cost_micros / 1_000_000)]);
    assert.deepEqual(segments.sort(), expected.sort());
    const summary = (await chart.getAttribute("aria-label")) ?? "";
    for (const m of models) assert.ok(summary.includes(m!), `summary names ${m}: ${summary}`);
    const legend = page.getByRole("list", { name: "Models" });
    assert.deepEqual(await legend.getByRole("listitem").allTextContents(), models);

    // Totals per model and overall.
    const totals = page.getByRole("table", { name: "Totals per model" });
    for (const m of models) {
      const rows = usage.data.filter((r) => r.model === m);
      const row = totals.locator(`tr[data-model="${m}"]`);
      assert.equal(
        await row.locator('td[data-col="tasks"]').textContent(),
        String(rows.reduce((s, r) => s + r.tasks, 0)),
      );
      assert.equal(
        await row.locator('td[data-col="cost"]').getAttribute("data-micros"),
        String(rows.reduce((s, r) => s + r.cost_micros, 0)),
      );
    }
    const all = totals.locator('tr[data-model="all"]');
    assert.equal(await all.locator('td[data-col="tasks"]').textContent(), String(usage.totals.tasks));
    assert.equal(
      await all.locator('td[data-col="seconds"]').getAttribute("data-value"),
      String(usage.totals.seconds),
    );
    assert.equal(
      await all.locator('td[data-col="cost"]').getAttribute("data-micros"),
      String(usage.totals.cost_micros),
    );
    assert.match((await all.locator('td[data-col="cost"]').textContent()) ?? "", /USD$/);

    const balance = await json<{ balance: string }>(await h.gateway.api("/v1/balance"));
    const shown = await page.locator('dd[data-balance="balance"]').textContent();
    assert.equal(
      shown,
      `${await page.evaluate((b) => Number(b).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 6 }), balance.balance)} USD`,
    );

    // The chart can show task counts instead; the 30-day range asks the API for 30 days.
    await page.getByLabel("Chart").selectOption("tasks");
    await chart.and(page.getByRole("img", { name: /^Tasks per day/ })).waitFor();
    const taskCounts = await bars.evaluateAll((rects) =>
      rects.map((r) => Number(r.getAttribute("data-value"))),
    );
    assert.equal(
      taskCounts.reduce((a, b) => a + b, 0),
      3,
    );
    await page.getByLabel("Range").selectOption("30");
    await page.getByRole("img", { name: new RegExp(`${day(today - 29)} to ${day(today)}`) }).waitFor();
    assert.equal(await chart.locator("g[data-category]").count(), 30);
    assertClean(report);
  });

  test("Webhooks: the secret is hidden until Reveal; Rotate with a grace period shows the previous one's expiry", async () => {
    const key = await h.gateway.newAccountKey("webhooks-user");
    const auth = { authorization: `Bearer ${key}` };
    const { page, report } = await h.signIn(key);
    await page.goto("/console/webhooks");
    await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
    const secretEl = page.locator("#webhook-secret");
    await secretEl.waitFor();
    const before = await json<{ secret: string }>(
      await h.gateway.api("/v1/webhook-secret", { headers: auth }),
    );
    assert.match(before.secret, /^whsec_/);
    const mainText = (await page.locator("main").textContent()) ?? "";
    assert.ok(!mainText.includes(before.secret.slice(6)), "the secret is not on the page before Reveal");

    await page.getByRole("button", { name: "Reveal" }).click();
    assert.equal(await secretEl.textContent(), before.secret);
    assert.equal(await page.getByRole("button", { name: "Hide" }).getAttribute("aria-pressed"), "true");
    await page.getByText("verifyWebhook(req.body, req.headers").waitFor();

    // Rotate by keyboard: the confirmation takes focus on the grace period.
    await page.getByRole("button", { name: "Rotate", exact: true }).focus();
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "rotate-grace");
    await page.getByLabel("Grace period for the previous secret").selectOption("3600");
    const rotatedAt = Math.floor(Date.now() / 1000);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Rotate secret");
    await page.keyboard.press("Enter");
    await page.getByRole("status").filter({ hasText: "Secret rotated" }).waitFor();

    const now = await json<{ secret: string; previous_secret_expires_at: number | null }>(
      await h.gateway.api("/v1/webhook-secret", { headers: auth }),
    );
    assert.notEqual(now.secret, before.secret);
    assert.equal(await secretEl.textContent(), now.secret);
    assert.ok(now.previous_secret_expires_at, "the previous secret has a grace period");
    assert.ok(Math.abs(now.previous_secret_expires_at - (rotatedAt + 3600)) <= 5);
    const expiry = page.locator("#previous-secret-expiry");
    assert.equal(await expiry.getAttribute("data-expires-at"), String(now.previous_secret_expires_at));
    assert.match((await expiry.textContent()) ?? "", /Still signs deliveries until/);

    // A reload shows the same state from GET /v1/webhook-secret, hidden again.
    await page.reload();
    await page.locator("#previous-secret-expiry").filter({ hasText: "Still signs" }).waitFor();
    assert.notEqual(await secretEl.textContent(), now.secret);
    assertClean(report);
  });

  test("readable on a phone: the three pages are no wider than 375 px", async () => {
    const { page, report } = await h.open({ viewport: { width: 375, height: 740 } });
    await page.goto("/console/");
    await page.getByLabel("API key").fill(h.gateway.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    await page.goto("/console/files");
    await page.getByLabel("Upload file").setInputFiles(SAMPLE);
    await page.locator("tr[data-file-id]").first().waitFor();
    await assertNoHorizontalOverflow(page, "/console/files");
    await page.goto("/console/usage");
    await page.getByRole("img", { name: /per day and model/ }).waitFor();
    await assertNoHorizontalOverflow(page, "/console/usage");
    await page.goto("/console/webhooks");
    await page.getByRole("button", { name: "Reveal" }).click();
    await page.getByRole("button", { name: "Rotate", exact: true }).click();
    await page.getByLabel("Grace period for the previous secret").waitFor();
    await assertNoHorizontalOverflow(page, "/console/webhooks");
    assertClean(report);
  });
});
