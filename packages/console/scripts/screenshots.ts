/**
 * Screenshots of the console's main pages for the README and docs/: a real gateway with a few
 * finished local renders, Chromium at 1280x800. `node --import tsx scripts/screenshots.ts`.
 */
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startTestServer } from "../../server/test/helpers/server.ts";
import { buildConsole, chromiumPath } from "../test/harness.ts";

const OUT = join(import.meta.dirname, "..", "..", "..", "docs", "console");

buildConsole();
const gateway = await startTestServer({ logLevel: "silent" });
const browser = await chromium.launch({
  executablePath: chromiumPath(),
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
try {
  const ids: string[] = [];
  for (const [model, prompt, resolution] of [
    ["seedance-1-5-pro-no-audio", "a slow push-in over a quiet harbour at dawn", "480p"],
    ["happyhorse-1.0-t2v", "title card: spring collection", "720p"],
  ] as const) {
    const res = await gateway.api("/v1/video/generations", {
      method: "POST",
      json: { model, prompt, seconds: "5", metadata: { resolution } },
    });
    const body = (await res.json()) as { id?: string };
    if (!body.id) throw new Error(`submit failed (${res.status}): ${JSON.stringify(body)}`);
    ids.push(body.id);
  }
  for (const id of ids) {
    for (const started = Date.now(); ; ) {
      if (Date.now() - started > 120_000) throw new Error(`task ${id} did not finish in 2 minutes`);
      const task = (await (await gateway.api(`/v1/video/generations/${id}`)).json()) as { status: string };
      if (task.status === "succeeded" || task.status === "failed") break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  await context.addInitScript(
    `sessionStorage.setItem("vidrelay.console.apiKey", ${JSON.stringify(gateway.key)});`,
  );
  const page = await context.newPage();
  const shots: [string, string][] = [
    ["playground", "/console/playground"],
    ["tasks", "/console/tasks"],
    ["task", `/console/tasks/${ids[0]}`],
    ["usage", "/console/usage"],
    ["channels", "/console/channels"],
    ["models", "/console/models"],
  ];
  for (const [name, path] of shots) {
    await page.goto(`${gateway.url}${path}`);
    await page.locator("main h1").first().waitFor();
    await page.waitForLoadState("networkidle");
    // Local renders are free, so the cost chart of this demo is flat: show seconds rendered instead.
    if (name === "usage") await page.getByLabel("Chart").selectOption("seconds");
    await page.screenshot({ path: join(OUT, `${name}.png`) });
    console.log(`docs/console/${name}.png`);
  }
  const signIn = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  const signInPage = await signIn.newPage();
  await signInPage.goto(`${gateway.url}/console/`);
  await signInPage.getByLabel("API key").waitFor();
  await signInPage.screenshot({ path: join(OUT, "sign-in.png") });
} finally {
  await browser.close();
  await gateway.stop();
}
process.exit(0);
