import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { OutboundRequestError } from "../../src/net/outbound-error.ts";
import { guardBody } from "../../src/net/pinned-http.ts";

/** A stand-in for a response: a stream with the `complete` flag http.IncomingMessage sets at its end. */
function fakeResponse(): PassThrough & { complete: boolean } {
  return Object.assign(new PassThrough(), { complete: false });
}

async function read(body: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

test("guardBody: a response closed before its end is connection_failed, and the hop is cleaned up", async () => {
  const res = fakeResponse();
  let done = 0;
  const signal = new AbortController().signal;
  const body = guardBody(
    res as unknown as IncomingMessage,
    new URL("http://media.example/clip.mp4?sig=secret"),
    1024,
    signal,
    () => done++,
  );
  res.write("part of the body");
  res.destroy(); // the socket went away: no error event, just a close with complete = false
  await assert.rejects(read(body), (err: unknown) => {
    assert.ok(err instanceof OutboundRequestError);
    assert.equal(err.reason, "connection_failed");
    assert.equal(
      err.message,
      "the server closed the connection before sending the whole body of http://media.example/clip.mp4?…; try again",
    );
    assert.equal(err.url, "http://media.example/clip.mp4?…");
    return true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(done, 1, "the caller's cleanup runs once the body closes");
});

test("guardBody: a complete response streams through and cleans up once", async () => {
  const res = fakeResponse();
  let done = 0;
  const body = guardBody(
    res as unknown as IncomingMessage,
    new URL("http://media.example/a"),
    1024,
    new AbortController().signal,
    () => done++,
  );
  res.on("end", () => {
    res.complete = true;
  });
  res.end("all of it");
  assert.equal(await read(body), "all of it");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(done, 1);
});
