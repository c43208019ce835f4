import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

export const BUCKET = "vidrelay";

export interface TestBucket {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** A storage URL for this bucket, with an optional prefix. */
  storageUrl(prefix?: string): string;
  /** An independent client for checking what is in the bucket. */
  client: S3Client;
  /** Every object key in the bucket (optionally under a prefix). */
  keys(prefix?: string): Promise<string[]>;
  empty(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real S3 API (s3rver, in this process) on an ephemeral loopback port over a temp directory,
 * with one bucket. The AWS SDK finds s3rver's default credentials through its normal chain (env).
 */
export async function startTestBucket(): Promise<TestBucket> {
  process.env.AWS_ACCESS_KEY_ID = "S3RVER";
  process.env.AWS_SECRET_ACCESS_KEY = "S3RVER";
  const directory = await mkdtemp(join(tmpdir(), "vidrelay-s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const keys = async (prefix?: string) => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) if (item.Key) out.push(item.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  };
  return {
    endpoint,
    storageUrl: (prefix = "") =>
      `s3://${BUCKET}${prefix ? `/${prefix}` : ""}?endpoint=${encodeURIComponent(endpoint)}&force_path_style=true`,
    client,
    keys,
    async empty() {
      for (const key of await keys())
        await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
