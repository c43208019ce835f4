/**
 * The gateway's `/docs` API reference in Chromium: it renders our document, every request it makes
 * stays on the gateway's origin (so it works offline), and it shows none of the reference tool's
 * hosted features.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertClean, browserSkipReason, type ConsoleHarness, startConsoleHarness } from "./harness.ts";

const skip = browserSkipReason();

describe("/docs: the API reference", { skip }, () => {
  let h: ConsoleHarness;
  before(async () => {
    h = await startConsoleHarness();
  });
  after(() => h?.close());

  test("renders offline from the gateway alone, with no vendor buttons", async () => {
    const { page, report } = await h.open();
    const origin = new URL(h.gateway.url).origin;
    const elsewhere: string[] = [];
    // Anything not on the gateway's origin is recorded and refused, as it would be offline.
    await page.route("**/*", (request) => {
      const url = new URL(request.request().url());
      if (url.origin === origin || url.protocol === "data:" || url.protocol === "blob:")
        return request.continue();
      elsewhere.push(url.href);
      return request.abort();
    });
    await page.goto("/docs");
    // Our document: its title, and the groups of our routes (admin and billing included).
    await page.getByText("vidrelay — RelayDance v1 API").first().waitFor({ timeout: 30_000 });
    for (const group of ["Administration", "Billing", "Channels", "Tasks", "Webhooks"]) {
      await page.getByText(group, { exact: true }).first().waitFor();
    }
    await page.waitForLoadState("networkidle");
    assert.deepEqual(elsewhere, [], "requests outside the gateway");
    const body = (await page.locator("body").innerText()).replace(/\s+/g, " ");
    for (const vendorFeature of ["Ask AI", "Generate MCP", "Connect MCP", "Deploy", "Developer Tools"]) {
      assert.ok(!body.includes(vendorFeature), `"${vendorFeature}" is not on the page`);
    }
    assertClean(report);
  });
});
