/**
 * Another gateway process, for the cross-process race tests (see `startRacer` in helpers.ts). It
 * reads JSON lines on stdin: `{"type":"arm","args":…}` opens the store with its own connection and
 * its own Billing and answers `{"type":"armed"}`; `{"type":"go"}` runs the armed command and
 * answers `{"type":"result","result":…}`. The parent arms both racers, then starts them together.
 */
import { createInterface } from "node:readline";
import { Billing } from "../../src/billing/billing.ts";
import { isBillingRefusal } from "../../src/billing/errors.ts";
import { Catalog } from "../../src/catalog/models.ts";
import { type DatabaseHandle, openDatabase } from "../../src/store/db.ts";
import type { ApiKeyRow } from "../../src/store/schema.ts";
import { type Finisher, finisher, submit, taskRow } from "./helpers.ts";

interface Args {
  url: string;
  mode: "finish" | "settle" | "submit" | "rate";
  taskIds?: string[];
  status?: "succeeded" | "failed";
  accountId?: string;
  keyId?: string;
  count?: number;
  now?: number;
}

interface Gateway {
  handle: DatabaseHandle;
  billing: Billing;
  tasks: Finisher;
}

const gateways = new Map<string, Gateway>();
let armed: { args: Args; gateway: Gateway } | undefined;

async function gatewayFor(url: string): Promise<Gateway> {
  let gateway = gateways.get(url);
  if (!gateway) {
    const handle = openDatabase(url, { poolSize: 8 });
    const billing = new Billing(handle.db, new Catalog(), { limitsCacheMs: 0 });
    const tasks = finisher(handle.db, billing);
    gateway = { handle, billing, tasks };
    gateways.set(url, gateway);
  }
  await gateway.handle.db.selectFrom("tasks").select("id").limit(1).execute(); // connected and warm
  return gateway;
}

/**
 * Jitter before each operation, so the two processes interleave. SQLite's busy handler sleeps a
 * waiting process for up to tens of milliseconds, so there the operations are spread wider.
 */
let jitterMs = 6;
const jitter = () => new Promise((r) => setTimeout(r, Math.random() * jitterMs));

const outcome = (error: unknown) =>
  isBillingRefusal(error) ? error.code : `error: ${(error as Error).message ?? String(error)}`;

async function run({ args, gateway }: { args: Args; gateway: Gateway }): Promise<unknown> {
  const { handle, billing, tasks } = gateway;
  switch (args.mode) {
    case "finish": {
      // Every task finished concurrently by this process; the other process does the same.
      const won = await Promise.all(
        args.taskIds!.map(async (id) => {
          await jitter();
          return !!(await tasks.finish(id, args.status!));
        }),
      );
      return { won };
    }
    case "settle": {
      // Bypass the task guard: settle the holds directly, as a buggy or duplicated worker would.
      const settled = await Promise.all(
        args.taskIds!.map(async (id) => {
          await jitter();
          return handle.db
            .transaction()
            .execute((trx) =>
              billing.holds.settleTask(
                trx,
                { id, provider: "ark" },
                args.status === "succeeded" ? { status: "succeeded" } : { status: "failed" },
              ),
            );
        }),
      );
      return { settled: settled.map((s) => s.settled) };
    }
    case "submit": {
      const outcomes = await Promise.all(
        Array.from({ length: args.count! }, async () => {
          await jitter();
          return submit(handle.db, billing, taskRow(args.accountId!, args.keyId!, { seconds: 5 })).then(
            () => "accepted",
            outcome,
          );
        }),
      );
      return { outcomes };
    }
    case "rate": {
      const principal = {
        account: { id: args.accountId!, name: "x", is_admin: 0, billing_mode: "prepaid", created_at: 0 },
        key: { id: args.keyId!, account_id: args.accountId! } as ApiKeyRow,
      };
      const outcomes = await Promise.all(
        Array.from({ length: args.count! }, () =>
          billing.limits.enforceRateLimit(principal, { now: args.now }).then(() => "allowed", outcome),
        ),
      );
      return { outcomes };
    }
  }
}

const reply = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(message)}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const message = JSON.parse(line) as { type: "arm"; args: Args } | { type: "go" };
  try {
    if (message.type === "arm") {
      armed = { args: message.args, gateway: await gatewayFor(message.args.url) };
      jitterMs = armed.gateway.handle.dialect === "sqlite" ? 60 : 6;
      reply({ type: "armed" });
    } else {
      if (!armed) throw new Error("go before arm");
      const command = armed;
      armed = undefined;
      reply({ type: "result", result: await run(command) });
    }
  } catch (error) {
    reply({ type: "error", message: (error as Error).stack ?? String(error) });
  }
}
for (const gateway of gateways.values()) await gateway.handle.close();
