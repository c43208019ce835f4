/**
 * What a hostile or broken client can send, and what it gets: every refusal in the contract's
 * error shape, nothing echoed back at length, and no request able to hold memory or a connection
 * beyond its limits.
 */
import assert from "node:assert/strict";
import type http from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/server.ts";

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request sent byte for byte (fetch would normalise the path), read to its end. */
function raw(url: string, head: string, body: Buffer | string = ""): Promise<RawAnswer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const [headPart = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...lines] = headPart.split("\r\n");
      const headers: http.IncomingHttpHeaders = {};
      for (const line of lines) {
        const i = line.indexOf(":");
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") });
    });
    socket.write(
      Buffer.concat([Buffer.from(`${head}\r\nconnection: close\r\n\r\n`, "latin1"), Buffer.from(body)]),
    );
  });
}

function assertEnvelope(answer: { status: number; body: string }, status: number, code?: string) {
  assert.equal(answer.status, status, answer.body.slice(0, 300));
  const parsed = JSON.parse(answer.body) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(parsed.error).sort(), ["code", "message", "param", "type"]);
  if (code) assert.equal(parsed.error.code, code);
  return parsed.error;
}

describe("framework refusals in the contract's shape", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  test("a malformed percent-encoding in a path is the contract's 400, not Fastify's", async () => {
    const answer = await raw(
      t.url,
      `GET /v1/video/generations/%zz HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_KEY}`,
    );
    assertEnvelope(answer, 400, "invalid_path");
  });

  test("a path parameter of 5,000 characters is refused without being echoed", async () => {
    const long = "x".repeat(5000);
    const answer = await raw(
      t.url,
      `GET /v1/files/${long} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_KEY}`,
    );
    const error = assertEnvelope(answer, 414, "path_too_long");
    assert.ok(!String(error.message).includes("xxxxxxxxxx"));
  });

  test("a raw non-ASCII byte in the URL, on GET and HEAD, gets a well-formed answer", async () => {
    for (const method of ["GET", "HEAD"]) {
      const answer = await raw(
        t.url,
        `${method} /v1/models/\xff\xfe HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_KEY}`,
      );
      assert.ok(answer.status >= 400 && answer.status < 500, `${method}: ${answer.status}`);
      if (method === "HEAD") assert.equal(answer.body, "", "a HEAD answer has no body");
      else assertEnvelope(answer, answer.status);
    }
  });

  test("/console/%25 is a 404, not a 500", async () => {
    const res = await fetch(`${t.url}/console/%25`);
    assert.equal(res.status, 404);
  });

  test("broken multipart uploads are 400 invalid_multipart", async () => {
    const cases: Array<[string, string]> = [
      [
        "multipart/form-data",
        '--x\r\ncontent-disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc',
      ],
      [
        "multipart/form-data; boundary=right",
        '--wrong\r\ncontent-disposition: form-data; name="file"\r\n\r\nabc\r\n--wrong--\r\n',
      ],
      [
        "multipart/form-data; boundary=b",
        '--b\r\ncontent-disposition: form-data; name="file"; filename="a.png"\r\ncontent-type: image/png\r\n\r\n\x89PNG\r\n\x1a\n',
      ],
    ];
    // A part without Content-Disposition past ~16 KB: the parser never finishes on it.
    cases.push([
      "multipart/form-data; boundary=b",
      `--b\r\ncontent-type: application/octet-stream\r\n\r\n${"x".repeat(20_000)}\r\n--b--\r\n`,
    ]);
    for (const [type, body] of cases) {
      const bytes = Buffer.from(body, "latin1");
      const answer = await raw(
        t.url,
        `POST /v1/files HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_KEY}\r\ncontent-type: ${type}\r\ncontent-length: ${bytes.length}`,
        bytes,
      );
      assertEnvelope(answer, 400, "invalid_multipart");
    }
  });

  test("100,000 nested arrays with an Idempotency-Key: 400, not a stack overflow", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "deep-1" },
      body: `{"model":"seedance-1-5-pro-with-audio","prompt":"p","metadata":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
    });
    assertEnvelope({ status: res.status, body: await res.text() }, 400, "invalid_json");
  });

  test("a NUL in the prompt is a 400 naming prompt", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: { model: "seedance-1-5-pro-with-audio", prompt: "a\u0000b", seconds: "4" },
    });
    const error = assertEnvelope({ status: res.status, body: await res.text() }, 400, "invalid_value");
    assert.equal(error.param, "prompt");
  });

  test("an oversized input is not echoed back (51,200-character account_id)", async () => {
    const res = await t.api("/v1/admin/keys", { method: "POST", json: { account_id: "a".repeat(51_200) } });
    const body = await res.text();
    assert.ok(res.status >= 400 && res.status < 500);
    assert.ok(body.length < 2000, `answer of ${body.length} characters`);
  });

  test("the upstream hook checks its token before reading a body", async () => {
    // A megabyte announced but never sent: with the token checked first, the answer comes at once.
    const answer = await raw(
      t.url,
      "POST /hooks/upstream/chan_x/not-a-token HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000",
      "{",
    );
    assertEnvelope(answer, 404, "hook_not_found");
  });
});

describe("bodies and connections are bounded", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({
      requestTimeoutSeconds: 3,
      idleTimeoutSeconds: 1.5,
      maxSubmitBytes: 8 * 1024 * 1024,
    });
  });
  after(() => t.stop());

  test("a body over the submit limit is 413 body_too_large, announced or streamed", async () => {
    const announced = await t.api("/v1/video/generations", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.alloc(20 * 1024 * 1024, 0x20),
    });
    assertEnvelope({ status: announced.status, body: await announced.text() }, 413, "body_too_large");

    const chunk = Buffer.alloc(1 << 20, 0x41);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0)
          controller.enqueue(
            Buffer.from('{"metadata":{"content":[{"image_url":{"url":"data:image/png;base64,'),
          );
        sent++;
        if (sent > 40) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await fetch(`${t.url}/v1/video/generations`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    assertEnvelope({ status: streamed.status, body: await streamed.text() }, 413, "body_too_large");
  });

  test("a body that stops arriving is closed after the idle timeout", async () => {
    const started = Date.now();
    const closed = await new Promise<number>((resolve) => {
      const socket = net.connect(Number(new URL(t.url).port), "127.0.0.1");
      socket.on("error", () => {});
      socket.on("close", () => resolve(Date.now() - started));
      socket.write(
        `POST /v1/video/generations HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_KEY}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":`,
      );
    });
    assert.ok(closed < 6000, `closed after ${closed} ms`);
  });

  test("a body that trickles in is closed at the request timeout", async () => {
    const started = Date.now();
    const closed = await new Promise<number>((resolve) => {
      const socket = net.connect(Number(new URL(t.url).port), "127.0.0.1");
      socket.on("error", () => {});
      const drip = setInterval(() => socket.write(" "), 400);
      socket.on("close", () => {
        clearInterval(drip);
        resolve(Date.now() - started);
      });
      socket.write(
        `POST /v1/video/generations HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN_KEY}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n`,
      );
    });
    assert.ok(closed >= 2500 && closed < 8000, `closed after ${closed} ms`);
  });
});
