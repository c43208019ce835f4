import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FalAdapter } from "../../src/providers/fal/adapter.ts";
import { type FalDouble, startFalDouble } from "../doubles/fal/double.ts";
import { startReceiver, until } from "../helpers/receiver.ts";
import { startTestServer, submitTask, type TestServer, waitForTask } from "../helpers/server.ts";

const T2V = "happyhorse-1.0-t2v";
const I2V = "happyhorse-1.0-i2v";
const APP_T2V = "alibaba/happy-horse/text-to-video";

const gatewayOptions = {
  upstreamPollScale: 0.01,
  upstreamSubmitTimeoutSeconds: 1,
  breakerCooldownSeconds: 1,
  sweepIntervalSeconds: 1,
};

// biome-ignore lint/suspicious/noExplicitAny: JSON is inspected loosely in tests.
type Json = any;

const channelBase = (fal: FalDouble, extra = "") =>
  `${fal.baseUrl}?jwks_url=${encodeURIComponent(fal.jwksUrl)}${extra}`;

/** Talks to the double the way a client would: `Authorization: Key …`. */
function client(fal: FalDouble) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(path.startsWith("http") ? path : `${fal.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Key ${fal.keys[0]}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json: Json = text;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, body: json };
  };
}

describe("fal webhooks: Ed25519 signatures checked against the channel's JWKS", () => {
  let fal: FalDouble;
  let adapter: FalAdapter;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const verdicts: Array<{ requestId: string } | { refused: string }> = [];
  before(async () => {
    fal = await startFalDouble({ queueDelayMs: 1000, runMsPer5s: { "720p": 6000, "1080p": 6000 } });
    // refetchMinMs 0: a failed verification may fetch the key set again at once (rotation).
    adapter = new FalAdapter({ webhook: { refetchMinMs: 0 } });
    const context = { baseUrl: channelBase(fal) };
    // A receiver that does what the hook route will do: verify, answer 401 when it cannot.
    receiver = await startReceiver((req, _i, res) => {
      void adapter.verifyCallback({ headers: req.headers, rawBody: req.body }, context).then((verdict) => {
        verdicts.push(verdict);
        res.statusCode = "refused" in verdict ? 401 : 200;
        res.end();
      });
    });
  });
  after(async () => {
    await fal.close();
    await receiver.close();
  });

  const call = () => client(fal);
  /** Submit with a webhook to the receiver and wait until the delivery is finished. */
  const deliver = async (prompt = "a webhook") => {
    const res = await call()("POST", `/${APP_T2V}?fal_webhook=${encodeURIComponent(receiver.url)}`, {
      prompt,
      resolution: "720p",
    });
    assert.equal(res.status, 200);
    const id = res.body.request_id as string;
    await until(
      () => fal.callbacks.attempts({ key: id }).some((a) => a.ok || a.attempt >= 2),
      10_000,
      "delivery",
    );
    await fal.callbacks.idle();
    return { id, attempts: fal.callbacks.attempts({ key: id }) };
  };
  const jwksFetches = () => fal.journal.list({ path: "/.well-known/jwks.json" }).length;

  test("a genuine webhook verifies; the key set is fetched once and cached", async () => {
    const first = await deliver();
    assert.deepEqual(
      first.attempts.map((a) => a.status),
      [200],
    );
    const body = JSON.parse(receiver.received.at(-1)!.body) as Json;
    assert.equal(body.request_id, first.id);
    assert.equal(body.status, "OK");
    assert.match(body.payload.video.url, /^http:\/\/127\.0\.0\.1:\d+\/cdn\//);
    assert.deepEqual(verdicts.at(-1), { requestId: first.id, status: "OK" });
    await deliver();
    assert.equal(jwksFetches(), 1, "cached");
  });

  test("a bad signature is refused; fal retries and the good attempt passes", async () => {
    fal.updateSettings({ webhook: { fault: "bad-signature", faultAttempts: 1 } });
    const { attempts } = await deliver();
    assert.deepEqual(
      attempts.map((a) => a.status),
      [401, 200],
    );
    assert.match(String((verdicts.at(-2) as { refused: string }).refused), /signature/);
  });

  test("a stale timestamp and a key that is not in the JWKS are refused", async () => {
    fal.updateSettings({ webhook: { fault: "stale-timestamp", faultAttempts: 1 } });
    await deliver();
    assert.match(String((verdicts.at(-2) as { refused: string }).refused), /timestamp is \d+ s away/);
    fal.updateSettings({ webhook: { fault: "unknown-key", faultAttempts: 1 } });
    const before = jwksFetches();
    await deliver();
    assert.match(String((verdicts.at(-2) as { refused: string }).refused), /no key/);
    assert.equal(jwksFetches(), before + 1, "an unknown key makes it look for rotated keys once");
    fal.updateSettings({ webhook: { fault: "none", faultAttempts: 0 } });
  });

  test("a rotated key (the old one removed from the JWKS) is picked up without a restart", async () => {
    const before = jwksFetches();
    fal.signing.rotate();
    const { attempts } = await deliver("after rotation");
    assert.deepEqual(
      attempts.map((a) => a.status),
      [200],
    );
    assert.equal(jwksFetches(), before + 1);
  });

  test("a body that was altered after signing is refused", async () => {
    const good = receiver.received.at(-1)!;
    const tampered = good.body.replace('"status":"OK"', '"status":"ERROR"');
    const verdict = await adapter.verifyCallback(
      { headers: good.headers, rawBody: tampered },
      { baseUrl: channelBase(fal) },
    );
    assert.ok("refused" in verdict);
    const missing = await adapter.verifyCallback(
      { headers: {}, rawBody: good.body },
      { baseUrl: channelBase(fal) },
    );
    assert.match((missing as { refused: string }).refused, /missing/);
    // parseCallback (what the hook route calls) refuses it too, and accepts the genuine one.
    const ctx = { id: "ch", baseUrl: channelBase(fal), apiKey: "k", upstreamModel: "" };
    const raw = (text: string) => ({
      headers: good.headers,
      rawBody: Buffer.from(text),
      body: JSON.parse(text),
    });
    assert.equal(await adapter.parseCallback(raw(tampered), ctx), null);
    assert.deepEqual(await adapter.parseCallback(raw(good.body), ctx), {
      upstreamId: JSON.parse(good.body).request_id,
    });
  });
});

describe("HappyHorse on fal, end to end", () => {
  let t: TestServer;
  let fal: FalDouble;
  let channelId: string;
  before(async () => {
    fal = await startFalDouble();
    t = await startTestServer(gatewayOptions);
    const res = await t.api("/v1/admin/channels", {
      method: "POST",
      json: {
        provider: "fal",
        base_url: channelBase(fal),
        api_key: fal.keys[0],
        models: { [T2V]: APP_T2V, [I2V]: "alibaba/happy-horse/image-to-video" },
        max_concurrent: 20,
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    channelId = ((await res.json()) as { id: string }).id;
  });
  after(async () => {
    await t.stop();
    await fal.close();
  });

  const submit = (prompt: string, metadata: Record<string, unknown> = {}) =>
    submitTask(t, { model: T2V, prompt, seconds: "3", metadata: { resolution: "720p", ...metadata } });
  const requestOf = async (taskId: string) => {
    let upstream = "";
    await until(
      async () => {
        upstream = (await t.server.services.taskRepo.getById(taskId))?.upstream_id ?? "";
        return upstream !== "";
      },
      10_000,
      "an upstream id",
    );
    return upstream.split("/").at(-1)!;
  };

  test("text-to-video: fal's naming, 202 then 200 on the returned status URL, then the result", async () => {
    const id = await submit("a horse on a beach", { ratio: "9:16", seed: 7 });
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.equal(task.provider, "fal");
    const post = fal.journal.last({ method: "POST", path: `/${APP_T2V}` })!;
    assert.deepEqual(post.body, {
      prompt: "a horse on a beach",
      resolution: "720p",
      aspect_ratio: "9:16",
      duration: 3,
      seed: 7,
    });
    const request = await requestOf(id);
    const statuses = fal.journal.list({
      method: "GET",
      path: `/alibaba/happy-horse/requests/${request}/status`,
    });
    assert.equal(statuses.at(-1)?.status, 200, "COMPLETED is 200");
    assert.ok(
      statuses.slice(0, -1).every((s) => s.status === 202),
      "IN_QUEUE / IN_PROGRESS are 202",
    );
    assert.equal(
      fal.journal.last({ method: "GET", path: `/alibaba/happy-horse/requests/${request}` })?.status,
      200,
    );
    // The upstream id is fal's request id; the URLs fal returned are kept beside it, never rebuilt.
    const row = await t.server.services.taskRepo.getById(id);
    assert.equal(row!.upstream_id, request);
    assert.equal(
      JSON.parse(row!.upstream_ref!).status_url,
      `${fal.baseUrl}/alibaba/happy-horse/requests/${request}/status`,
    );
  });

  test("rebuilt URLs (with the app's path) break on the double; the adapter never builds them", async () => {
    const request = fal.requests.list()[0]!;
    const rebuilt = await client(fal)("GET", `/${APP_T2V}/requests/${request.id}/status`);
    assert.equal(rebuilt.status, 404);
    const rebuiltResult = await client(fal)("GET", `/${APP_T2V}/requests/${request.id}`);
    assert.equal(rebuiltResult.status, 404);
    const wrongOwner = await client(fal)("GET", `/other/happy-horse/requests/${request.id}/status`);
    assert.equal(wrongOwner.status, 404);
    const gatewayCalls = fal.journal
      .list({ method: "GET" })
      .filter((e) => e.path.includes("/text-to-video/requests/"));
    assert.equal(gatewayCalls.length, 2, "only the two probes above");
  });

  test("a 422 result carries fal's validation detail; content_policy_violation is moderation", async () => {
    const long = await submit(`${"a very long prompt ".repeat(150)}`);
    const moderated = await submit("[[fail:content_policy_violation]] something flagged");
    const l = await waitForTask(t, long, { timeoutMs: 30_000 });
    assert.equal(l.status, "failed");
    assert.equal((l.error as Json).code, "string_too_long");
    assert.match((l.error as Json).message, /prompt: String should have at most 2500 characters/);
    const m = await waitForTask(t, moderated, { timeoutMs: 30_000 });
    assert.equal(m.status, "failed");
    assert.equal((m.error as Json).code, "content_moderated");
    assert.match((m.error as Json).message, /content checker/);
    const request = await requestOf(moderated);
    assert.equal(
      fal.journal.last({ method: "GET", path: `/alibaba/happy-horse/requests/${request}` })?.status,
      422,
    );
  });

  test("504 request_timeout: X-Fal-Request-Timeout from the channel's options, and the error type carried", async () => {
    await t.api(`/v1/admin/channels/${channelId}`, {
      method: "PATCH",
      json: { base_url: channelBase(fal, "&request_timeout=1") },
    });
    try {
      const id = await submit("[[queue:60]] waits too long in the queue");
      const task = await waitForTask(t, id, { timeoutMs: 30_000 });
      assert.equal(task.status, "failed");
      assert.equal((task.error as Json).code, "request_timeout");
      const post = fal.journal.last({ method: "POST", path: `/${APP_T2V}` })!;
      assert.equal(post.headers["x-fal-request-timeout"], "1");
      const request = await requestOf(id);
      const result = await client(fal)("GET", `/alibaba/happy-horse/requests/${request}`);
      assert.equal(result.status, 504);
      assert.equal(result.headers.get("x-fal-error-type"), "request_timeout");
      assert.equal(result.headers.get("x-fal-request-timeout-type"), "user");
    } finally {
      await t.api(`/v1/admin/channels/${channelId}`, {
        method: "PATCH",
        json: { base_url: channelBase(fal) },
      });
    }
  });

  test("a runner that disconnects is retried inside fal (new gateway_request_id); the task succeeds", async () => {
    const id = await submit("[[runner-disconnect]] flaky runner");
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const request = fal.requests.get(await requestOf(id))!;
    assert.equal(request.attempts, 2);
    assert.notEqual(request.gatewayRequestId, request.id);
  });

  test("cancel: a queued request is cancelled through the cancel URL fal returned", async () => {
    const id = await submit("[[queue:3600]] cancel me");
    const request = await requestOf(id);
    const res = await t.api(`/v1/video/generations/${id}/cancel`, { method: "POST" });
    assert.equal(res.status, 200);
    await until(() => fal.requests.get(request)?.status === "COMPLETED", 5000, "the cancel");
    const put = fal.journal.last({ method: "PUT", path: `/alibaba/happy-horse/requests/${request}/cancel` })!;
    assert.equal(put.status, 202);
    assert.equal(fal.requests.get(request)!.outcome!.errorType, "request_cancelled");
  });

  test("cancel: a started request accepts the cancel but runs on; the gateway says 409 and settles it as usual", async () => {
    const id = await submit("[[queue:0]] [[run:1800]] started already");
    const request = await requestOf(id);
    await until(() => fal.requests.get(request)?.status === "IN_PROGRESS", 5000, "the request to start");
    // Ask before the gateway's poll has seen it start, so fal itself must be asked and checked.
    await t.server.services.db
      .updateTable("tasks")
      .set({ upstream_status: "queued" })
      .where("id", "=", id)
      .execute();
    const res = await t.api(`/v1/video/generations/${id}/cancel`, { method: "POST" });
    assert.equal(res.status, 409, await res.clone().text());
    assert.match(((await res.json()) as Json).error.message, /fal had already started this request/);
    const put = fal.journal.last({ method: "PUT", path: `/alibaba/happy-horse/requests/${request}/cancel` })!;
    assert.equal(put.status, 202, "fal accepted the request to cancel");
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", "and the request ran on, as fal's do");
  });

  test("a request cancelled at fal by someone else fails the task as cancelled", async () => {
    const id = await submit("[[queue:3600]] cancelled elsewhere");
    const request = await requestOf(id);
    const res = await client(fal)("PUT", `/alibaba/happy-horse/requests/${request}/cancel`);
    assert.deepEqual(res.body, { status: "CANCELLATION_REQUESTED" });
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "failed");
    assert.equal((task.error as Json).code, "cancelled");
  });
});

describe("the fal double's queue rules", () => {
  let fal: FalDouble;
  before(async () => {
    fal = await startFalDouble({
      concurrency: 1,
      queueDelayMs: 0,
      runMsPer5s: { "720p": 120_000, "1080p": 120_000 },
    });
  });
  after(() => fal.close());

  test("Key auth only; unknown apps 404", async () => {
    const bearer = await fetch(`${fal.baseUrl}/${APP_T2V}`, {
      method: "POST",
      headers: { authorization: `Bearer ${fal.keys[0]}` },
      body: "{}",
    });
    assert.equal(bearer.status, 401);
    assert.equal((await client(fal)("POST", "/alibaba/no-such-app", { prompt: "x" })).status, 404);
  });

  test("the concurrency limit queues extra requests (positions count down), never refuses them", async () => {
    const call = client(fal);
    const submitted: Json[] = [];
    for (let i = 0; i < 3; i++)
      submitted.push((await call("POST", `/${APP_T2V}`, { prompt: `q${i}`, resolution: "720p" })).body);
    assert.ok(submitted.every((s) => s.status === "IN_QUEUE"));
    assert.equal(
      new URL(submitted[0].status_url).pathname,
      `/alibaba/happy-horse/requests/${submitted[0].request_id}/status`,
    );
    await until(() => fal.requests.get(submitted[0].request_id)?.status === "IN_PROGRESS", 5000, "start");
    const third = await call("GET", submitted[2].status_url);
    assert.equal(third.status, 202);
    assert.equal(third.body.status, "IN_QUEUE");
    assert.equal(third.body.queue_position, 1);
    const running = await call("GET", `${submitted[0].status_url}?logs=1`);
    assert.equal(running.status, 202);
    assert.equal(running.body.status, "IN_PROGRESS");
    assert.ok(Array.isArray(running.body.logs) && running.body.logs.length > 0);
    assert.equal((await call("GET", submitted[0].response_url)).status, 400, "no result before COMPLETED");

    // Cancel: running → accepted but not honoured; completed → ALREADY_COMPLETED; queued → honoured.
    assert.deepEqual((await call("PUT", submitted[0].cancel_url)).body, { status: "CANCELLATION_REQUESTED" });
    assert.equal(fal.requests.get(submitted[0].request_id)!.status, "IN_PROGRESS");
    assert.equal((await call("PUT", submitted[2].cancel_url)).status, 202);
    assert.equal(fal.requests.get(submitted[2].request_id)!.status, "COMPLETED");
    const done = await call("GET", submitted[2].status_url);
    assert.equal(done.status, 200);
    assert.equal(done.body.error_type, "request_cancelled");
    const again = await call("PUT", submitted[2].cancel_url);
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, { status: "ALREADY_COMPLETED" });
    await until(
      () => fal.requests.get(submitted[1].request_id)?.status === "COMPLETED",
      10_000,
      "the queue drains",
    );
    assert.equal((await call("GET", submitted[1].response_url)).status, 200);
  });

  test("x-fal-no-retry: a runner disconnect is final (503 runner_disconnected)", async () => {
    const res = await fetch(`${fal.baseUrl}/${APP_T2V}`, {
      method: "POST",
      headers: {
        authorization: `Key ${fal.keys[0]}`,
        "content-type": "application/json",
        "x-fal-no-retry": "1",
      },
      body: JSON.stringify({ prompt: "[[runner-disconnect]] [[run:10]]", resolution: "720p" }),
    });
    const { request_id, response_url } = (await res.json()) as Json;
    await until(() => fal.requests.get(request_id)?.status === "COMPLETED", 10_000, "completion");
    const result = await client(fal)("GET", response_url);
    assert.equal(result.status, 503);
    assert.equal(result.headers.get("x-fal-error-type"), "runner_disconnected");
  });
});

describe("fal webhooks through the gateway's hook route (proposed contract)", () => {
  test("a verified webhook makes the gateway re-poll at once; a bad signature gets 401 and fal retries", async () => {
    const fal = await startFalDouble({ queueDelayMs: 1000, runMsPer5s: { "720p": 3000, "1080p": 3000 } });
    // Slow polling (first poll after ~35 s): only the webhook can make this task finish quickly.
    const t = await startTestServer({ ...gatewayOptions, upstreamPollScale: 1 });
    try {
      const res = await t.api("/v1/admin/channels", {
        method: "POST",
        json: {
          provider: "fal",
          base_url: channelBase(fal),
          api_key: fal.keys[0],
          models: { [T2V]: APP_T2V },
        },
      });
      assert.equal(res.status, 200);
      fal.updateSettings({ webhook: { fault: "bad-signature", faultAttempts: 1 } });
      const sub = await t.api("/v1/video/generations", {
        method: "POST",
        json: { model: T2V, prompt: "woken by a webhook", seconds: "3", metadata: { resolution: "720p" } },
      });
      const { task_id } = (await sub.json()) as { task_id: string };
      const started = Date.now();
      const task = await waitForTask(t, task_id, { timeoutMs: 20_000 });
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
      assert.ok(Date.now() - started < 15_000, "finished long before the first scheduled poll");
      assert.deepEqual(
        fal.callbacks.attempts().map((a) => a.status),
        [401, 200],
        "the forged first attempt was refused, fal's retry was accepted",
      );
    } finally {
      await t.stop();
      await fal.close();
    }
  });
});
