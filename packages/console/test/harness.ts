/**
 * Drives the real console in Debian's Chromium (playwright-core, no downloaded browser) against a
 * real gateway on loopback. Each test gets a fresh browser context (its own sessionStorage), and
 * every page records uncaught errors and console errors so a flow can assert there were none.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { ADMIN_KEY, startTestServer, type TestServer } from "../../server/test/helpers/server.ts";

export { ADMIN_KEY };

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Chromium from Debian (`apt-get install chromium`), or CHROMIUM_PATH. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  return candidates.find((p): p is string => Boolean(p && existsSync(p)));
}

/**
 * Why browser tests cannot run here, or undefined when they can. CI (VIDRELAY_REQUIRE_BROWSER=1)
 * turns a missing browser into a failure instead of a skip.
 */
export function browserSkipReason(): string | undefined {
  if (chromiumPath()) return undefined;
  const why = "Chromium is not installed (apt-get install -y chromium, or set CHROMIUM_PATH)";
  if (process.env.VIDRELAY_REQUIRE_BROWSER === "1") throw new Error(why);
  return why;
}

let built = false;
/** Build the console once per process (only when its sources changed since the last build). */
export function buildConsole(): void {
  if (built) return;
  const result = spawnSync(process.execPath, [join(root, "scripts", "ensure-built.mjs")], {
    stdio: "inherit",
  });
  if (result.status !== 0) throw new Error("building the console failed");
  built = true;
}

/** What a page reported: uncaught exceptions and console errors (network 4xx logs listed apart). */
export interface PageReport {
  pageErrors: string[];
  consoleErrors: string[];
  /** Chromium logs "Failed to load resource: … 4xx" for every refused request; expected in error flows. */
  refusedRequests: string[];
}

export interface ConsoleHarness {
  gateway: TestServer;
  browser: Browser;
  /** A new context and page; `report` collects its errors. */
  open(options?: { viewport?: { width: number; height: number } }): Promise<{
    context: BrowserContext;
    page: Page;
    report: PageReport;
  }>;
  /** Open /console and sign in with `key` (default: the admin key); returns once the nav shows. */
  signIn(key?: string): Promise<{ context: BrowserContext; page: Page; report: PageReport }>;
  close(): Promise<void>;
}

export async function startConsoleHarness(
  overrides: Parameters<typeof startTestServer>[0] = {},
): Promise<ConsoleHarness> {
  buildConsole();
  const gateway = await startTestServer(overrides);
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Root in CI containers cannot use Chromium's sandbox; the pages are our own, on loopback.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  const contexts: BrowserContext[] = [];
  const open: ConsoleHarness["open"] = async (options = {}) => {
    const context = await browser.newContext({
      baseURL: gateway.url,
      viewport: options.viewport ?? { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    contexts.push(context);
    const page = await context.newPage();
    const report: PageReport = { pageErrors: [], consoleErrors: [], refusedRequests: [] };
    page.on("pageerror", (error) => report.pageErrors.push(String(error?.stack ?? error)));
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const text = message.text();
      if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) {
        report.refusedRequests.push(`${text} ${message.location().url ?? ""}`);
      } else report.consoleErrors.push(text);
    });
    return { context, page, report };
  };
  return {
    gateway,
    browser,
    open,
    async signIn(key = ADMIN_KEY) {
      const opened = await open();
      await opened.page.goto("/console/");
      await opened.page.getByLabel("API key").fill(key);
      await opened.page.getByRole("button", { name: "Sign in" }).click();
      await opened.page.getByRole("navigation", { name: "Main" }).waitFor();
      return opened;
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await gateway.stop();
    },
  };
}

/** Fail with everything the page reported when it logged an error or threw. */
export function assertClean(report: PageReport): void {
  const problems = [...report.pageErrors.map((e) => `page error: ${e}`), ...report.consoleErrors];
  if (problems.length) throw new Error(`the console reported errors:\n${problems.join("\n")}`);
}
