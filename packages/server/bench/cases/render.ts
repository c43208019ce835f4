/**
 * Case 4: the render section. bench/render.ts belongs to the render engine and writes its own
 * markdown; this loads it if it is there and turns any failure into a note, so a broken render
 * bench does not lose the rest of the run.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BENCH_DIR } from "../lib/children.ts";
import { log } from "../lib/settings.ts";

export async function renderSection(): Promise<string> {
  const path = join(BENCH_DIR, "render.ts");
  if (!existsSync(path))
    return "_Skipped: `bench/render.ts` does not exist yet (it is the render engine's)._";
  try {
    const mod = (await import(pathToFileURL(path).href)) as { benchRender?: (options?: unknown) => unknown };
    if (typeof mod.benchRender !== "function") {
      return "_Skipped: `bench/render.ts` has no `benchRender()` export yet._";
    }
    const out = await mod.benchRender();
    const markdown = typeof out === "string" ? out : (out as { markdown?: unknown } | undefined)?.markdown;
    if (typeof markdown !== "string") return "_Skipped: `benchRender()` returned no markdown._";
    return markdown.trim();
  } catch (error) {
    log(`render: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return `_Failed: \`benchRender()\` threw: ${error instanceof Error ? error.message : String(error)}_`;
  }
}
