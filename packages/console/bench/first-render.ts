/**
 * The console's weight and first render, beside a floor measured in the same run:
 * - initial JS and CSS as the gateway sends them (gzip), against the 200 KB budget;
 * - first render on loopback in Chromium: navigation start → the sign-in form's "API key" field in
 *   the DOM, and (signed in) → the Tasks table; the floor is a bare node:http server sending a page
 *   whose module script adds one <input> (the least any script-rendered page can do).
 * Times are read inside the page (a MutationObserver installed before any script runs), so the
 * DevTools protocol's round trips are not in them. `node --import tsx bench/first-render.ts`.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { startTestServer } from "../../server/test/helpers/server.ts";
import { buildConsole, chromiumPath } from "../test/harness.ts";

const RUNS = Number(process.env.BENCH_CONSOLE_RUNS ?? 15);
const BUDGET_KB = 200;
const DIST = join(import.meta.dirname, "..", "dist");

/** Initial assets: what index.html loads before anything renders (entry script, preloads, CSS). */
function initialAssets(): { file: string; raw: number; gzip: number }[] {
  const html = readFileSync(join(DIST, "index.html"), "utf8");
  const refs = [...html.matchAll(/(?:src|href)="\/console\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
  return [...new Set(refs)].map((file) => {
    const body = readFileSync(join(DIST, file));
    return { file, raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
  });
}

/** Records when an element matching `selector` first exists, in page time (ms since navigation start). */
const observe = (selector: string) => `
  window.__seenAt = undefined;
  new MutationObserver((_, observer) => {
    if (window.__seenAt === undefined && document.querySelector(${JSON.stringify(selector)})) {
      window.__seenAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchConsole(): Promise<string> {
  buildConsole();
  const assets = initialAssets();
  const gzipKB = assets.reduce((sum, a) => sum + a.gzip, 0) / 1024;

  const floorPage = `<!doctype html><meta charset="utf-8"><title>floor</title><div id="root"></div>
<script type="module">const i = document.createElement("input"); i.id = "api-key"; document.getElementById("root").append(i);</script>`;
  const floor = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(floorPage);
  });
  await new Promise<void>((resolve) => floor.listen(0, "127.0.0.1", resolve));
  const floorUrl = `http://127.0.0.1:${(floor.address() as AddressInfo).port}/`;

  const gateway = await startTestServer({ logLevel: "silent" });
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  // Two tasks so the signed-in Tasks page has rows to render.
  for (let i = 0; i < 2; i++) {
    await gateway.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "seedance-1-5-pro-no-audio",
        prompt: "bench",
        seconds: "5",
        metadata: { resolution: "480p" },
      },
    });
  }

  const timeTo = async (url: string, selector: string, key?: string): Promise<number> => {
    const context = await browser.newContext();
    if (key)
      await context.addInitScript(
        `sessionStorage.setItem("vidrelay.console.apiKey", ${JSON.stringify(key)});`,
      );
    await context.addInitScript(observe(selector));
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { __seenAt?: number }).__seenAt !== undefined);
    const at = await page.evaluate(() => (window as unknown as { __seenAt: number }).__seenAt);
    await context.close();
    return at;
  };

  const floorMs: number[] = [];
  const signInMs: number[] = [];
  const tasksMs: number[] = [];
  try {
    // One warm-up each (Chromium's first navigation pays for its own start-up).
    await timeTo(floorUrl, "#api-key");
    await timeTo(`${gateway.url}/console/`, "#api-key");
    for (let i = 0; i < RUNS; i++) {
      floorMs.push(await timeTo(floorUrl, "#api-key"));
      signInMs.push(await timeTo(`${gateway.url}/console/`, "#api-key"));
      tasksMs.push(await timeTo(`${gateway.url}/console/tasks`, "main table tbody tr", gateway.key));
    }
  } finally {
    await browser.close();
    await gateway.stop();
    floor.close();
  }
  const f = median(floorMs);
  const s = median(signInMs);
  const t = median(tasksMs);
  return [
    "## 6. Web console",
    "",
    `Built by \`npm run build -w @vidrelay/console\` (Vite); served by the gateway at \`/console\`. Chromium ${browser.version()} headless on loopback, fresh context per load, median of ${RUNS}.`,
    "",
    "| measure | value |",
    "|---|---|",
    ...assets.map(
      (a) =>
        `| initial \`${a.file}\` | ${(a.raw / 1024).toFixed(1)} KB, ${(a.gzip / 1024).toFixed(1)} KB gzip |`,
    ),
    `| initial JS + CSS, gzip | **${gzipKB.toFixed(1)} KB** (budget ≤ ${BUDGET_KB} KB: ${gzipKB <= BUDGET_KB ? "met" : "missed"}) |`,
    `| floor: bare node:http page whose module script adds one input → input in the DOM | ${f.toFixed(1)} ms |`,
    `| console: navigation → sign-in form ("API key" field) in the DOM | ${s.toFixed(1)} ms (${(s / f).toFixed(2)}× the floor) |`,
    `| console signed in: navigation → Tasks table rows in the DOM (\`/v1/me\` + \`/v1/video/generations\`) | ${t.toFixed(1)} ms (${(t / f).toFixed(2)}× the floor) |`,
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchConsole());
  process.exit(0);
}
