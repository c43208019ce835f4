import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { request } from "node:http";
import { basename } from "node:path";
import { type Child, cpuSeconds, memory, resetPeak } from "./children.ts";

export interface UploadFile {
  path: string;
  contentType: string;
}

export interface UploadRun {
  ms: number;
  /** Bytes of the multipart request body (the file plus a few hundred bytes of framing). */
  requestBytes: number;
  status: number;
  body: string;
}

/**
 * POST `file` as multipart/form-data (a `purpose` field, then the file in the field `file`), streamed
 * from disk with a Content-Length: the load generator never holds the file in memory.
 */
export async function uploadOnce(
  url: string,
  file: UploadFile,
  headers: Record<string, string>,
): Promise<UploadRun> {
  const boundary = `----vidrelay-bench-${randomBytes(12).toString("hex")}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nvideo_reference\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${basename(file.path)}"\r\n` +
      `Content-Type: ${file.contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const { size } = await stat(file.path);
  const requestBytes = head.length + size + tail.length;
  const started = process.hrtime.bigint();
  const req = request(url, {
    method: "POST",
    headers: {
      ...headers,
      "content-type": `multipart/form-data; boundary=${boundary}`,
      "content-length": String(requestBytes),
    },
    agent: false,
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once("error", reject);
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.once("error", reject);
    });
  });
  // A refusal may answer (and close) before the whole body is sent: stop writing then.
  let answered = false;
  response.then(
    () => {
      answered = true;
    },
    () => {
      answered = true;
    },
  );
  req.write(head);
  for await (const chunk of createReadStream(file.path, { highWaterMark: 256 * 1024 })) {
    if (answered || req.destroyed) break;
    if (!req.write(chunk)) await Promise.race([once(req, "drain"), response.catch(() => undefined)]);
  }
  req.end(tail);
  const { status, body } = await response;
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, requestBytes, status, body };
}

export interface UploadSeries {
  runs: number;
  fileBytes: number;
  /** Median time of one upload, request start to response end. */
  medianMs: number;
  /** File bytes / median time, in MiB/s. */
  mibPerSecond: number;
  /** RSS of the server just before the series (after warm-up), bytes. */
  rssBefore: number;
  /** Largest (peak RSS during an upload − RSS just before it), bytes. */
  peakGrowth: number;
  /** CPU time of the server process (all threads) per upload, ms. */
  cpuMsPerUpload: number;
  /** "VmHWM" when the peak is the kernel's exact high-water mark, else "sampled every 5 ms". */
  peakSource: string;
  failed: number;
}

/**
 * `warmup` uploads (not measured), then `runs` uploads one after the other. Before each measured one the
 * server's peak RSS is reset, so its VmHWM afterwards is the peak during that upload; a 5 ms sampler of
 * VmRSS runs too, as a fallback where the reset is not allowed.
 */
export async function uploadSeries(
  target: Child,
  file: UploadFile,
  headers: Record<string, string>,
  options: { runs: number; warmup: number; check: (run: UploadRun) => void },
): Promise<UploadSeries> {
  const url = `${target.url}/v1/files`;
  for (let i = 0; i < options.warmup; i++) options.check(await uploadOnce(url, file, headers));
  const { size } = await stat(file.path);
  const times: number[] = [];
  let peakGrowth = 0;
  let exact = true;
  let failed = 0;
  let rssBefore = 0;
  const cpuBefore = cpuSeconds(target.pid);
  for (let i = 0; i < options.runs; i++) {
    // Let the previous upload's garbage and deferred work settle.
    await new Promise((r) => setTimeout(r, 200));
    exact = resetPeak(target.pid) && exact;
    const before = memory(target.pid).rss;
    if (i === 0) rssBefore = before;
    let sampled = before;
    const sampler = setInterval(() => {
      sampled = Math.max(sampled, memory(target.pid).rss);
    }, 5);
    try {
      const run = await uploadOnce(url, file, headers);
      try {
        options.check(run);
      } catch (error) {
        failed++;
        throw error;
      }
      times.push(run.ms);
    } finally {
      clearInterval(sampler);
    }
    const after = memory(target.pid);
    const peak = exact ? Math.max(after.hwm, sampled) : Math.max(sampled, after.rss);
    peakGrowth = Math.max(peakGrowth, peak - before);
  }
  const cpuMsPerUpload = ((cpuSeconds(target.pid) - cpuBefore) * 1000) / options.runs;
  const sorted = [...times].sort((a, b) => a - b);
  const medianMs = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return {
    runs: options.runs,
    fileBytes: size,
    medianMs,
    mibPerSecond: size / 2 ** 20 / (medianMs / 1000),
    rssBefore,
    peakGrowth,
    cpuMsPerUpload,
    peakSource: exact ? "VmHWM" : "VmRSS sampled every 5 ms",
    failed,
  };
}
