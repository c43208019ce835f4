/**
 * Case 3: `POST /v1/files` uploads (a ≈1 MB JPEG, and in a full run a ≈200 MB MP4) against the
 * gateway and a bare node:http server that streams the body to a file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { BaselineChildConfig } from "../baseline-child.ts";
import { type Child, startChild } from "../lib/children.ts";
import { jpegFixture, mp4Fixture } from "../lib/fixtures.ts";
import { AUTH, JPEG_RUNS, KEY, log, MP4_RUNS, QUICK } from "../lib/settings.ts";
import { type UploadFile, type UploadRun, type UploadSeries, uploadSeries } from "../lib/upload.ts";
import type { GatewayChildConfig } from "../serve-child.ts";

export interface UploadCase {
  label: string;
  gateway: UploadSeries;
  baseline: UploadSeries;
}

export interface UploadResults {
  cases: UploadCase[];
  /** Why part of the case did not run, for the report. */
  skipped?: string;
}

export async function uploadCases(root: string): Promise<UploadResults> {
  const checkGateway = (kind: string) => (run: UploadRun) => {
    if (run.status !== 200) throw new Error(`gateway upload: ${run.status} ${run.body.slice(0, 300)}`);
    const file = JSON.parse(run.body) as { kind?: string };
    if (file.kind !== kind) throw new Error(`gateway upload stored a ${file.kind}, not a ${kind}`);
  };
  const checkBaseline = (run: UploadRun) => {
    const { bytes } = JSON.parse(run.body) as { bytes: number };
    if (run.status !== 200 || bytes !== run.requestBytes) {
      throw new Error(`baseline upload: ${run.status} ${run.body.slice(0, 300)}`);
    }
  };
  /** Each file size gets fresh server processes, so one case's heap does not hide the next one's growth. */
  const series = async (label: string, file: UploadFile, kind: string, runs: number, warmup: number) => {
    const dataDir = await mkdtemp(join(root, "gateway-"));
    const sink = await mkdtemp(join(root, "baseline-"));
    const children: Child[] = [];
    try {
      const gateway = await startChild(`gateway (${label})`, "serve-child.ts", {
        dataDir,
        key: KEY,
      } satisfies GatewayChildConfig);
      children.push(gateway);
      const baseline = await startChild(`baseline (${label})`, "baseline-child.ts", {
        mode: "upload",
        dir: sink,
      } satisfies BaselineChildConfig);
      children.push(baseline);
      log(`uploads: ${label} × ${runs}${warmup ? ` after ${warmup} warm-up` : ""}, gateway then baseline`);
      return {
        label,
        gateway: await uploadSeries(gateway, file, AUTH, { runs, warmup, check: checkGateway(kind) }),
        baseline: await uploadSeries(baseline, file, AUTH, { runs, warmup, check: checkBaseline }),
      } satisfies UploadCase;
    } finally {
      for (const child of children) await child.stop();
      await rm(dataDir, { recursive: true, force: true });
      await rm(sink, { recursive: true, force: true });
    }
  };
  const cases: UploadCase[] = [];
  const jpeg = { path: await jpegFixture(), contentType: "image/jpeg" };
  cases.push(await series("≈1 MB JPEG", jpeg, "image", JPEG_RUNS, 3));
  if (QUICK) return { cases, skipped: "BENCH_QUICK=1: the 200 MB upload was skipped." };
  log("uploads: generating/reusing the ≈200 MB MP4 fixture");
  const mp4 = { path: await mp4Fixture(), contentType: "video/mp4" };
  // No warm-up: the first 200 MB upload of a fresh process is the one most likely to grow its heap.
  cases.push(await series("≈200 MB MP4", mp4, "video", MP4_RUNS, 0));
  return { cases };
}
