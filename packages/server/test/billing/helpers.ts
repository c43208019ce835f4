import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Kysely } from "kysely";
import pino from "pino";
import type { Billing } from "../../src/billing/billing.ts";
import type { BillingHolds, ProviderUsage } from "../../src/billing/holds.ts";
import { type BillingDb, billingView } from "../../src/billing/tables.ts";
import { ChannelRepository } from "../../src/channels/repository.ts";
import { loadConfig } from "../../src/config.ts";
import type { Resolution } from "../../src/domain/request.ts";
import { StoreJobQueue } from "../../src/jobs/store-queue.ts";
import { AccountRepository } from "../../src/keys/repository.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { parseAllowList } from "../../src/net/address-policy.ts";
import { Metrics } from "../../src/ops/metrics.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../src/store/db.ts";
import type { Account, ApiKeyRow, Database, TaskPatch, TaskRow } from "../../src/store/schema.ts";
import { ChannelSlots } from "../../src/tasks/channel-slots.ts";
import { TaskEvents } from "../../src/tasks/events.ts";
import { IdempotencyRepository } from "../../src/tasks/idempotency-repository.ts";
import { TaskLifecycle } from "../../src/tasks/lifecycle.ts";
import { TaskPresenter } from "../../src/tasks/presenter.ts";
import { TaskRepository, type TerminalStatus } from "../../src/tasks/repository.ts";
import { newCapabilityToken, newTaskId } from "../../src/util/ids.ts";
import { SecretBox } from "../../src/util/secret-box.ts";
import { WebhookRepository } from "../../src/webhooks/repository.ts";
import { WebhookService } from "../../src/webhooks/service.ts";
import { freshPostgres, freshSqlite, type TestDatabase } from "../helpers/databases.ts";
import { SERVER_ROOT } from "../helpers/paths.ts";

export const DIALECTS = [
  { name: "sqlite", make: freshSqlite },
  { name: "postgres", make: freshPostgres },
] as const;

export interface Store {
  database: TestDatabase;
  handle: DatabaseHandle;
  /** A second, independent connection (pool) to the same store: another gateway process. */
  other: DatabaseHandle;
  db: Kysely<Database>;
  bdb: Kysely<BillingDb>;
  accounts: AccountRepository;
  close(): Promise<void>;
}

export async function openStore(make: () => Promise<TestDatabase>): Promise<Store> {
  const database = await make();
  const handle = openDatabase(database.url);
  await migrateToLatest(handle.db, ALL_MIGRATIONS);
  await migrateToLatest(handle.db, ALL_MIGRATIONS); // idempotent
  const other = openDatabase(database.url);
  return {
    database,
    handle,
    other,
    db: handle.db,
    bdb: billingView(handle.db),
    accounts: new AccountRepository(handle.db),
    async close() {
      await other.close();
      await handle.close();
      await database.drop();
    },
  };
}

export async function newCustomer(
  accounts: AccountRepository,
  options: { testMode?: boolean; name?: string } = {},
): Promise<{ account: Account; key: ApiKeyRow; principal: { account: Account; key: ApiKeyRow } }> {
  const account = await accounts.createAccount(options.name ?? "customer", false);
  const { key } = await accounts.createKey(account.id, { testMode: options.testMode });
  return { account, key, principal: { account, key } };
}

export interface TaskSpec {
  model?: string;
  resolution?: Resolution;
  seconds?: number;
  provider?: string;
  testMode?: boolean;
  createdAt?: number;
}

export function taskRow(accountId: string, keyId: string, spec: TaskSpec = {}): TaskRow {
  const now = spec.createdAt ?? Date.now();
  const model = spec.model ?? "seedance-1-5-pro-with-audio";
  return {
    id: newTaskId(),
    account_id: accountId,
    api_key_id: keyId,
    model,
    status: "submitted",
    progress: 0,
    prompt: "a cat",
    seconds: spec.seconds ?? 5,
    request_json: JSON.stringify({
      model,
      resolution: spec.resolution ?? "720p",
      seconds: spec.seconds ?? 5,
    }),
    metadata_json: "{}",
    callback_url: null,
    provider: spec.provider ?? "ark",
    test_mode: spec.testMode ? 1 : 0,
    error_code: null,
    error_message: null,
    video_json: null,
    output_key: null,
    poster_key: null,
    last_frame_key: null,
    media_token: newCapabilityToken(),
    channel_id: null,
    upstream_id: null,
    upstream_ref: null,
    deleted_at: null,
    remixed_from: null,
    upstream_status: null,
    next_poll_at: null,
    poll_owner: null,
    poll_lease_until: null,
    poll_count: 0,
    created_at: now,
    started_at: null,
    completed_at: null,
    expires_at: null,
    updated_at: now,
    deadline_at: null,
  };
}

/**
 * What TaskService.submit does once wired: insert the task and hold for it in one transaction.
 * Resolves with the task, or rejects with the refusal (and then nothing was written).
 */
export async function submit(
  db: Kysely<Database>,
  billing: Billing,
  task: TaskRow,
  options: { crashAfterHold?: boolean } = {},
): Promise<TaskRow> {
  await db.transaction().execute(async (trx) => {
    await trx.insertInto("tasks").values(task).execute();
    await billing.holds.holdForTaskRow(trx, task);
    if (options.crashAfterHold) throw new Error("simulated crash after the hold");
  });
  return task;
}

/** How tasks finish in these tests: through the gateway's one lifecycle, wired as server.ts wires it. */
export interface Finisher {
  finish(id: string, status: TerminalStatus, patch?: TaskPatch): Promise<TaskRow | undefined>;
  markRunning(id: string): Promise<boolean>;
  getById(id: string): Promise<TaskRow | undefined>;
}

export interface FinisherOptions {
  /** Tokens the provider reported for a task, handed to finish as the ingest job hands them. */
  reported?: ReadonlyMap<string, number>;
  /** Throw inside finish's transaction, after billing settled: a process dying mid-commit. */
  crashAfterSettle?: boolean;
}

/**
 * A real TaskLifecycle over `db` (real task repository, channel service, webhook outbox, presenter
 * and job queue) settling through `billing`, as one gateway process would finish its tasks.
 */
export function finisher(db: Kysely<Database>, billing: Billing, options: FinisherOptions = {}): Finisher {
  const config = loadConfig({ secret: "billing-tests-secret", dataDir: "/nonexistent/billing-tests" }, {});
  const queue = new StoreJobQueue(db);
  const tasks = new TaskRepository(db);
  const logger = pino({ level: "silent" });
  const settling: Pick<BillingHolds, "holdForTaskRow" | "settleFinishedTask"> = options.crashAfterSettle
    ? {
        holdForTaskRow: (trx, task) => billing.holds.holdForTaskRow(trx, task),
        async settleFinishedTask(trx, task, usage) {
          await billing.holds.settleFinishedTask(trx, task, usage);
          throw new Error("simulated crash inside the finish transaction");
        },
      }
    : billing.holds;
  const lifecycle = new TaskLifecycle({
    config,
    db,
    tasks,
    idempotency: new IdempotencyRepository(db),
    queue,
    slots: new ChannelSlots({ db, tasks, channels: new ChannelRepository(db) }),
    billing: settling,
    webhooks: new WebhookService(
      config,
      new WebhookRepository(db, new SecretBox(config.secret!)),
      queue,
      parseAllowList(null),
      logger,
    ),
    presenter: new TaskPresenter(config, billing.usage),
    events: new TaskEvents(),
    metrics: new Metrics(),
  });
  const usage = (id: string): ProviderUsage | undefined => {
    const tokens = options.reported?.get(id);
    return tokens === undefined ? undefined : { tokens };
  };
  return {
    finish: (id, status, patch = {}) => lifecycle.finish(id, status, patch, usage(id)),
    markRunning: (id) => lifecycle.start(id),
    getById: (id) => tasks.getById(id),
  };
}

export interface Racer {
  /** Hand the racer its next command; resolves once it is ready to start (store opened, warmed up). */
  arm(args: Record<string, unknown>): Promise<void>;
  /** Start the armed command; resolves with its result. */
  go(): Promise<Record<string, unknown[]>>;
  close(): Promise<void>;
}

/**
 * test/billing/racer.ts as a separate, long-lived Node process: another gateway with its own
 * connection. Commands are armed first and started together, so two racers really overlap.
 */
export function startRacer(): Racer {
  const script = fileURLToPath(new URL("./racer.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: SERVER_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const waiting: Array<{ resolve(v: Record<string, unknown>): void; reject(e: Error): void }> = [];
  let buffer = "";
  child.stdout.on("data", (c: Buffer) => {
    buffer += c.toString();
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const message = JSON.parse(line) as Record<string, unknown>;
      const next = waiting.shift();
      if (!next) continue;
      if (message.type === "error") next.reject(new Error(`racer: ${String(message.message)}`));
      else next.resolve(message);
    }
  });
  child.on("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`racer exited with ${code}:\n${stderr}`));
  });
  const send = (message: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      waiting.push({ resolve, reject });
      child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  return {
    async arm(args) {
      await send({ type: "arm", args });
    },
    async go() {
      return (await send({ type: "go" })).result as Record<string, unknown[]>;
    },
    async close() {
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin.end();
      await exited;
    },
  };
}

/** Ledger rows of one kind for a task. */
export async function ledgerRows(bdb: Kysely<BillingDb>, taskId: string) {
  return bdb.selectFrom("billing_ledger").selectAll().where("task_id", "=", taskId).execute();
}
