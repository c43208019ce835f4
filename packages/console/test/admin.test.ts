/**
 * The administration pages (Keys, Channels, Accounts) in Chromium against a real gateway, with the
 * Ark double as the upstream of a channel added through the form. Every check of an effect asks
 * the API itself, not only the page.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { type ArkDouble, startArkDouble } from "../../server/test/doubles/ark/double.ts";
import { assertClean, browserSkipReason, type ConsoleHarness, startConsoleHarness } from "./harness.ts";

const skip = browserSkipReason();

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  assert.ok(res.ok, `${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function openAdminPage(page: Page, name: "Keys" | "Channels" | "Accounts") {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

/** Poll `probe` until it returns a value (or fail after 10 s). */
async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting for the API to change");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The table row that holds `text` (each row is one key, channel or account). */
const rowOf = (page: Page, text: string) => page.locator("main tbody tr").filter({ hasText: text });

describe("console: administration", { skip }, () => {
  let h: ConsoleHarness;
  let ark: ArkDouble;
  before(async () => {
    ark = await startArkDouble({ profile: "cn" });
    // The Ark double listens on loopback, which channels may reach only when allowed.
    h = await startConsoleHarness({ allowPrivateTargets: "127.0.0.1" });
  });
  after(async () => {
    await h?.close();
    await ark?.close();
  });

  test("Keys: create shows the secret once; it signs in; the list hides it; Revoke → 401", async () => {
    const { page, report } = await h.signIn();
    await openAdminPage(page, "Keys");
    await page.getByRole("button", { name: "Create key" }).click();
    // Keyboard users land in the form that opened.
    await page.waitForFunction(() => document.activeElement?.id === "key-account");
    await page.getByLabel("Account", { exact: true }).selectOption({ label: "New account…" });
    await page.getByLabel("New account name").fill("studio-b");
    await page.getByLabel("Key name").fill("render-farm");
    await page.getByRole("button", { name: "Create key" }).last().click();

    const dialog = page.getByRole("dialog", { name: /render-farm/ });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? "", /you will not see it again/);
    const secret = (await dialog.getByTestId("new-key-secret").textContent())?.trim() ?? "";
    assert.match(secret, /^sk-/);
    await dialog.getByRole("button", { name: "Copy" }).click();
    await dialog.getByRole("status").filter({ hasText: "Copied" }).waitFor();
    // Escape closes the dialog (keyboard), and the secret is gone from the page.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    const row = rowOf(page, "render-farm");
    await row.waitFor();
    assert.ok(!(await page.content()).includes(secret), "the secret is still in the page");
    assert.match((await row.textContent()) ?? "", /studio-b/);

    // It is a real key: another browser context signs in with it, as a non-admin of studio-b.
    const other = await h.signIn(secret);
    assert.match((await other.page.locator(".who").textContent()) ?? "", /studio-b/);
    assertClean(other.report);

    const keys = await json<{ data: Array<{ id: string; name: string }> }>(
      await h.gateway.api("/v1/admin/keys"),
    );
    const created = keys.data.find((k) => k.name === "render-farm");
    assert.ok(created);
    assert.equal(JSON.stringify(keys).includes(secret), false);

    // Revoke asks first; Cancel keeps the key.
    await row.getByRole("button", { name: "Revoke render-farm" }).click();
    await row.getByRole("button", { name: "Cancel" }).click();
    const me = () => fetch(`${h.gateway.url}/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal((await me()).status, 200);
    // With the keyboard: focus Revoke, Enter, then confirm with Enter.
    await row.getByRole("button", { name: "Revoke render-farm" }).focus();
    await page.keyboard.press("Enter");
    await row.getByRole("button", { name: "Confirm revoking render-farm" }).focus();
    await page.keyboard.press("Enter");
    await row.getByText("revoked").waitFor();
    assert.equal((await me()).status, 401);
    assertClean(report);
  });

  test("Channels: add against the Ark double, field errors, Test, Disable/Enable", async () => {
    const { page, report } = await h.signIn();
    await openAdminPage(page, "Channels");
    await page.getByRole("button", { name: "Add channel" }).click();
    await page.getByLabel("Provider").selectOption("ark");
    await page.getByLabel("Name (optional)").fill("ark-double");
    await page.getByLabel("Base URL").fill("not a url");
    await page.getByLabel("API key").fill(ark.keys[0]!);
    await page.getByLabel("Model 1").selectOption("seedance-1-5-pro-no-audio");
    await page.getByLabel("Upstream model id 1").fill("doubao-seedance-1-5-pro-251215");
    await page.getByLabel("Max concurrent tasks").fill("3");
    const submit = page.locator("form").getByRole("button", { name: "Add channel" });
    await submit.click();
    // The API's message, next to the field it named.
    const baseUrlError = page.locator('[data-field-error="channel-base-url"]');
    await baseUrlError.waitFor();
    assert.match((await baseUrlError.textContent()) ?? "", /base_url must be an http\(s\) URL/);
    assert.equal(await page.getByLabel("Base URL").getAttribute("aria-invalid"), "true");
    assert.equal((await h.gateway.api("/v1/admin/channels").then(json<{ data: unknown[] }>)).data.length, 0);

    // An upstream id left empty: the error sits on the model mapping.
    await page.getByLabel("Base URL").fill(ark.baseUrl);
    await page.getByLabel("Upstream model id 1").fill("");
    await submit.click();
    await page.locator('[data-field-error="channel-models"]').waitFor();
    assert.equal(await baseUrlError.count(), 0);

    await page.getByLabel("Upstream model id 1").fill("doubao-seedance-1-5-pro-251215");
    await submit.click();
    const row = rowOf(page, "ark-double");
    await row.waitFor();
    assert.equal(await page.getByLabel("API key").count(), 0, "the form closed");
    const text = (await row.textContent()) ?? "";
    assert.ok(text.includes(ark.baseUrl), text);
    assert.match(text, /seedance-1-5-pro-no-audio → doubao-seedance-1-5-pro-251215/);
    assert.match(text, /0 \/ 3/);
    assert.ok(!text.includes(ark.keys[0]!), "the channel key is shown");

    const list = await json<{
      data: Array<{ id: string; name: string; enabled: boolean; max_concurrent: number }>;
    }>(await h.gateway.api("/v1/admin/channels"));
    const channel = list.data.find((c) => c.name === "ark-double");
    assert.ok(channel);
    assert.equal(channel.max_concurrent, 3);

    await row.getByRole("button", { name: "Test ark-double" }).click();
    await row.getByText(/OK · \d+ ms/).waitFor();

    const enabled = async () =>
      (await json<{ enabled: boolean }>(await h.gateway.api(`/v1/admin/channels/${channel.id}`))).enabled;
    await row.getByRole("button", { name: "Disable ark-double" }).click();
    await row.getByRole("button", { name: "Enable ark-double" }).waitFor();
    assert.equal(await enabled(), false);
    assert.match((await row.textContent()) ?? "", /disabled/);
    await row.getByRole("button", { name: "Enable ark-double" }).click();
    await row.getByRole("button", { name: "Disable ark-double" }).waitFor();
    assert.equal(await enabled(), true);

    // A channel whose key the double refuses: Test shows the upstream's error.
    const bad = await json<{ id: string }>(
      await h.gateway.api("/v1/admin/channels", {
        method: "POST",
        json: {
          provider: "ark",
          name: "ark-wrong-key",
          base_url: ark.baseUrl,
          api_key: "not-a-valid-ark-key",
          models: { "seedance-1-5-pro-no-audio": "doubao-seedance-1-5-pro-251215" },
        },
      }),
    );
    assert.ok(bad.id);
    await page.reload();
    const badRow = rowOf(page, "ark-wrong-key");
    await badRow.getByRole("button", { name: "Test ark-wrong-key" }).click();
    await badRow.getByText(/Failed after \d+ ms: ./).waitFor();
    assertClean(report);
  });

  test("Limits: the editor saves a key's limits; the API returns them; a bad value is refused on its field", async () => {
    await h.gateway.newAccountKey("limited");
    const keys = await json<{ data: Array<{ id: string; name: string; account_id: string }> }>(
      await h.gateway.api("/v1/admin/keys"),
    );
    const accounts = await json<{ data: Array<{ id: string; name: string }> }>(
      await h.gateway.api("/v1/admin/accounts"),
    );
    const account = accounts.data.find((a) => a.name === "limited")!;
    const key = keys.data.find((k) => k.account_id === account.id)!;

    const { page, report } = await h.signIn();
    await openAdminPage(page, "Keys");
    await page
      .locator(`tr[data-key-id="${key.id}"]`)
      .getByRole("button", { name: /^Limits of / })
      .click();
    const editor = page.locator("form", { has: page.getByRole("heading", { name: /^Limits of key/ }) });
    await editor.getByRole("button", { name: "Save limits" }).waitFor();
    // Enabled once the key's limits have loaded (the form is filled from them).
    await editor.locator("button[type=submit]:not([disabled])").waitFor();

    await page.getByLabel("Requests per minute").fill("0");
    await editor.getByRole("button", { name: "Save limits" }).click();
    const rpmError = page.locator('[data-field-error="limit-rpm"]');
    await rpmError.waitFor();
    assert.match((await rpmError.textContent()) ?? "", /requests_per_minute must be an integer/);

    await page.getByLabel("Requests per minute").fill("30");
    await page.getByLabel("Max concurrent tasks").fill("2");
    await page.getByLabel("Daily spend cap").fill("12.5");
    await page.getByLabel("Only the models ticked below").check();
    await page.getByLabel("seedance-1-5-pro-no-audio").check();
    await editor.getByRole("button", { name: "Save limits" }).click();
    await editor.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    assert.equal(await rpmError.count(), 0);

    const limits = await json<Record<string, unknown>>(
      await h.gateway.api(`/v1/admin/keys/${key.id}/limits`),
    );
    assert.equal(limits.requests_per_minute, 30);
    assert.equal(limits.max_concurrent, 2);
    assert.equal(limits.daily_spend_cap_micros, 12_500_000);
    assert.deepEqual(limits.allowed_models, ["seedance-1-5-pro-no-audio"]);

    // Emptied fields inherit again (null).
    await page.getByLabel("Requests per minute").fill("");
    await page.getByLabel("Only the models ticked below").uncheck();
    await editor.getByRole("button", { name: "Save limits" }).click();
    // The first save's "Saved" line is still there; wait for the API to hold the new values.
    const cleared = await until(async () => {
      const now = await json<Record<string, unknown>>(await h.gateway.api(`/v1/admin/keys/${key.id}/limits`));
      return now.requests_per_minute === null ? now : undefined;
    });
    await editor.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    assert.equal(cleared.requests_per_minute, null);
    assert.equal(cleared.allowed_models, null);
    assert.equal(cleared.max_concurrent, 2);
    assertClean(report);
  });

  test("Accounts: a top-up changes the shown balance and the API's by its amount; the ledger lists it", async () => {
    const customerKey = await h.gateway.newAccountKey("customer-c");
    const balanceOfKey = async () =>
      Number(
        (
          await json<{ balance: string }>(
            await fetch(`${h.gateway.url}/v1/balance`, {
              headers: { authorization: `Bearer ${customerKey}` },
            }),
          )
        ).balance,
      );
    const before = await balanceOfKey();

    const { page, report } = await h.signIn();
    await openAdminPage(page, "Accounts");
    const row = rowOf(page, "customer-c");
    await row.locator("[data-balance]").filter({ hasText: /\d/ }).waitFor();
    const shown = async () =>
      Number(((await row.locator("[data-balance]").textContent()) ?? "").replace(/[^\d.-]/g, ""));
    assert.equal(await shown(), before);

    await row.getByRole("button", { name: "Top up and ledger of customer-c" }).click();
    await page.getByLabel("Amount").fill("-3");
    await page.getByRole("button", { name: "Top up", exact: true }).click();
    await page.locator('[data-field-error="topup-amount"]').waitFor();

    await page.getByLabel("Amount").fill("12.34");
    await page.getByLabel("Note").fill("invoice 1042");
    await page.getByRole("button", { name: "Top up", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "Credited" }).waitFor();

    assert.equal(Math.round((await shown()) * 100), Math.round((before + 12.34) * 100));
    assert.equal(Math.round((await balanceOfKey()) * 100), Math.round((before + 12.34) * 100));
    const entry = page
      .getByRole("table", { name: "Ledger" })
      .locator("tbody tr")
      .filter({ hasText: "invoice 1042" });
    await entry.waitFor();
    assert.match((await entry.textContent()) ?? "", /topup.*12\.34/);

    // The billing mode: a new account is prepaid; switching it is saved through the API.
    const mode = row.getByLabel("Billing mode of customer-c");
    assert.equal(await mode.inputValue(), "prepaid");
    await mode.selectOption("unmetered");
    const balanceMode = async () =>
      (
        await json<{ billing_mode: string }>(
          await fetch(`${h.gateway.url}/v1/balance`, { headers: { authorization: `Bearer ${customerKey}` } }),
        )
      ).billing_mode;
    for (const started = Date.now(); (await balanceMode()) !== "unmetered"; ) {
      assert.ok(Date.now() - started < 10_000, "the account became unmetered");
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.reload();
    assert.equal(
      await rowOf(page, "customer-c").getByLabel("Billing mode of customer-c").inputValue(),
      "unmetered",
    );
    assertClean(report);
  });

  test("a non-admin key sees no administration pages and no admin request of its succeeds", async () => {
    const key = await h.gateway.newAccountKey("plain-user");
    const { page, report } = await h.open();
    const adminResponses: Array<{ url: string; status: number }> = [];
    page.on("response", (res) => {
      if (new URL(res.url()).pathname.startsWith("/v1/admin/"))
        adminResponses.push({ url: res.url(), status: res.status() });
    });
    await page.goto("/console/");
    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.waitFor();
    for (const name of ["Keys", "Channels", "Accounts"]) {
      assert.equal(await nav.getByRole("link", { name, exact: true }).count(), 0);
      await page.goto(`/console/${name.toLowerCase()}`);
      await page.getByRole("alert").filter({ hasText: "admin" }).waitFor();
      assert.equal(await page.getByRole("heading", { level: 1, name }).count(), 0);
    }
    assert.deepEqual(
      adminResponses.filter((r) => r.status < 400),
      [],
    );
    // And the API refuses this key whatever a page might send.
    for (const path of ["/v1/admin/keys", "/v1/admin/channels", "/v1/admin/accounts"]) {
      const res = await fetch(`${h.gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 403, path);
    }
    assertClean(report);
  });

  test("phone (375 px): the admin pages fit the screen; tables scroll inside their box", async () => {
    const { page, report } = await h.open({ viewport: { width: 375, height: 740 } });
    await page.goto("/console/");
    await page.getByLabel("API key").fill(h.gateway.key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    for (const name of ["Keys", "Channels", "Accounts"] as const) {
      await page.goto(`/console/${name.toLowerCase()}`);
      await page.getByRole("heading", { level: 1, name }).waitFor();
      await page.locator("main tbody tr").first().waitFor();
      if (name === "Keys") await page.getByRole("button", { name: "Create key" }).click();
      if (name === "Channels") await page.getByRole("button", { name: "Add channel" }).click();
      if (name === "Accounts") await page.locator("main tbody tr").first().getByRole("button").click();
      await page.locator("main form").first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the screen`);
    }
    assertClean(report);
  });
});
