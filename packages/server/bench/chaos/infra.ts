/**
 * Everything the gateway's processes lean on, each on loopback and each behind a switch the
 * schedule can throw: a private Postgres database behind a TCP fault proxy, s3rver behind an HTTP
 * fault proxy, the Ark double (its own fault rules), and a webhook receiver that checks every
 * signature the moment it arrives (Standard Webhooks refuses timestamps older than five minutes, so
 * checking at the end of a ten-minute run would call good deliveries bad).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { Webhook } from "standardwebhooks";
import { type ArkDouble, startArkDouble } from "../../test/doubles/ark/double.ts";
import {
  type HttpFaultProxy,
  postgresUrlThrough,
  startHttpFaultProxy,
  startTcpFaultProxy,
  type TcpFaultProxy,
} from "../../test/helpers/fault-proxy.ts";
import { startReceiver } from "../../test/helpers/receiver.ts";
import { BUCKET, startTestBucket, type TestBucket } from "../../test/storage/s3rver.ts";

export interface Delivery {
  /** Wall-clock ms of arrival. */
  at: number;
  webhookId: string;
  taskId?: string;
  status?: string;
  verified: boolean;
  /** Why verification failed. */
  error?: string;
}

export interface Infra {
  databaseName: string;
  /** Direct (not proxied) URL of the run's database, for the harness's own reads. */
  directUrl: string;
  /** The URL every gateway process gets: through the TCP fault proxy. */
  proxiedUrl: string;
  storageUrl: string;
  pgProxy: TcpFaultProxy;
  s3Proxy: HttpFaultProxy;
  bucket: TestBucket;
  ark: ArkDouble;
  receiverUrl: string;
  deliveries: Delivery[];
  /** Set once the account's signing secret is known; deliveries before that count as unverifiable. */
  setWebhookSecret(secret: string): void;
  /** The harness's own connection to the run's database (not through the proxy). */
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  postgresVersion: string;
}

export async function startInfra(
  options: { seed: number; postgres: string },
  cleanup: Array<() => Promise<unknown>>,
): Promise<Infra> {
  const databaseName = `vidrelay_chaos_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: options.postgres });
  await admin.connect();
  const postgresVersion = ((await admin.query("show server_version")).rows[0] as { server_version: string })
    .server_version;
  await admin.query(`create database ${databaseName}`);
  await admin.end();
  cleanup.push(async () => {
    const client = new pg.Client({ connectionString: options.postgres });
    await client.connect();
    // with (force): a child killed a moment ago may still hold a backend.
    await client.query(`drop database if exists ${databaseName} with (force)`);
    await client.end();
  });
  const adminUrl = new URL(options.postgres);
  const directUrl = `${options.postgres.replace(/\/[^/?]*(\?.*)?$/, "")}/${databaseName}${adminUrl.search}`;

  const pgProxy = await startTcpFaultProxy({
    host: adminUrl.hostname,
    port: Number(adminUrl.port || 5432),
  });
  cleanup.push(() => pgProxy.close());
  const own = new pg.Pool({ connectionString: directUrl, max: 2 });
  own.on("error", () => {});
  cleanup.push(() => own.end());

  // The harness's own S3 client (in startTestBucket) would warn about Node 20 like the children would.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const bucket = await startTestBucket();
  cleanup.push(() => bucket.stop());
  const s3Proxy = await startHttpFaultProxy(bucket.endpoint);
  cleanup.push(() => s3Proxy.close());

  // The double's clock must stay on wall time (clockScale 1): after a crash the gateway finds a create
  // it never recorded by listing Ark's tasks and matching `created_at` against its own clock (±2 min),
  // and an accelerated clock would make that lookup miss and show up here as duplicate creates.
  // Tasks are made short instead: the 1.5 pro 480p 5 s run (40 s) × 0.1 is about 4 s, after a 1 s
  // queue, each spread ±50 %. A high queue cap keeps the double's own throttling (429 QuotaExceeded)
  // out of a soak that is about our faults, not the provider's limits.
  const ark = await startArkDouble({
    profile: "cn",
    seed: options.seed,
    clockScale: 1,
    queueDelayMs: 1_000,
    runTimeScale: 0.1,
    jitter: 0.5,
    queueCap: 100_000,
  });
  // The duplicate check reads every create from the journal; its default keeps only the last 10,000
  // requests, fewer than a long run's creates, polls and downloads.
  ark.journal.limit = Number.MAX_SAFE_INTEGER;
  cleanup.push(() => ark.close());

  const deliveries: Delivery[] = [];
  let verifier: Webhook | undefined;
  const receiver = await startReceiver((req, _index, res) => {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(", ") : (v ?? "");
    };
    const delivery: Delivery = { at: req.at, webhookId: header("webhook-id"), verified: false };
    try {
      const body = JSON.parse(req.body) as { task_id?: string; status?: string };
      delivery.taskId = body.task_id;
      delivery.status = body.status;
    } catch {
      delivery.error = "body is not JSON";
    }
    if (!verifier) delivery.error ??= "arrived before the signing secret was known";
    else if (!delivery.error) {
      try {
        verifier.verify(req.body, {
          "webhook-id": header("webhook-id"),
          "webhook-timestamp": header("webhook-timestamp"),
          "webhook-signature": header("webhook-signature"),
        });
        delivery.verified = true;
      } catch (error) {
        delivery.error = (error as Error).message;
      }
    }
    deliveries.push(delivery);
    res.end("ok");
  });
  cleanup.push(() => receiver.close());

  return {
    databaseName,
    directUrl,
    proxiedUrl: postgresUrlThrough(pgProxy, directUrl),
    storageUrl: `s3://${BUCKET}?endpoint=${encodeURIComponent(s3Proxy.url)}&force_path_style=true`,
    pgProxy,
    s3Proxy,
    bucket,
    ark,
    receiverUrl: receiver.url,
    deliveries,
    setWebhookSecret: (secret) => {
      verifier = new Webhook(secret);
    },
    query: async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
      (await own.query<T>(sql, params)).rows,
    postgresVersion,
  };
}
