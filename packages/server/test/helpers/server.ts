import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConfigInput, loadConfig } from "../../src/config.ts";
import { type RunningServer, startServer } from "../../src/server.ts";

export const ADMIN_KEY = `sk-test${"A".repeat(40)}`;

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  key: string;
  /** fetch against the server with the admin key (override with headers.authorization). */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Create another account and return its key. */
  newAccountKey(name?: string, testMode?: boolean): Promise<string>;
  stop(): Promise<void>;
}

/** A real server on an ephemeral loopback port with a private data dir. */
export async function startTestServer(
  overrides: Partial<ConfigInput> = {},
  /** `asInstalled`: leave the bootstrap account as a fresh installation has it (unmetered, no balance). */
  options: { asInstalled?: boolean } = {},
): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-test-"));
  const config = loadConfig(
    {
      host: "127.0.0.1",
      port: 0,
      dataDir,
      bootstrapKey: ADMIN_KEY,
      logLevel: process.env.TEST_LOG_LEVEL ?? "silent",
      renderConcurrency: 2,
      // Every process on a Postgres store needs the deployment's secret (server.ts refuses without).
      ...(String(overrides.databaseUrl ?? "").startsWith("postgres")
        ? { secret: "test-secret-for-postgres-stores" }
        : {}),
      ...overrides,
    },
    {},
  );
  const server = await startServer(config);
  const url = server.url;
  // The bootstrap account is unmetered in production; the suite bills it like a customer's
  // (prepaid, with plenty of balance: $1,000,000) so every flow exercises holds and captures.
  // The unmetered default itself is tested in test/billing/modes.test.ts.
  if (!options.asInstalled) {
    const admin = await server.services.accounts.authenticate(ADMIN_KEY);
    await server.services.accounts.setBillingMode(admin!.account.id, "prepaid");
    await server.services.billing.ledger.topup(admin!.account.id, 1_000_000 * 1_000_000, "test-harness");
  }
  const api = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${ADMIN_KEY}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    return fetch(`${url}${path}`, { ...init, headers, body });
  };
  return {
    server,
    url,
    dataDir,
    key: ADMIN_KEY,
    api,
    async newAccountKey(name = "other", testMode = false) {
      const res = await api("/v1/admin/keys", {
        method: "POST",
        json: { account_name: name, test_mode: testMode },
      });
      if (res.status !== 200) throw new Error(`creating a key failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { key: string }).key;
    },
    async stop() {
      await server.close(2000);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Poll a task until it is terminal (or the deadline passes). */
export async function waitForTask(
  t: Pick<TestServer, "api">,
  taskId: string,
  options: { timeoutMs?: number; key?: string } = {},
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const res = await t.api(`/v1/video/generations/${taskId}`, {
      headers: options.key ? { authorization: `Bearer ${options.key}` } : {},
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (body.status === "succeeded" || body.status === "failed") return body;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${body.status} after the deadline`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Upload a file from disk through the real multipart endpoint. */
export async function uploadFile(
  t: Pick<TestServer, "api">,
  path: string,
  options: { filename?: string; key?: string; contentType?: string } = {},
): Promise<Response> {
  const { readFile } = await import("node:fs/promises");
  const form = new FormData();
  form.append("purpose", "video_reference");
  form.append(
    "file",
    new Blob([await readFile(path)], { type: options.contentType ?? "application/octet-stream" }),
    options.filename ?? path.split("/").pop(),
  );
  return t.api("/v1/files", {
    method: "POST",
    body: form,
    headers: options.key ? { authorization: `Bearer ${options.key}` } : {},
  });
}

/** Add an upstream channel through the admin API (asserts 200) and return it. */
export async function addChannel(
  t: Pick<TestServer, "api">,
  json: Record<string, unknown>,
): Promise<{ id: string; name: string }> {
  const res = await t.api("/v1/admin/channels", { method: "POST", json });
  if (res.status !== 200) throw new Error(`adding a channel answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; name: string };
}

/** Submit a task (`POST /v1/video/generations`, asserts 200) and return its id. */
export async function submitTask(t: Pick<TestServer, "api">, json: Record<string, unknown>): Promise<string> {
  const res = await t.api("/v1/video/generations", { method: "POST", json });
  if (res.status !== 200) throw new Error(`submitting a task answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { task_id: string }).task_id;
}
