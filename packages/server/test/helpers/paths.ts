import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The shared sample media: `shared/samples` beside the repository. Found by walking up, not by a
 * fixed number of `..`: a copy of the tests one level deeper (Stryker's sandbox under
 * packages/server/.stryker-tmp-*) must find the same folder.
 */
function findSamples(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "shared", "samples");
    if (existsSync(candidate)) return `${candidate}/`;
    if (dirname(dir) === dir) throw new Error(`no shared/samples above ${from}`);
  }
}

export const SAMPLES = findSamples(fileURLToPath(new URL(".", import.meta.url)));
export const sample = (name: string) => `${SAMPLES}${name}`;
export const SERVER_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../bin/vidrelay.js", import.meta.url));
