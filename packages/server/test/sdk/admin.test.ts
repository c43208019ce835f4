import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type ApiKeyCreated,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  VidRelay,
} from "@vidrelay/sdk";
import { expectError } from "../helpers/expect-error.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const MODEL = "seedance-1-5-pro-with-audio";

/**
 * The SDK's administration and billing resources against a real gateway over loopback: an admin
 * creates a customer's account and key, funds it, limits it, prices a model; the customer renders
 * one clip; the usage report, balance and ledger show it.
 */
describe("SDK administration and billing against a real server", () => {
  let t: TestServer;
  let admin: VidRelay;
  let customer: ApiKeyCreated;
  let asCustomer: VidRelay;
  before(async () => {
    // Local renders billed, so the customer's render shows up as a charge.
    t = await startTestServer({ localRendersBilled: true });
    admin = new VidRelay({ apiKey: t.key, baseURL: t.url });
  });
  after(() => t.stop());

  test("me: the calling key and its account", async () => {
    const me = await admin.me();
    assert.equal(me.object, "whoami");
    assert.equal(me.account.admin, true);
    assert.equal(me.key.test_mode, false);
    assert.equal(me.key.account_id, me.account.id);
    assert.equal(me.key.key, undefined, "never the secret");
  });

  test("keys: create for a new account (the secret once), list, and a customer cannot administer", async () => {
    customer = await admin.admin.keys.create({ account_name: "sdk-customer", name: "ci" });
    assert.match(customer.key ?? "", /^sk-/);
    assert.equal(customer.account.name, "sdk-customer");
    assert.equal(customer.account.admin, false);
    assert.equal(customer.account.billing_mode, "prepaid");
    asCustomer = new VidRelay({ apiKey: customer.key!, baseURL: t.url });

    const me = await asCustomer.me();
    assert.equal(me.key.id, customer.id);
    assert.equal(me.account.admin, false);

    const listed = await admin.admin.keys.list({ account_id: customer.account_id });
    assert.deepEqual(
      listed.map((k) => [k.id, k.name, k.key]),
      [[customer.id, "ci", undefined]],
    );
    assert.ok((await admin.admin.keys.list()).some((k) => k.id === customer.id));

    const refused = await expectError(asCustomer.admin.keys.list(), PermissionDeniedError);
    assert.equal(refused.code, "admin_only");
  });

  test("accounts: list and change the billing mode", async () => {
    const accounts = await admin.admin.accounts.list();
    assert.ok(accounts.some((a) => a.id === customer.account_id && a.name === "sdk-customer"));
    const unmetered = await admin.admin.accounts.update(customer.account_id, { billing_mode: "unmetered" });
    assert.equal(unmetered.billing_mode, "unmetered");
    assert.equal(
      (await admin.billing.balance({ account_id: customer.account_id })).billing_mode,
      "unmetered",
    );
    const prepaid = await admin.admin.accounts.update(customer.account_id, { billing_mode: "prepaid" });
    assert.equal(prepaid.billing_mode, "prepaid");
    await expectError(
      admin.admin.accounts.update("acct_missing", { billing_mode: "prepaid" }),
      NotFoundError,
    );
  });

  test("ledger: a top-up is credited once per idempotency key; an adjustment is signed", async () => {
    const first = await admin.admin.ledger.topup(
      customer.account_id,
      { amount: "25.00", note: "welcome" },
      { idempotencyKey: "sdk-welcome-topup" },
    );
    assert.equal(first.object, "topup");
    assert.equal(first.replayed, false);
    assert.equal(first.entry.amount_micros, 25_000_000);
    assert.equal(first.balance.balance_micros, 25_000_000);
    const again = await admin.admin.ledger.topup(
      customer.account_id,
      { amount: "25.00", note: "welcome" },
      { idempotencyKey: "sdk-welcome-topup" },
    );
    assert.equal(again.replayed, true);
    assert.equal(again.entry.id, first.entry.id);
    assert.equal(again.balance.balance_micros, 25_000_000, "credited once");

    const adjusted = await admin.admin.ledger.adjust(customer.account_id, { amount_micros: -5_000_000 });
    assert.equal(adjusted.object, "adjustment");
    assert.equal(adjusted.balance.balance_micros, 20_000_000);

    const ledger = await admin.admin.ledger.list(customer.account_id, { limit: 1 });
    assert.deepEqual(
      ledger.data.map((e) => [e.kind, e.amount_micros]),
      [["adjustment", -5_000_000]],
    );
    assert.equal(ledger.has_more, true);
    const all = await admin.admin.ledger.list(customer.account_id);
    assert.deepEqual(
      all.data.map((e) => [e.kind, e.note]),
      [
        ["adjustment", null],
        ["topup", "welcome"],
      ],
    );
    const refused = await expectError(
      admin.admin.ledger.topup(customer.account_id, { amount: "-1" }),
      BadRequestError,
    );
    assert.equal(refused.param, "amount");
  });

  test("limits: a key's and an account's, set and read back; null inherits; a bad value names its field", async () => {
    const set = await admin.admin.limits.setKey(customer.id, {
      requests_per_minute: 120,
      allowed_models: [MODEL],
    });
    assert.equal(set.scope, "key");
    assert.equal(set.requests_per_minute, 120);
    assert.deepEqual(set.allowed_models, [MODEL]);
    assert.deepEqual(await admin.admin.limits.getKey(customer.id), set);

    const account = await admin.admin.limits.setAccount(customer.account_id, { daily_spend_cap: "50" });
    assert.equal(account.scope, "account");
    assert.equal(account.daily_spend_cap_micros, 50_000_000);
    assert.equal(account.requests_per_minute, null);
    assert.deepEqual(await admin.admin.limits.getAccount(customer.account_id), account);
    const cleared = await admin.admin.limits.setAccount(customer.account_id, { daily_spend_cap: null });
    assert.equal(cleared.daily_spend_cap_micros, null);

    const refused = await expectError(
      admin.admin.limits.setKey(customer.id, { allowed_models: ["no-such-model"] }),
      BadRequestError,
    );
    assert.equal(refused.param, "allowed_models[0]");
  });

  test("prices: list, a new version, its history", async () => {
    const prices = await admin.admin.prices.list();
    assert.ok(prices.some((p) => p.model === MODEL));
    const before = await admin.admin.prices.get(MODEL);
    const price = await admin.admin.prices.set(MODEL, {
      per_second: { "480p": "0.02", "720p": "0.05", "1080p": "0.10" },
      note: "sdk test",
    });
    assert.equal(price.object, "price");
    assert.equal(price.model, MODEL);
    assert.equal(price.note, "sdk test");
    const history = await admin.admin.prices.get(MODEL);
    assert.equal(history.current?.id, price.id);
    assert.equal(history.versions.length, before.versions.length + 1);
    await expectError(admin.admin.prices.get("no-such-model"), NotFoundError);
  });

  test("usage and balance: the customer's render is counted and charged", async () => {
    const created = await asCustomer.videos.create({
      model: MODEL,
      prompt: "a slow pan across a quiet harbour",
      seconds: "4",
      metadata: { resolution: "480p" },
    });
    const done = await asCustomer.videos.wait(created, { transport: "poll", pollIntervalMs: 200 });
    assert.equal(done.status, "succeeded");

    const own = await asCustomer.billing.usage({ group_by: "model" });
    assert.equal(own.account_id, customer.account_id);
    assert.deepEqual(own.group_by, ["model"]);
    const row = own.data.find((r) => r.model === MODEL);
    assert.ok(row, JSON.stringify(own.data));
    assert.equal(row.tasks, 1);
    assert.equal(row.succeeded, 1);
    assert.ok(row.cost_micros > 0, `charged ${row.cost}`);
    assert.equal(own.totals.cost_micros, row.cost_micros);
    // An admin reads the same report for the account.
    assert.deepEqual(await admin.billing.usage({ group_by: "model", account_id: customer.account_id }), own);
    // …which the customer may not do for anyone else.
    await expectError(
      asCustomer.billing.usage({ account_id: (await admin.me()).account.id }),
      PermissionDeniedError,
    );

    const balance = await asCustomer.billing.balance();
    assert.equal(balance.held_micros, 0);
    assert.equal(balance.balance_micros, 20_000_000 - row.cost_micros);
    const ledger = await admin.admin.ledger.list(customer.account_id);
    assert.equal(ledger.data[0]?.task_id, created.task_id);
  });

  test("channels: add, test, change, disable and enable", async () => {
    // A relaydance channel pointing at this same gateway, with the customer's key: the test call
    // is a real authenticated request over loopback.
    const channel = await admin.admin.channels.create({
      name: "loopback",
      provider: "relaydance",
      base_url: `${t.url}/v1`,
      api_key: customer.key!,
      models: { "grok-imagine-video": MODEL },
      max_concurrent: 3,
    });
    assert.equal(channel.object, "channel");
    assert.equal(channel.enabled, true);
    assert.equal(channel.max_concurrent, 3);
    assert.equal(channel.api_key_hint, `…${customer.key!.slice(-4)}`, "only the key's last characters");
    assert.deepEqual(await admin.admin.channels.get(channel.id), channel);
    assert.ok((await admin.admin.channels.list()).some((c) => c.id === channel.id));

    const ok = await admin.admin.channels.test(channel.id);
    assert.deepEqual([ok.id, ok.ok, ok.error], [channel.id, true, undefined]);

    const rekeyed = await admin.admin.channels.update(channel.id, { api_key: `sk-wrong${"x".repeat(40)}` });
    assert.equal(rekeyed.name, "loopback", "fields left out keep their values");
    const failed = await admin.admin.channels.test(channel.id);
    assert.equal(failed.ok, false);
    assert.ok(failed.error, "the reason is given");

    assert.equal((await admin.admin.channels.disable(channel.id)).enabled, false);
    assert.equal((await admin.admin.channels.enable(channel.id)).enabled, true);
    const refused = await expectError(admin.admin.channels.create({ provider: "nobody" }), BadRequestError);
    assert.equal(refused.param, "provider");
  });

  test("keys: a revoked key is refused at once", async () => {
    const revoked = await admin.admin.keys.revoke(customer.id);
    assert.equal(revoked.id, customer.id);
    assert.ok(revoked.revoked_at !== null);
    await expectError(asCustomer.me(), AuthenticationError);
    await expectError(admin.admin.keys.revoke("key_missing"), NotFoundError);
  });
});
