/** A Server-Sent Events parser over a fetch body (WHATWG "event stream interpretation"). */

export interface ServerSentEvent {
  /** The `event:` field; `message` when absent. */
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

export class StreamIdleError extends Error {
  constructor(ms: number) {
    super(`no data on the event stream for ${ms} ms`);
    this.name = "StreamIdleError";
  }
}

/**
 * Yield each event of a `text/event-stream` body. Comments (`: keep-alive`) reset the idle timer
 * but yield nothing; when `idleTimeoutMs` passes without a byte, the stream is cancelled and a
 * `StreamIdleError` is thrown.
 */
export async function* parseSSE(
  body: ReadableStream<Uint8Array>,
  options: { idleTimeoutMs?: number } = {},
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let first = true;
  let data: string[] = [];
  let event = "";
  let id: string | undefined;
  let retry: number | undefined;
  let hasData = false;

  const readChunk = async (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    const ms = options.idleTimeoutMs;
    if (!ms) return reader.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StreamIdleError(ms)), ms);
    });
    try {
      return await Promise.race([reader.read(), idle]);
    } finally {
      clearTimeout(timer);
    }
  };

  const takeLine = (line: string): ServerSentEvent | undefined => {
    if (line === "") {
      const out = hasData ? { event: event || "message", data: data.join("\n"), id, retry } : undefined;
      data = [];
      hasData = false;
      event = "";
      retry = undefined;
      return out;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        event = value;
        break;
      case "data":
        data.push(value);
        hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) retry = Number(value);
        break;
    }
    return undefined;
  };

  try {
    for (;;) {
      const { done, value } = await readChunk();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      if (first && buffer.length) {
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
        first = false;
      }
      // Split on CRLF, LF or CR; a CR at the very end may be half of a CRLF, so keep it for later.
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        if (c === 13 && i === buffer.length - 1) break;
        const out = takeLine(buffer.slice(start, i));
        if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
        if (out) yield out;
      }
      buffer = buffer.slice(start);
    }
    buffer += decoder.decode();
    // A final event without its blank line is incomplete and, per the spec, discarded.
  } finally {
    reader.cancel().catch(() => {});
  }
}
