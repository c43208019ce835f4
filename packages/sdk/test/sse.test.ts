import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseSSE, type ServerSentEvent } from "../src/index.ts";

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === "string" ? encoder.encode(c) : c);
      controller.close();
    },
  });
}

async function collect(chunks: (string | Uint8Array)[]): Promise<ServerSentEvent[]> {
  const out: ServerSentEvent[] = [];
  for await (const e of parseSSE(streamOf(chunks))) out.push(e);
  return out;
}

describe("parseSSE", () => {
  test("events, ids, retry, comments and multi-line data", async () => {
    const events = await collect([
      "retry: 2000\n\n",
      ": keep-alive\n\n",
      'id: 17\nevent: task\ndata: {"a":1}\n\n',
      "data: line one\ndata: line two\n\n",
      "event: done\ndata:no-space\n\n",
    ]);
    assert.deepEqual(events, [
      { event: "task", data: '{"a":1}', id: "17", retry: undefined },
      { event: "message", data: "line one\nline two", id: "17", retry: undefined },
      { event: "done", data: "no-space", id: "17", retry: undefined },
    ]);
  });

  test("lines split across chunks, CRLF split between chunks, CR-only endings, a BOM and multi-byte UTF-8", async () => {
    const bytes = new TextEncoder().encode("data: café ✓\n\n");
    const events = await collect([
      "\uFEFFev",
      "ent: task\r",
      '\ndata: {"b"',
      ":2}\r\n\r",
      "\nevent: x\rdata: cr\r\r",
      bytes.slice(0, 9), // splits the é
      bytes.slice(9),
    ]);
    assert.deepEqual(
      events.map((e) => [e.event, e.data]),
      [
        ["task", '{"b":2}'],
        ["x", "cr"],
        ["message", "café ✓"],
      ],
    );
  });

  test("an event without its closing blank line is discarded", async () => {
    const events = await collect(["event: task\ndata: 1\n\n", "event: task\ndata: 2\n"]);
    assert.deepEqual(
      events.map((e) => e.data),
      ["1"],
    );
  });

  test("an idle stream is cancelled after idleTimeoutMs", async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("data: first\n\n"));
      },
      cancel() {
        cancelled = true;
      },
    });
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const e of parseSSE(stream, { idleTimeoutMs: 100 })) seen.push(e.data);
    }, /no data on the event stream for 100 ms/);
    assert.deepEqual(seen, ["first"]);
    assert.ok(cancelled);
  });
});
