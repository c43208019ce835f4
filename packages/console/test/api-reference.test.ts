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

  test("opens on submitting and polling a task, not on media downloads", async () => {
    const { page, report } = await h.open();
    await page.goto("/docs");
    await page.getByText("Start here. Submit a task", { exact: false }).first().waitFor({ timeout: 30_000 });
    const sidebarText = await page.locator("nav, aside, [class*=sidebar]").first().innerText();
    const sidebar = sidebarText
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
    const at = (line: string) => {
      const index = sidebar.indexOf(line);
      assert.ok(index >= 0, `"${line}" is in the sidebar:\n${sidebar.join(" | ")}`);
      return index;
    };
    // The first section, open, is Tasks: submit, then the poll; media downloads come much later.
    assert.equal(sidebar[at("Introduction") + 1], "Tasks", sidebar.join(" | "));
    const sections = ["Tasks", "Files", "Models", "OpenAI-compatible", "Webhooks", "Media"].map(at);
    assert.deepEqual(
      sections,
      [...sections].sort((a, b) => a - b),
      sidebar.join(" | "),
    );
    const submit = at("Submit a video generation task");
    const poll = at("Get a task");
    assert.ok(sections[0]! < submit && submit < poll && poll < sections[1]!, sidebar.join(" | "));
    // The content too: the Tasks introduction comes before any media download route.
    const body = await page.locator("body").innerText();
    const intro = body.indexOf("Start here. Submit a task");
    const media = body.indexOf("/files/{name}");
    assert.ok(intro >= 0 && media > intro, `intro at ${intro}, media at ${media}`);
    assertClean(report);
  });
});
