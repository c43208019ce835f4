import { join } from "node:path";
import { DiskStorage } from "./disk.ts";
import { createS3Client, S3Storage, SERVE_SOCKETS } from "./s3.ts";
import type { BlobStorage } from "./storage.ts";
import { parseStorageUrl } from "./storage-url.ts";

/**
 * The blob storage `VIDRELAY_STORAGE_URL` names: unset → files under `<data dir>/blobs` (the
 * default), `file:///abs/path` → files there, `s3://bucket[/prefix]?…` → an S3-compatible bucket.
 * A bad URL, or an AWS bucket with no region anywhere, fails here (at startup) with a message
 * naming the variable, built by `configError` (server.ts passes config's ConfigError, which the
 * CLI prints without a stack).
 */
export async function openStorage(
  settings: { storageUrl?: string; dataDir: string },
  configError: (problem: string) => Error = (problem) => new Error(problem),
): Promise<BlobStorage> {
  if (!settings.storageUrl) return new DiskStorage(join(settings.dataDir, "blobs"));
  const fail = (problem: string) =>
    configError(`VIDRELAY_STORAGE_URL (--storage-url) = ${JSON.stringify(settings.storageUrl)}: ${problem}`);
  let location: ReturnType<typeof parseStorageUrl>;
  try {
    location = parseStorageUrl(settings.storageUrl);
  } catch (error) {
    throw fail((error as Error).message);
  }
  if (location.kind === "disk") return new DiskStorage(location.root);

  let region = location.region;
  if (!region) {
    // The SDK resolves the region lazily; find out now rather than on the first upload.
    const probe = createS3Client(location);
    try {
      region = await probe.config.region();
    } catch {
      if (!location.endpoint) {
        throw fail("no region for AWS S3: add ?region=… to the URL or set AWS_REGION");
      }
      // S3-compatible servers (MinIO, s3rver) accept any region; R2 documents "auto".
      region = "us-east-1";
    } finally {
      probe.destroy();
    }
  }
  // Two clients, two connection pools: viewers' downloads, and everything else (s3.ts).
  return new S3Storage(
    location,
    createS3Client(location, region),
    createS3Client(location, region, SERVE_SOCKETS),
  );
}
