import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { migrateToLatest, openDatabase } from "../../src/store/db.ts";
import { runCli } from "../cli/run.ts";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { freshPostgres, freshSqlite } from "../helpers/databases.ts";
import { addChannel, startTestServer, type TestServer, waitForTask } from "../helpers/server.ts";

const MODEL = "seedance-1-5-pro-with-audio";

interface Balance {
  billing_mode: string;
  balance_micros: number;
  held_micros: number;
}

/**
 * Billing modes over real HTTP on a fresh installation (the bootstrap account as `npm start`
 * leaves it: no top-up): the owner's account is unmetered, new accounts are prepaid, an admin
 * switches modes with the API or the CLI, and an unmetered account's usage is still priced and
 * reported while its balance never moves.
 */
describe("billing modes", () => {
  let t: TestServer;
  let ark: ArkDouble;
  let customerKey: string;
  let customerAccount: string;
  let customerKeyId: string;
  before(async () => {
    ark = await startArkDouble({ profile: "cn", queueDelayMs: 100 });
    t = await startTestServer({ upstreamPollScale: 0.01 }, { asInstalled: true });
    await addChannel(t, {
      provider: "ark",
      base_url: ark.baseUrl,
      api_key: ark.keys[0],
      models: { [MODEL]: "doubao-seedance-1-5-pro-251215" },
    });
    const created = (await (
      await t.api("/v1/admin/keys", { method: "POST", json: { account_name: "customer" } })
    ).json()) as { key: string; id: string; account: { id: string; billing_mode: string } };
    assert.equal(created.account.billing_mode, "prepaid", "a new account is prepaid by default");
    customerKey = created.key;
    customerAccount = created.account.id;
    customerKeyId = created.id;
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
  const submit = (key: string, prompt: string) =>
    t.api("/v1/video/generations", {
      method: "POST",
      ...as(key),
      json: { model: MODEL, prompt, seconds: "5", metadata: { resolution: "480p" } },
    });
  const balanceOf = async (key: string) => (await (await t.api("/v1/balance", as(key))).json()) as Balance;
  const ledgerOf = async (accountId: string) =>
    ((await (await t.api(`/v1/admin/accounts/${accountId}/ledger`)).json()) as { data: unknown[] }).data;
  const costOf = async (key: string) => {
    const report = (await (await t.api("/v1/usage?group_by=model", as(key))).json()) as {
      totals: { tasks: number; cost_micros: number };
    };
    return report.totals;
  };

  test("the installation's own account is unmetered: a relayed task with no top-up succeeds, is priced, and moves no balance", async () => {
    const me = (await (await t.api("/v1/me")).json()) as { account: { id: string; billing_mode: string } };
    assert.equal(me.account.billing_mode, "unmetered");
    const before = await balanceOf(t.key);
    assert.deepEqual([before.billing_mode, before.balance_micros, before.held_micros], ["unmetered", 0, 0]);

    const res = await submit(t.key, "the owner's first relayed task");
    assert.equal(res.status, 200, await res.clone().text());
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await waitForTask(t, task_id, { timeoutMs: 60_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const usage = task.usage as { cost: string };
    assert.ok(Number(usage.cost) > 0, `the task is priced (${usage.cost})`);

    const afterwards = await balanceOf(t.key);
    assert.deepEqual([afterwards.balance_micros, afterwards.held_micros], [0, 0], "no balance moved");
    assert.deepEqual(await ledgerOf(me.account.id), [], "no ledger rows for an unmetered account");
    const totals = await costOf(t.key);
    assert.equal(totals.tasks, 1);
    assert.equal(totals.cost_micros, Math.round(Number(usage.cost) * 1_000_000), "usage reports the cost");
  });

  test("a prepaid account is refused without balance; made unmetered with the CLI it is served; made prepaid again it is refused", async () => {
    const refused = await submit(customerKey, "no balance");
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { type: string } }).error.type, "insufficient_quota");

    const cli = { VIDRELAY_BASE_URL: t.url, VIDRELAY_API_KEY: t.key };
    const set = await runCli(["accounts", "billing-mode", customerAccount, "unmetered"], cli);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /is now unmetered/);
    const listed = await runCli(["accounts", "list"], cli);
    assert.match(listed.stdout, new RegExp(`${customerAccount}.*unmetered`));

    const accepted = await submit(customerKey, "served unmetered");
    assert.equal(accepted.status, 200, await accepted.clone().text());
    const { task_id } = (await accepted.json()) as { task_id: string };
    const task = await waitForTask(t, task_id, { key: customerKey, timeoutMs: 60_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.ok(Number((task.usage as { cost: string }).cost) > 0);
    assert.equal((await costOf(customerKey)).tasks, 1);
    const balance = await balanceOf(customerKey);
    assert.deepEqual(
      [balance.billing_mode, balance.balance_micros, balance.held_micros],
      ["unmetered", 0, 0],
    );

    const back = await t.api(`/v1/admin/accounts/${customerAccount}`, {
      method: "PATCH",
      json: { billing_mode: "prepaid" },
    });
    assert.equal(back.status, 200);
    assert.equal(((await back.json()) as { billing_mode: string }).billing_mode, "prepaid");
    assert.equal((await submit(customerKey, "prepaid again")).status, 403);
    await t.api(`/v1/admin/accounts/${customerAccount}`, {
      method: "PATCH",
      json: { billing_mode: "unmetered" },
    });
  });

  test("limits still apply to an unmetered account: the daily spend cap refuses", async () => {
    const cap = await t.api(`/v1/admin/keys/${customerKeyId}/limits`, {
      method: "PUT",
      json: { daily_spend_cap: "0.01" },
    });
    assert.equal(cap.status, 200, await cap.clone().text());
    const res = await submit(customerKey, "over the cap");
    assert.equal(res.status, 403);
    const { error } = (await res.json()) as { error: { code: string } };
    assert.equal(error.code, "daily_spend_cap_exceeded");
    await t.api(`/v1/admin/keys/${customerKeyId}/limits`, { method: "PUT", json: { daily_spend_cap: null } });
  });

  test("changing a mode: a bad mode is a 400 naming billing_mode, an unknown account a 404, non-admins 403", async () => {
    const bad = await t.api(`/v1/admin/accounts/${customerAccount}`, {
      method: "PATCH",
      json: { billing_mode: "postpaid" },
    });
    assert.equal(bad.status, 400);
    const badError = ((await bad.json()) as { error: { param: string; message: string } }).error;
    assert.equal(badError.param, "billing_mode");
    assert.match(badError.message, /"prepaid" or "unmetered"/);

    const missing = await t.api("/v1/admin/accounts/acct_nope", {
      method: "PATCH",
      json: { billing_mode: "prepaid" },
    });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { param: string } }).error.param, "account_id");

    const forbidden = await t.api(`/v1/admin/accounts/${customerAccount}`, {
      method: "PATCH",
      ...as(customerKey),
      json: { billing_mode: "unmetered" },
    });
    assert.equal(forbidden.status, 403);

    const cliBad = await runCli(["accounts", "billing-mode", customerAccount, "free"], {
      VIDRELAY_BASE_URL: t.url,
      VIDRELAY_API_KEY: t.key,
    });
    assert.notEqual(cliBad.code, 0);
    assert.match(cliBad.stderr, /prepaid or unmetered/);
  });
});

describe("billing modes on an existing installation", () => {
  for (const fresh of [freshSqlite, freshPostgres]) {
    test(`upgrading (${fresh.name.replace("fresh", "")}): the first admin account becomes unmetered, every other stays prepaid`, async () => {
      const target = await fresh();
      const handle = openDatabase(target.url, { poolSize: 2 });
      const db = handle.db;
      try {
        const before = Object.fromEntries(
          Object.entries(ALL_MIGRATIONS).filter(([name]) => name < "0007_billing_modes"),
        );
        await migrateToLatest(db, before);
        const insert = (id: string, admin: number, at: number) =>
          sql`insert into accounts (id, name, is_admin, created_at) values (${id}, ${id}, ${admin}, ${at})`.execute(
            db,
          );
        await insert("acct_customer", 0, 1);
        await insert("acct_owner", 1, 2);
        await insert("acct_second_admin", 1, 3);
        await migrateToLatest(db, ALL_MIGRATIONS);
        const rows = await db
          .selectFrom("accounts")
          .select(["id", "billing_mode"])
          .orderBy("created_at")
          .execute();
        assert.deepEqual(rows, [
          { id: "acct_customer", billing_mode: "prepaid" },
          { id: "acct_owner", billing_mode: "unmetered" },
          { id: "acct_second_admin", billing_mode: "prepaid" },
        ]);
      } finally {
        await handle.close();
        await target.drop();
      }
    });
  }
});
