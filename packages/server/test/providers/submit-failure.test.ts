import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { NormalizedRequest } from "../../src/domain/request.ts";
import { UpstreamNetworkError, type UpstreamResponse } from "../../src/providers/http.ts";
import { createAdapters } from "../../src/providers/registry.ts";
import {
  classifySubmitFailure,
  classOfStatus,
  type FailureClass,
  type SubmitFailureRules,
  sendCreate,
  THROTTLE_BACKOFF_MS,
} from "../../src/providers/submit-failure.ts";
import { ProviderError, type SubmitContext } from "../../src/providers/types.ts";

/** A provider whose envelope is `{error: {code, message}}`, with no rules of its own. */
const PLAIN: SubmitFailureRules = {
  readError(response) {
    const error = (response.json as { error?: { code?: string; message?: string } } | undefined)?.error;
    return { code: error?.code ?? "", message: error?.message ?? response.text.slice(0, 300) };
  },
};

function answer(
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): { response: UpstreamResponse } {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  return {
    response: {
      status,
      headers: new Headers(headers),
      text,
      json: typeof body === "string" ? undefined : body,
    },
  };
}

const classify = (failure: Parameters<typeof classifySubmitFailure>[0], rules = PLAIN) =>
  classifySubmitFailure(failure, "Acme", rules);

function expectFailure(
  error: ProviderError,
  kind: ProviderError["kind"],
  code: string,
  options: { retryAfterMs?: number; httpStatus?: number } = {},
) {
  assert.ok(error instanceof ProviderError);
  assert.equal(error.kind, kind, error.message);
  assert.equal(error.code, code, error.message);
  assert.equal(error.options.retryAfterMs, options.retryAfterMs, "retryAfterMs");
  assert.equal(error.options.httpStatus, options.httpStatus, "httpStatus");
}

describe("classifySubmitFailure: no answer", () => {
  test("refused before sending (connection refused, no route): not created", () => {
    const error = classify({
      error: new UpstreamNetworkError("cannot connect to acme (ECONNREFUSED)", false),
    });
    expectFailure(error, "not_created", "upstream_unreachable");
    assert.match(error.message, /ECONNREFUSED/);
  });

  test("a timeout or reset after sending: ambiguous, never resubmitted", () => {
    const error = classify({ error: new UpstreamNetworkError("no answer within 30000 ms", true) });
    expectFailure(error, "ambiguous", "upstream_unreachable");
  });

  test("any other error during the call counts as sent: ambiguous", () => {
    const error = classify({ error: new TypeError("something broke mid-call") });
    expectFailure(error, "ambiguous", "adapter_error");
    assert.match(error.message, /^Acme: something broke mid-call/);
  });

  test("a step that failed before the create was sent: not created, whatever the error", () => {
    expectFailure(
      classify({ error: new TypeError("upload failed"), sent: false }),
      "not_created",
      "upstream_unreachable",
    );
    // `sent` wins over what a network error guesses.
    expectFailure(
      classify({ error: new UpstreamNetworkError("reset", true), sent: false }),
      "not_created",
      "upstream_unreachable",
    );
  });

  test("an adapter's own ProviderError passes through unchanged", () => {
    const own = new ProviderError("rejected", "unsupported_by_provider", "no audio input");
    assert.equal(classify({ error: own }), own);
  });
});

describe("classifySubmitFailure: an answer without a task", () => {
  test("a 2xx that names no task: ambiguous (something may have been made)", () => {
    for (const status of [200, 201, 202]) {
      const error = classify(answer(status, { ok: true }));
      expectFailure(error, "ambiguous", "upstream_bad_response", { httpStatus: status });
      assert.match(error.message, new RegExp(`Acme answered ${status} without a task id`));
    }
  });

  test("a 504 that is not JSON (a proxy's page): ambiguous, and no rule can turn it", () => {
    const overrule: SubmitFailureRules = { ...PLAIN, refine: () => "rejected" };
    for (const rules of [PLAIN, overrule]) {
      const error = classify(answer(504, "<html>Gateway Time-out</html>"), rules);
      expectFailure(error, "ambiguous", "upstream_timeout", { httpStatus: 504 });
      assert.match(error.message, /proxy in front of Acme/);
    }
  });

  test("a 504 in the provider's own JSON: its answer, nothing made", () => {
    expectFailure(
      classify(answer(504, { error: { code: "request_timeout", message: "never started" } })),
      "not_created",
      "request_timeout",
      { httpStatus: 504 },
    );
  });

  test("429: not created, back off as Retry-After says, or 2 s", () => {
    expectFailure(classify(answer(429, { error: { message: "slow down" } })), "not_created", "rate_limited", {
      retryAfterMs: THROTTLE_BACKOFF_MS,
      httpStatus: 429,
    });
    expectFailure(
      classify(answer(429, { error: { code: "RPM", message: "slow down" } }, { "retry-after": "7" })),
      "not_created",
      "RPM",
      { retryAfterMs: 7000, httpStatus: 429 },
    );
  });

  test("401 and 403: the channel's key", () => {
    for (const status of [401, 403]) {
      const error = classify(answer(status, { error: { message: "bad key" } }));
      expectFailure(error, "channel_broken", "upstream_auth", { httpStatus: status });
      assert.equal(error.message, "Acme refused this channel's key: bad key");
    }
    expectFailure(
      classify(answer(401, { error: { code: "InvalidKey", message: "x" } })),
      "channel_broken",
      "InvalidKey",
      {
        httpStatus: 401,
      },
    );
  });

  test("404: the channel's model map", () => {
    expectFailure(
      classify(answer(404, { error: { message: "no such model" } })),
      "channel_broken",
      "upstream_model_not_found",
      {
        httpStatus: 404,
      },
    );
  });

  test("other 4xx: the request is refused, in the provider's code and words", () => {
    const coded = classify(
      answer(400, { error: { code: "InvalidParameter", message: "duration must be 5" } }),
    );
    expectFailure(coded, "rejected", "InvalidParameter", { httpStatus: 400 });
    assert.equal(coded.message, "duration must be 5");
    expectFailure(classify(answer(422, "unprocessable")), "rejected", "upstream_rejected", {
      httpStatus: 422,
    });
  });

  test("5xx with the provider's own answer: nothing made, another channel may take it", () => {
    const error = classify(answer(500, { error: { message: "internal" } }, { "retry-after": "3" }));
    expectFailure(error, "not_created", "upstream_500", { retryAfterMs: 3000, httpStatus: 500 });
    assert.equal(error.message, "Acme answered 500: internal");
    // 502 and 503 pages say the provider was not reached or refused the work: not created.
    expectFailure(classify(answer(502, "<html>Bad Gateway</html>")), "not_created", "upstream_502", {
      httpStatus: 502,
    });
  });
});

describe("classifySubmitFailure: a provider's own codes refine the status", () => {
  const byCode = (map: Record<string, FailureClass>): SubmitFailureRules => ({
    ...PLAIN,
    refine: (byStatus, { code }) => map[code] ?? byStatus,
  });
  const rules = byCode({
    QueueFull: "queue_full",
    SpendLimit: "account",
    Sensitive: "moderated",
    Throttling: "rate_limited",
    NoModel: "model",
    BadKey: "auth",
    Bad: "rejected",
    Busy: "server",
  });
  const withCode = (status: number, code: string, headers: Record<string, string> = {}) =>
    classify(answer(status, { error: { code, message: "m" } }, headers), rules);

  test("every class makes its failure", () => {
    expectFailure(withCode(429, "QueueFull", { "retry-after": "5" }), "queue_full", "QueueFull", {
      retryAfterMs: 5000,
      httpStatus: 429,
    });
    expectFailure(withCode(429, "SpendLimit"), "channel_broken", "SpendLimit", { httpStatus: 429 });
    expectFailure(withCode(400, "Throttling"), "not_created", "Throttling", {
      retryAfterMs: THROTTLE_BACKOFF_MS,
      httpStatus: 400,
    });
    expectFailure(withCode(400, "NoModel"), "channel_broken", "NoModel", { httpStatus: 400 });
    expectFailure(withCode(400, "BadKey"), "channel_broken", "BadKey", { httpStatus: 400 });
    expectFailure(withCode(500, "Bad"), "rejected", "Bad", { httpStatus: 500 });
    expectFailure(withCode(400, "Busy"), "not_created", "Busy", { httpStatus: 400 });
  });

  test("moderation is always content_moderated, naming the provider's code", () => {
    const error = withCode(400, "Sensitive");
    expectFailure(error, "rejected", "content_moderated", { httpStatus: 400 });
    assert.equal(error.message, "the provider's content moderation refused this task (Sensitive): m");
  });

  test("without a code of its own, the status decides", () => {
    expectFailure(withCode(429, "Other"), "not_created", "Other", {
      retryAfterMs: THROTTLE_BACKOFF_MS,
      httpStatus: 429,
    });
  });

  test("the status classes", () => {
    assert.deepEqual([429, 401, 403, 404, 400, 409, 413, 422, 500, 502, 503, 504, 302].map(classOfStatus), [
      "rate_limited",
      "auth",
      "auth",
      "model",
      "rejected",
      "rejected",
      "rejected",
      "rejected",
      "server",
      "server",
      "server",
      "server",
      "server",
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Over the wire: sendCreate, and every registered adapter's submit through the same ladder.

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler = (_req, res) => res.end();

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

const reply =
  (status: number, body: string, type = "application/json"): Handler =>
  (_req, res) => {
    res.writeHead(status, { "content-type": type });
    res.end(body);
  };

/** A port nothing listens on: connection refused. */
async function closedPort(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProviderError, `not a ProviderError: ${error}`);
    return error;
  }
  assert.fail("the create succeeded");
}

describe("sendCreate", () => {
  const created = (json: unknown) => {
    const id = (json as { id?: unknown } | undefined)?.id;
    return typeof id === "string" ? { upstreamId: id } : undefined;
  };
  const send = (url: string, timeoutMs = 2000) =>
    sendCreate(url, { headers: {}, body: {}, timeoutMs }, { name: "Acme", rules: PLAIN, created });

  test("a 2xx naming a task returns it", async () => {
    handler = reply(201, JSON.stringify({ id: "t-1" }));
    assert.deepEqual(await send(`${base}/create`), { upstreamId: "t-1" });
  });

  test("a 2xx naming none, an error answer, no answer: each classified", async () => {
    handler = reply(200, JSON.stringify({ status: "ok" }));
    expectFailure(await rejection(send(`${base}/create`)), "ambiguous", "upstream_bad_response", {
      httpStatus: 200,
    });
    handler = reply(400, JSON.stringify({ error: { code: "Bad", message: "no" } }));
    expectFailure(await rejection(send(`${base}/create`)), "rejected", "Bad", { httpStatus: 400 });
    expectFailure(
      await rejection(send(`${await closedPort()}/create`)),
      "not_created",
      "upstream_unreachable",
    );
    handler = () => {}; // never answers
    expectFailure(await rejection(send(`${base}/create`, 200)), "ambiguous", "upstream_unreachable");
  });
});

describe("every adapter's create goes through the one ladder", () => {
  const adapters = [...createAdapters({ upstreamPollScale: 0.01, upstreamSubmitTimeoutSeconds: 2 }).values()];
  const request: NormalizedRequest = {
    model: "m",
    mode: "text",
    prompt: "a red fox",
    seconds: 5,
    ratio: "16:9",
    resolution: "720p",
    generateAudio: false,
    content: [],
    citations: [],
  } as unknown as NormalizedRequest;
  const context = (baseUrl: string): SubmitContext => ({
    id: "ch_1",
    baseUrl,
    apiKey: "k",
    upstreamModel: "owner/app",
    taskId: "task_1",
    mediaUrl: async () => assert.fail("no media in this request"),
  });

  test("the registry's adapters speak contract v1 and name themselves", () => {
    assert.deepEqual(adapters.map((a) => a.provider).sort(), [
      "ark",
      "dashscope",
      "fal",
      "relaydance",
      "xai",
    ]);
    for (const adapter of adapters) {
      assert.equal(adapter.specificationVersion, "v1", adapter.provider);
      assert.ok(adapter.displayName.trim(), adapter.provider);
    }
  });

  for (const adapter of adapters) {
    test(`${adapter.provider}: a proxy's 504 page is ambiguous; a 201 without an id is ambiguous; refused is not created`, async () => {
      handler = reply(504, "<html><body>504 Gateway Time-out</body></html>", "text/html");
      expectFailure(
        await rejection(adapter.submit(request, context(base))),
        "ambiguous",
        "upstream_timeout",
        {
          httpStatus: 504,
        },
      );
      handler = reply(201, "{}");
      expectFailure(
        await rejection(adapter.submit(request, context(base))),
        "ambiguous",
        "upstream_bad_response",
        {
          httpStatus: 201,
        },
      );
      expectFailure(
        await rejection(adapter.submit(request, context(await closedPort()))),
        "not_created",
        "upstream_unreachable",
      );
      handler = reply(401, "{}");
      assert.equal((await rejection(adapter.submit(request, context(base)))).kind, "channel_broken");
    });
  }
});
