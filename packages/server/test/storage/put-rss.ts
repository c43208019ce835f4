/**
 * Child process for s3.test.ts: store one big file through S3Storage and report the peak RSS
 * growth over a warmed-up baseline (measured apart from the test process, which hosts s3rver).
 * Usage: node --expose-gc --import tsx put-rss.ts <storage-url> <file>
 *
 * The sampler collects garbage before each sample so the figure is what the upload keeps alive,
 * not how far V8 happened to let dead part buffers pile up (it collects external memory in ~64 MB
 * steps, which made an RSS-only figure swing between 50 and 90 MB on a loaded CI machine).
 */
import { writeFile } from "node:fs/promises";
import { openStorage } from "../../src/storage/open-storage.ts";

const [storageUrl, file] = process.argv.slice(2) as [string, string];
const storage = await openStorage({ storageUrl, dataDir: "/nonexistent" });
// Load the SDK's multipart code and open connections before taking the baseline.
await writeFile(`${file}.warm`, Buffer.alloc(6 * 1024 * 1024, 1));
await storage.putFile("warm-up", `${file}.warm`, "application/octet-stream");
await storage.delete("warm-up");
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error("run with --expose-gc");
collect();
const baseline = process.memoryUsage.rss();
let peak = baseline;
const sampler = setInterval(() => {
  collect();
  peak = Math.max(peak, process.memoryUsage.rss());
}, 25);
const { bytes } = await storage.putFile("videos/task_rss.mp4", file, "video/mp4");
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage.rss());
console.log(JSON.stringify({ bytes, growthMb: Math.round((peak - baseline) / 1024 / 1024) }));
