import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import "../../src/keys/auth.ts"; // FastifyRequest.principal
import { toApiModel } from "../../src/api/model-object.ts";
import { Billing } from "../../src/billing/billing.ts";
import { billingRoutes } from "../../src/billing/routes.ts";
import { Catalog } from "../../src/catalog/models.ts";
import { installErrorHandling } from "../../src/http/errors.ts";
import { AuthService } from "../../src/keys/auth.ts";
import { DIALECTS, finisher, openStore, type Store, submit, taskRow } from "./helpers.ts";

for (const { name, make } of DIALECTS) {
  describe(`billing routes on ${name}`, () => {
    let store: Store;
    let billing: Billing;
    let app: FastifyInstance;
    let adminKey: string;
    let userKey: string;
    let userAccountId: string;
    let userKeyId: string;

    before(async () => {
      store = await openStore(make);
      billing = new Billing(store.db, new Catalog(), { limitsCacheMs: 0 });
      await billing.prices.ensureDefaultPrices();
      const auth = new AuthService(store.accounts);
      const admin = await store.accounts.createAccount("operator", true);
      adminKey = (await store.accounts.createKey(admin.id)).secret;
      const user = await store.accounts.createAccount("customer", false);
      userAccountId = user.id;
      const created = await store.accounts.createKey(user.id);
      userKey = created.secret;
      userKeyId = created.key.id;
      // As server.ts wires the /v1 scope: error mapping, the principal, then the plugin.
      app = Fastify();
      app.decorateRequest("principal", null as never);
      installErrorHandling(app);
      await app.register(async (v1) => {
        v1.addHook("onRequest", async (request) => {
          request.principal = await auth.authenticate(request.headers.authorization);
        });
        await v1.register(billingRoutes, { billing });
      });
      await app.ready();
    });
    after(async () => {
      await app.close();
      await store.close();
    });

    const call = async (
      method: "GET" | "POST" | "PUT",
      url: string,
      key: string,
      payload?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}`, ...headers },
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: response JSON, asserted field by field
      return { status: res.statusCode, body: res.json() as Record<string, any>, headers: res.headers };
    };

    test("top-up (admin, idempotent) and GET /v1/balance", async () => {
      const empty = await call("GET", "/v1/balance", userKey);
      assert.equal(empty.status, 200);
      assert.deepEqual(
        [empty.body.balance, empty.body.available, empty.body.currency],
        ["0.0000", "0.0000", "USD"],
      );
      const refused = await call("POST", `/v1/admin/accounts/${userAccountId}/topup`, userKey, {
        amount: "5",
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.type, "permission_error");

      const url = `/v1/admin/accounts/${userAccountId}/topup`;
      const first = await call(
        "POST",
        url,
        adminKey,
        { amount: "12.50", note: "invoice 7" },
        { "idempotency-key": "inv-7" },
      );
      assert.equal(first.status, 200);
      assert.equal(first.body.replayed, false);
      assert.equal(first.body.entry.amount, "12.5000");
      assert.equal(first.body.entry.amount_micros, 12_500_000);
      assert.equal(first.body.balance.balance, "12.5000");
      const replay = await call("POST", url, adminKey, { amount: 12.5 }, { "idempotency-key": "inv-7" });
      assert.equal(replay.body.replayed, true);
      const clash = await call("POST", url, adminKey, { amount: "1" }, { "idempotency-key": "inv-7" });
      assert.equal(clash.status, 409);
      assert.equal(clash.body.error.type, "idempotency_error");
      for (const bad of ["-1", "0", "1.1234567", "1e3", "abc", null]) {
        const res = await call("POST", url, adminKey, { amount: bad });
        assert.equal(res.status, 400, `amount ${bad}`);
        assert.equal(res.body.error.param, "amount");
      }
      assert.equal(
        (await call("POST", "/v1/admin/accounts/acct_missing/topup", adminKey, { amount: "1" })).status,
        404,
      );

      const mine = await call("GET", "/v1/balance", userKey);
      assert.equal(mine.body.balance, "12.5000");
      assert.equal(
        (await call("GET", `/v1/balance?account_id=${userAccountId}`, adminKey)).body.balance,
        "12.5000",
      );
      assert.equal((await call("GET", "/v1/balance?account_id=acct_other", userKey)).status, 403);

      const adjust = await call("POST", `/v1/admin/accounts/${userAccountId}/adjustments`, adminKey, {
        amount: "-0.5",
        note: "correction",
      });
      assert.equal(adjust.status, 200);
      assert.equal(adjust.body.balance.balance, "12.0000");
      const ledger = await call("GET", `/v1/admin/accounts/${userAccountId}/ledger?limit=10`, adminKey);
      assert.deepEqual(
        ledger.body.data.map((e: { kind: string }) => e.kind),
        ["adjustment", "topup"],
      );
    });

    test("prices: read, new version, validation; pricing for GET /v1/models", async () => {
      const got = await call("GET", "/v1/admin/prices/seedance-1-5-pro-with-audio", adminKey);
      assert.equal(got.status, 200);
      assert.equal(got.body.current.version, 1);
      assert.equal(got.body.current.per_second["720p"], "0.070000");
      assert.equal((await call("GET", "/v1/admin/prices/seedance-1-5-pro-with-audio", userKey)).status, 403);
      assert.equal((await call("GET", "/v1/admin/prices/nope", adminKey)).status, 404);

      const put = await call("PUT", "/v1/admin/prices/grok-imagine-video", adminKey, {
        per_second: { "480p": "0.06", "720p": "0.085" },
        note: "supplier raised prices",
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.version, 2);
      assert.equal(put.body.per_second["720p"], "0.085000");
      const history = await call("GET", "/v1/admin/prices/grok-imagine-video", adminKey);
      assert.deepEqual(
        history.body.versions.map((v: { version: number }) => v.version),
        [2, 1],
      );

      const gap = await call("PUT", "/v1/admin/prices/grok-imagine-video", adminKey, {
        per_second: { "480p": "0.06" },
      });
      assert.equal(gap.status, 400);
      assert.equal(gap.body.error.code, "incomplete_price");
      assert.equal(gap.body.error.param, "per_second.720p");
      const wrongRes = await call("PUT", "/v1/admin/prices/grok-imagine-video", adminKey, {
        per_second: { "480p": "0.06", "720p": "0.07", "1080p": "0.1" },
      });
      assert.equal(wrongRes.body.error.param, "per_second.1080p");
      const currency = await call("PUT", "/v1/admin/prices/grok-imagine-video", adminKey, {
        currency: "EUR",
        per_second: { "480p": "0.06", "720p": "0.07" },
      });
      assert.equal(currency.body.error.code, "currency_mismatch");

      const pricing = await billing.prices.pricingForModels();
      const catalog = new Catalog();
      const model = toApiModel(catalog.get("seedance-1-5-pro-with-audio")!, {
        pricing: pricing.get("seedance-1-5-pro-with-audio"),
      });
      assert.deepEqual(model.pricing, {
        currency: "USD",
        version: 1,
        per_second: { "480p": "0.0315", "720p": "0.0700", "1080p": "0.1575" },
        per_second_micros: { "480p": 31_500, "720p": 70_000, "1080p": 157_500 },
        per_clip: "0.0000",
        per_million_tokens: null,
        tokens_per_second: null,
        example: { seconds: 5, resolution: "720p", cost: "0.3500" },
        free_when: ["test_mode", "local_engine"],
        updated_at: (model.pricing as { updated_at: number }).updated_at,
      });
      assert.equal(
        (pricing.get("grok-imagine-video") as { per_second: Record<string, string> }).per_second["720p"],
        "0.0850",
      );
      assert.equal(
        pricing.get("seedance-1-5-pro-no-audio")?.per_second["1080p"],
        "0.0788",
        "0.07875 rounds half up",
      );
      assert.equal(pricing.size, catalog.list().length, "every default model is priced");
      const all = await call("GET", "/v1/admin/prices", adminKey);
      assert.equal(all.body.data.length, catalog.list().length);
    });

    test("limits: admin GET/PUT per account and key, validated", async () => {
      const url = `/v1/admin/keys/${userKeyId}/limits`;
      const initial = await call("GET", url, adminKey);
      assert.equal(initial.status, 200);
      assert.equal(initial.body.requests_per_minute, null);
      const set = await call("PUT", url, adminKey, {
        requests_per_minute: 30,
        max_concurrent: 2,
        daily_spend_cap: "25.00",
        allowed_models: ["grok-imagine-video"],
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual(
        [
          set.body.requests_per_minute,
          set.body.max_concurrent,
          set.body.daily_spend_cap_micros,
          set.body.allowed_models,
        ],
        [30, 2, 25_000_000, ["grok-imagine-video"]],
      );
      const cleared = await call("PUT", url, adminKey, { allowed_models: null, daily_spend_cap: null });
      assert.equal(cleared.body.allowed_models, null);
      assert.equal(cleared.body.requests_per_minute, 30, "fields not sent are kept");
      for (const [body, param] of [
        [{ requests_per_minute: 0 }, "requests_per_minute"],
        [{ max_concurrent: 1.5 }, "max_concurrent"],
        [{ daily_spend_cap: "lots" }, "daily_spend_cap"],
        [{ allowed_models: ["nope"] }, "allowed_models[0]"],
      ] as const) {
        const res = await call("PUT", url, adminKey, body);
        assert.equal(res.status, 400);
        assert.equal(res.body.error.param, param);
      }
      assert.equal((await call("PUT", "/v1/admin/keys/key_missing/limits", adminKey, {})).status, 404);
      const acct = await call("PUT", `/v1/admin/accounts/${userAccountId}/limits`, adminKey, {
        max_concurrent: 9,
      });
      assert.equal(acct.body.scope, "account");
      assert.equal(acct.body.max_concurrent, 9);
      assert.equal((await call("PUT", url, userKey, { max_concurrent: 100 })).status, 403, "admins only");
      await call("PUT", url, adminKey, { requests_per_minute: null, max_concurrent: null });
      await call("PUT", `/v1/admin/accounts/${userAccountId}/limits`, adminKey, { max_concurrent: null });
    });

    test("GET /v1/usage: the caller's usage, date range and grouping", async () => {
      const tasks = finisher(store.db, billing);
      const at = Date.parse("2026-02-10T10:00:00Z");
      const t1 = await submit(store.db, billing, taskRow(userAccountId, userKeyId, { createdAt: at }));
      await tasks.finish(t1.id, "succeeded");
      const t2 = await submit(
        store.db,
        billing,
        taskRow(userAccountId, userKeyId, { createdAt: at + 86_400_000 }),
      );
      await tasks.finish(t2.id, "failed");
      const res = await call("GET", "/v1/usage?start_date=2026-02-01&end_date=2026-02-28", userKey);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.data.map((r: Record<string, unknown>) => [
          r.date,
          r.model,
          r.tasks,
          r.succeeded,
          r.failed,
          r.seconds,
          r.cost,
        ]),
        [
          ["2026-02-10", "seedance-1-5-pro-with-audio", 1, 1, 0, 5, "0.3500"],
          ["2026-02-11", "seedance-1-5-pro-with-audio", 1, 0, 1, 0, "0.0000"],
        ],
      );
      assert.equal(res.body.totals.cost, "0.3500");
      const byModel = await call(
        "GET",
        "/v1/usage?start_date=2026-02-01&end_date=2026-02-28&group_by=model",
        userKey,
      );
      assert.deepEqual(byModel.body.data.length, 1);
      assert.equal(byModel.body.data[0].tasks, 2);
      assert.equal(byModel.body.data[0].date, undefined);
      assert.equal((await call("GET", "/v1/usage?start_date=2026-02-30", userKey)).status, 400);
      assert.equal(
        (await call("GET", "/v1/usage?start_date=2026-03-01&end_date=2026-02-01", userKey)).status,
        400,
      );
      assert.equal((await call("GET", "/v1/usage?group_by=week", userKey)).status, 400);
      const defaults = await call("GET", "/v1/usage", userKey);
      assert.equal(defaults.status, 200);
      assert.equal(defaults.body.group_by.length, 3);
      // Another account sees none of it; an admin may look.
      const adminView = await call(
        "GET",
        `/v1/usage?account_id=${userAccountId}&start_date=2026-02-01&end_date=2026-02-28`,
        adminKey,
      );
      assert.equal(adminView.body.totals.tasks, 2);
      const own = await call("GET", "/v1/usage?start_date=2026-02-01&end_date=2026-02-28", adminKey);
      assert.equal(own.body.totals.tasks, 0);
    });
  });
}
