import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * The relay's floor: the same videos copied with plain `fetch` + `pipeline` into files,
 * `parallel` at a time, as fast as this machine does it with nothing else in the way. Returns ms.
 */
export async function copyFloorMs(urls: string[], parallel = 32): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "vidrelay-bench-floor-"));
  try {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < urls.length) {
          const i = next++;
          const res = await fetch(urls[i]!);
          await pipeline(Readable.fromWeb(res.body as never), createWriteStream(join(dir, `${i}.mp4`)));
        }
      }),
    );
    return performance.now() - started;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
