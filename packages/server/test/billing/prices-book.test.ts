import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Billing, type BillingOptions } from "../../src/billing/billing.ts";
import { MoneyError } from "../../src/billing/money.ts";
import { DEFAULT_PRICES, type PriceRule, pricingToApi } from "../../src/billing/prices.ts";
import { Catalog, type CatalogModel, DEFAULT_CATALOG } from "../../src/catalog/models.ts";
import { ApiError } from "../../src/domain/errors.ts";
import { DIALECTS, openStore, type Store } from "./helpers.ts";

/** The billing clock of these tests (ms). */
const T0 = Date.UTC(2026, 2, 1, 12, 0, 0, 789);
const GROK = DEFAULT_CATALOG.find((m) => m.id === "grok-imagine-video")!;
/** A model like Grok Imagine (480p and 720p, 8 s at 720p by default) under another id. */
const like = (id: string): CatalogModel => ({ ...GROK, id, name: id });
/** The default price of the models these tests add to the catalog. */
const LATE: PriceRule = {
  perSecond: { "480p": 10_000, "720p": 20_000 },
  perClip: 0,
  perMillionTokens: null,
  tokensPerSecond: {},
};
/** An operator's edit. */
const EDIT: PriceRule = {
  perSecond: { "480p": 30_000, "720p": 40_000 },
  perClip: 5,
  perMillionTokens: null,
  tokensPerSecond: {},
};

async function refuses(
  promise: Promise<unknown>,
  expected: { status: number; type: string; code: string; message: string; param: string | null },
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.deepEqual(
      { status: e.status, type: e.type, code: e.code, message: e.message, param: e.param },
      expected,
    );
    return true;
  });
}

const unpriced = (model: string, detail: string) => ({
  status: 500,
  type: "server_error",
  code: "model_not_priced",
  message: `${detail}; the operator must set one (PUT /v1/admin/prices/${model}) before it can be billed`,
  param: "model",
});

for (const { name, make } of DIALECTS) {
  describe(`price book on ${name}`, () => {
    let store: Store;
    let billing: Billing;

    /**
     * Another gateway over the same store whose catalog has grown by `added` (each priced LATE by
     * default, not yet written), on its own clock.
     */
    const grown = (added: string[], options: BillingOptions = {}) =>
      new Billing(store.db, new Catalog([...DEFAULT_CATALOG, ...added.map(like)]), {
        limitsCacheMs: 0,
        defaultPrices: { ...DEFAULT_PRICES, ...Object.fromEntries(added.map((id) => [id, LATE])) },
        clock: () => T0 + 1_000,
        ...options,
      });
    const rows = (model?: string) =>
      store.bdb
        .selectFrom("billing_prices")
        .selectAll()
        .$if(model !== undefined, (q) => q.where("model", "=", model!))
        .orderBy("model")
        .orderBy("version")
        .execute();

    before(async () => {
      store = await openStore(make);
      // The default catalog plus a model the operator added without a default price.
      billing = new Billing(store.db, new Catalog([...DEFAULT_CATALOG, like("operator-model")]), {
        limitsCacheMs: 0,
        clock: () => T0,
      });
      await billing.prices.ensureDefaultPrices();
    });
    after(async () => {
      await store.close();
    });

    test("ensureDefaultPrices wrote version 1 of each catalog model that has a default, once", async () => {
      assert.equal(billing.prices.currency, "USD");
      assert.equal(billing.prices.localRenders, "free");
      const written = (await rows()).map((r) => ({
        model: r.model,
        version: Number(r.version),
        currency: r.currency,
        rule: JSON.parse(r.rule_json),
        note: r.note,
        created_by: r.created_by,
        created_at: Number(r.created_at),
      }));
      const expected = DEFAULT_CATALOG.map((m) => m.id)
        .sort()
        .map((model) => ({
          model,
          version: 1,
          currency: "USD",
          rule: DEFAULT_PRICES[model],
          note: "default price",
          created_by: "default",
          created_at: T0,
        }));
      assert.deepEqual(written, expected, "none for operator-model, which has no default");
      assert.equal(
        billing.prices.ensureDefaultPrices(),
        billing.prices.ensureDefaultPrices(),
        "one run per process",
      );

      // Another process starting later leaves the defaults as the first one wrote them.
      const later = new Billing(store.db, new Catalog(), { limitsCacheMs: 0, clock: () => T0 + 60_000 });
      await later.prices.ensureDefaultPrices();
      assert.deepEqual(
        (await rows()).map((r) => [r.model, Number(r.version), Number(r.created_at)]),
        expected.map((e) => [e.model, 1, T0]),
      );
    });

    test("a failed default run is forgotten: the next call runs it again", async () => {
      let reads = 0;
      const flakyDefaults: Record<string, PriceRule> = {};
      Object.defineProperty(flakyDefaults, "flaky-model", {
        enumerable: true,
        get() {
          reads++;
          if (reads === 1) throw new Error("defaults unavailable");
          return LATE;
        },
      });
      const svc = new Billing(store.db, new Catalog([...DEFAULT_CATALOG, like("flaky-model")]), {
        limitsCacheMs: 0,
        defaultPrices: flakyDefaults,
        clock: () => T0 + 7,
      });
      await assert.rejects(svc.prices.ensureDefaultPrices(), /^Error: defaults unavailable$/);
      assert.deepEqual(await rows("flaky-model"), []);
      await svc.prices.ensureDefaultPrices();
      assert.equal(reads, 2);
      assert.deepEqual(
        (await rows("flaky-model")).map((r) => [Number(r.version), r.rule_json, Number(r.created_at)]),
        [[1, JSON.stringify(LATE), T0 + 7]],
      );
    });

    test("the current price is the highest version; a grown catalog's default is written on first use", async () => {
      const svc = grown(["late-model", "history-model"], {
        defaultPrices: { ...DEFAULT_PRICES, "late-model": LATE, "history-model": LATE, "ghost-model": LATE },
      });
      const v1 = await svc.prices.current("late-model");
      assert.ok(v1);
      assert.match(v1.id, /^price_/);
      assert.deepEqual(v1, {
        id: v1.id,
        model: "late-model",
        version: 1,
        currency: "USD",
        rule: LATE,
        note: "default price",
        createdBy: "default",
        createdAt: T0 + 1_000,
      });
      assert.deepEqual(await svc.prices.current("late-model"), v1, "written once");
      assert.deepEqual(await billing.prices.at("late-model", 1), v1, "any process reads it");
      assert.equal(await billing.prices.at("late-model", 2), undefined);
      assert.equal((await rows("late-model")).length, 1);

      // history writes the default too.
      const history = await svc.prices.history("history-model");
      assert.deepEqual(
        history.map((p) => [p.model, p.version, p.note]),
        [["history-model", 1, "default price"]],
      );

      // A default for a model outside the catalog is never written; a catalog model without one has no price.
      assert.equal(await svc.prices.current("ghost-model"), undefined);
      assert.deepEqual(await rows("ghost-model"), []);
      assert.equal(await billing.prices.current("operator-model"), undefined);
      assert.deepEqual(await billing.prices.history("operator-model"), []);
      assert.equal(await billing.prices.current("no-such-model"), undefined);
    });

    test("setPrice adds the next version (after the default), who and when; the old ones stay", async () => {
      const svc = grown(["edited-model", "plain-model"]);
      const v2 = await svc.prices.setPrice("edited-model", EDIT, {
        note: "spring",
        createdBy: "key_admin",
        now: T0 + 5_000,
      });
      assert.deepEqual(v2, {
        id: v2.id,
        model: "edited-model",
        version: 2,
        currency: "USD",
        rule: EDIT,
        note: "spring",
        createdBy: "key_admin",
        createdAt: T0 + 5_000,
      });
      assert.deepEqual(await svc.prices.current("edited-model"), v2);
      assert.deepEqual(await svc.prices.at("edited-model", 2), v2);
      const v3 = await svc.prices.setPrice("edited-model", LATE);
      assert.deepEqual(
        [v3.version, v3.note, v3.createdBy, v3.createdAt, v3.rule],
        [3, null, null, T0 + 1_000, LATE],
      );
      assert.deepEqual(
        (await svc.prices.history("edited-model")).map((p) => [p.version, p.note]),
        [
          [3, null],
          [2, "spring"],
          [1, "default price"],
        ],
      );
      // A model without a default starts at version 1.
      const first = await billing.prices.setPrice("operator-model", EDIT, { now: T0 });
      assert.equal(first.version, 1);
      assert.deepEqual(await billing.prices.current("operator-model"), first);

      await refuses(svc.prices.setPrice("nope", EDIT), {
        status: 404,
        type: "not_found_error",
        code: "model_not_found",
        message: 'The model "nope" does not exist. GET /v1/models lists the models you can use.',
        param: "model",
      });
      await refuses(svc.prices.setPrice("plain-model", { ...EDIT, perSecond: { "480p": 1 } }), {
        status: 400,
        type: "invalid_request_error",
        code: "incomplete_price",
        message: "the price of plain-model is missing per_second.720p",
        param: "per_second.720p",
      });
      await refuses(
        svc.prices.setPrice("plain-model", {
          ...EDIT,
          perSecond: {},
          perMillionTokens: 1,
          tokensPerSecond: { "480p": 1 },
        }),
        {
          status: 400,
          type: "invalid_request_error",
          code: "incomplete_price",
          message:
            "the price of plain-model is missing per_second.480p, per_second.720p, tokens_per_second.720p",
          param: "per_second.480p",
        },
      );
      assert.deepEqual(await rows("plain-model"), [], "a refused edit writes nothing, not even the default");
    });

    test("setPrice retries a failed write (a racing editor took the number), five times at most", async () => {
      const svc = grown(["retry-model", "doomed-model"]);
      let attempts = 0;
      const racing = {
        ...EDIT,
        toJSON() {
          attempts++;
          if (attempts === 1) throw new Error("lost the race");
          return { ...EDIT };
        },
      };
      const won = await svc.prices.setPrice("retry-model", racing);
      assert.equal(attempts, 2);
      assert.deepEqual([won.version, won.rule], [2, EDIT]);

      let failures = 0;
      const doomed = {
        ...EDIT,
        toJSON() {
          failures++;
          throw new Error(`attempt ${failures} failed`);
        },
      };
      await assert.rejects(svc.prices.setPrice("doomed-model", doomed), /^Error: attempt 5 failed$/);
      assert.equal(failures, 5);
      assert.deepEqual(
        (await svc.prices.history("doomed-model")).map((p) => p.version),
        [1],
      );
    });

    test("estimate: the current or pinned version and its quote; free tasks hold nothing", async () => {
      const svc = grown(["estimated-model", "dated-model"]);
      const base = { model: "estimated-model", resolution: "720p" as const, maxSeconds: 8, free: false };
      const v1 = await svc.prices.estimate(base, T0);
      assert.deepEqual(v1, { price: await svc.prices.at("estimated-model", 1), amount: 160_000 });
      const v2 = await svc.prices.setPrice("estimated-model", EDIT);
      assert.deepEqual(await svc.prices.estimate(base, T0), { price: v2, amount: 320_005 });
      assert.deepEqual(await svc.prices.estimate({ ...base, priceVersion: 1 }, T0), v1);
      assert.deepEqual(
        await svc.prices.estimate({ ...base, resolution: "480p", maxSeconds: 3, priceVersion: 2 }, T0),
        {
          price: v2,
          amount: 90_005,
        },
      );
      assert.deepEqual(await svc.prices.estimate({ ...base, free: true }, T0), { price: v2, amount: 0 });
      const missing = {
        status: 400,
        type: "invalid_request_error",
        code: "price_version_not_found",
        message: "estimated-model has no price version 99",
        param: "model",
      };
      await refuses(svc.prices.estimate({ ...base, priceVersion: 99 }, T0), missing);
      await refuses(svc.prices.estimate({ ...base, priceVersion: 99, free: true }, T0), missing);

      // The default of a grown catalog is written at the estimate's time, inside its transaction.
      const dated = await store.db
        .transaction()
        .execute((trx) => svc.prices.estimate({ ...base, model: "dated-model" }, T0 + 77, trx));
      assert.deepEqual([dated.price?.version, dated.price?.createdAt, dated.amount], [1, T0 + 77, 160_000]);

      // No price: only a free task gets through.
      const unpricedTask = { ...base, model: "operator-model-2" };
      const withOperatorModel = new Billing(
        store.db,
        new Catalog([...DEFAULT_CATALOG, like("operator-model-2")]),
        {
          limitsCacheMs: 0,
        },
      );
      assert.deepEqual(await withOperatorModel.prices.estimate({ ...unpricedTask, free: true }, T0), {
        price: undefined,
        amount: 0,
      });
      await refuses(
        withOperatorModel.prices.estimate(unpricedTask, T0),
        unpriced("operator-model-2", "operator-model-2 has no price on this gateway"),
      );
    });

    test("estimate refuses a price in another currency or with a gap (500), and passes other errors on", async () => {
      const grok = { model: "grok-imagine-video", resolution: "720p" as const, maxSeconds: 8, free: false };
      assert.equal((await billing.prices.estimate(grok, T0)).amount, 560_000);
      const euros = new Billing(store.db, new Catalog(), { currency: "EUR", limitsCacheMs: 0 });
      await refuses(
        euros.prices.estimate(grok, T0),
        unpriced("grok-imagine-video", "the price of grok-imagine-video is in USD, not EUR"),
      );
      assert.equal(
        (await euros.prices.estimate({ ...grok, free: true }, T0)).amount,
        0,
        "free: no currency needed",
      );
      await refuses(
        billing.prices.estimate({ ...grok, resolution: "1080p" }, T0),
        unpriced("grok-imagine-video", "grok-imagine-video: the price has no per-second amount for 1080p"),
      );
      await assert.rejects(billing.prices.estimate({ ...grok, maxSeconds: 2 ** 50 }, T0), (e: unknown) => {
        assert.ok(e instanceof MoneyError, String(e));
        assert.equal(e.message, `product is out of range: ${70_000n * 2n ** 50n}`);
        return true;
      });
    });

    test("chargeAt prices actual usage at a stored version, reported tokens included", async () => {
      const svc = grown(["token-model"]);
      const v1 = (await svc.prices.current("token-model"))!;
      assert.equal(await svc.prices.chargeAt(v1.id, "720p", 3, undefined), 60_000);
      const tokens = await svc.prices.setPrice("token-model", {
        perSecond: { "480p": 0, "720p": 1 },
        perClip: 10_000,
        perMillionTokens: 6_400_000,
        tokensPerSecond: { "480p": 10_000, "720p": 20_000 },
      });
      assert.equal(await svc.prices.chargeAt(tokens.id, "720p", 5, 48_601), 10_000 + 5 + 311_047);
      assert.equal(await svc.prices.chargeAt(tokens.id, "720p", 5, undefined), 10_000 + 5 + 640_000);
      assert.equal(
        await store.db.transaction().execute((trx) => svc.prices.chargeAt(v1.id, "480p", 2, 99, trx)),
        20_000,
        "the version it was held at, not the current one",
      );
      await assert.rejects(svc.prices.chargeAt("price_missing", "720p", 1, undefined));
    });

    test("pricingForModels: the current price of every model in this catalog, free local renders or not", async () => {
      const catalog = new Catalog([GROK, like("listed-model")]);
      const defaults = { ...DEFAULT_PRICES, "listed-model": LATE };
      const priced = new Billing(store.db, catalog, {
        limitsCacheMs: 0,
        localRenders: "priced",
        defaultPrices: defaults,
        clock: () => T0 + 3_000,
      });
      assert.equal(priced.prices.localRenders, "priced");
      const pricing = await priced.prices.pricingForModels();
      assert.deepEqual([...pricing.keys()].sort(), ["grok-imagine-video", "listed-model"]);
      const grokPrice = (await billing.prices.current("grok-imagine-video"))!;
      const listedPrice = (await priced.prices.current("listed-model"))!;
      assert.equal(listedPrice.createdAt, T0 + 3_000, "written by pricingForModels' default run");
      assert.deepEqual(pricing.get("grok-imagine-video"), pricingToApi(grokPrice, GROK, false));
      assert.deepEqual(pricing.get("listed-model"), pricingToApi(listedPrice, like("listed-model"), false));
      assert.deepEqual(pricing.get("grok-imagine-video")?.free_when, ["test_mode"]);

      const free = new Billing(store.db, catalog, { limitsCacheMs: 0, defaultPrices: defaults });
      assert.deepEqual(
        (await free.prices.pricingForModels()).get("grok-imagine-video"),
        pricingToApi(grokPrice, GROK, true),
      );
    });
  });
}
