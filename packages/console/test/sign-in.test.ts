import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertClean, browserSkipReason, type ConsoleHarness, startConsoleHarness } from "./harness.ts";

const skip = browserSkipReason();
const ADMIN_PAGES = ["Keys", "Channels", "Models", "Accounts"];
const PAGES = ["Playground", "Tasks", "Files", "Usage", "Webhooks"];

describe("console: sign in", { skip }, () => {
  let h: ConsoleHarness;
  before(async () => {
    h = await startConsoleHarness();
  });
  after(() => h?.close());

  test("a wrong key is refused with a message; the admin key signs in and sees every page", async () => {
    const { page, report } = await h.open();
    await page.goto("/console/");
    await page.getByLabel("API key").fill(`sk-${"x".repeat(40)}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "not accepted" }).waitFor();
    assert.equal(await page.getByRole("navigation", { name: "Main" }).count(), 0);

    await page.getByLabel("API key").fill(h.gateway.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.waitFor();
    for (const name of [...PAGES, ...ADMIN_PAGES]) {
      assert.equal(await nav.getByRole("link", { name, exact: true }).count(), 1, `link ${name}`);
    }
    // The key stays out of the URL and of localStorage: only this tab's sessionStorage has it.
    assert.ok(!page.url().includes(h.gateway.key));
    assert.equal(await page.evaluate(() => window.localStorage.length), 0);

    // A reload keeps the session; every page renders from its link.
    await page.reload();
    await nav.waitFor();
    for (const name of [...PAGES, ...ADMIN_PAGES]) {
      await nav.getByRole("link", { name, exact: true }).click();
      await page.getByRole("heading", { level: 1, name }).waitFor();
      assert.match(new URL(page.url()).pathname, new RegExp(`^/console/${name.toLowerCase()}$`));
    }
    // Back and forward move between pages.
    await page.goBack();
    await page.getByRole("heading", { level: 1, name: "Models" }).waitFor();

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    assert.equal(await page.evaluate(() => window.sessionStorage.length), 0);
    assert.equal(report.refusedRequests.length, 1, report.refusedRequests.join("\n"));
    assertClean(report);
  });

  test("a non-admin key sees no administration pages, even by URL", async () => {
    const key = await h.gateway.newAccountKey("app-dev");
    const { page, report } = await h.signIn(key);
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const name of PAGES) assert.equal(await nav.getByRole("link", { name, exact: true }).count(), 1);
    for (const name of ADMIN_PAGES)
      assert.equal(await nav.getByRole("link", { name, exact: true }).count(), 0);
    await page.goto("/console/keys");
    await page.getByRole("alert").filter({ hasText: "admin" }).waitFor();
    assertClean(report);
  });

  test("a new tab (another browser context) starts signed out; deep links work after sign in", async () => {
    const { page, report } = await h.open();
    await page.goto("/console/usage");
    await page.getByLabel("API key").fill(h.gateway.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Usage" }).waitFor();
    assertClean(report);
  });

  test("keyboard: the skip link and the nav are reachable with Tab", async () => {
    const { page, report } = await h.signIn();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Playground");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Tasks" }).waitFor();
    assertClean(report);
  });

  test("readable on a phone: nothing is wider than the screen", async () => {
    const { page, report } = await h.open({ viewport: { width: 375, height: 740 } });
    await page.goto("/console/");
    await page.getByLabel("API key").fill(h.gateway.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    for (const path of ["/console/playground", "/console/tasks", "/console/usage", "/console/channels"]) {
      await page.goto(path);
      await page.locator("main h1").waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the screen`);
    }
    assertClean(report);
  });
});
