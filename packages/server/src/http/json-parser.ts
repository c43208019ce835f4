/**
 * The streaming JSON parser behind json-body.ts: a state machine fed chunk by chunk, building the
 * value as it goes, with the limits checked on the way (size, memory, depth, NUL, __proto__) and
 * long data: URL strings handed to a spool file (json-spool.ts). What the characters mean (tokens,
 * escapes, the syntax error) is json-syntax.ts.
 */
import { rm } from "node:fs/promises";
import { ApiError, invalid } from "../domain/errors.ts";
import { type SpooledText, SpoolFile } from "./json-spool.ts";
import {
  EscapeReader,
  isTokenChar,
  isWhitespace,
  plainByteRunEnd,
  plainRunEnd,
  show,
  syntaxError,
  tokenValue,
} from "./json-syntax.ts";
import { formatPath } from "./route.ts";

export interface JsonBodyLimits {
  /** Bytes of body in all (spooled data included). */
  maxBytes: number;
  /** Characters of the parsed value kept in memory (keys, strings, numbers). */
  maxInMemoryBytes: number;
  maxDepth: number;
  /** Where `data:` URL strings longer than `afterChars` go while the request lives; none: never spooled. */
  spool?: { dir: string; afterChars: number };
}

export function bodyTooLarge(limit: number): ApiError {
  return new ApiError(
    413,
    "invalid_request_error",
    "body_too_large",
    `the request body is larger than ${limit} bytes; send media with POST /v1/files and use the returned url`,
    null,
  );
}

type Container =
  | { kind: "object"; value: Record<string, unknown>; key: string | null }
  | { kind: "array"; value: unknown[] };

/** Where the parser is between characters. */
type Mode =
  | "value" // a value must start here
  | "value_or_end" // first element of an array: a value or "]"
  | "key_or_end" // first member of an object: a key or "}"
  | "key" // a key must start here
  | "colon"
  | "after" // after a value: "," or the container's end
  | "string"
  | "number"
  | "literal"
  | "done";

export class StreamingJsonParser {
  private mode: Mode = "value";
  private readonly stack: Container[] = [];
  private root: unknown;
  private position = 0;
  private bytes = 0;
  private inMemory = 0;
  // The string being read.
  private text = "";
  private isKey = false;
  private readonly escape = new EscapeReader();
  private hasNul = false;
  private spoolFile: SpoolFile | null = null;
  /** Closings of ended spool files, waited for before the next chunk. */
  private pendingWrite: Promise<void> | null = null;
  // A number or literal being read.
  private token = "";
  readonly spooled = new Map<string, SpooledText>();
  private readonly files: string[] = [];

  constructor(private readonly limits: JsonBodyLimits) {}

  private readonly decoder = new TextDecoder("utf-8");
  /** The last bytes handed to the decoder may end inside a multi-byte character. */
  private decoderMayHoldBytes = false;

  /** The next bytes of the body (`null`: the body is over). */
  async feed(chunk: Buffer | null): Promise<void> {
    if (chunk === null) {
      this.consume(this.decoder.decode());
    } else {
      this.bytes += chunk.length;
      if (this.bytes > this.limits.maxBytes) throw bodyTooLarge(this.limits.maxBytes);
      // Inside a spooled string the bytes go to the file as they came: no string is made of them.
      const from =
        this.spoolFile && !this.escape.active && !this.decoderMayHoldBytes ? this.spoolBytes(chunk) : 0;
      if (from < chunk.length) {
        const rest = from > 0 ? chunk.subarray(from) : chunk;
        this.decoderMayHoldBytes = rest[rest.length - 1]! >= 0x80;
        this.consume(this.decoder.decode(rest, { stream: true }));
      }
    }
    const full = this.spoolFile?.takePending();
    if (full) await full;
    if (this.pendingWrite) {
      const write = this.pendingWrite;
      this.pendingWrite = null;
      await write;
    }
  }

  async finish(): Promise<unknown> {
    if (this.mode === "number" || this.mode === "literal") this.endToken();
    if (this.mode === "value" && this.stack.length === 0 && this.bytes === 0) {
      throw invalid("invalid_json", "the request body is empty; send a JSON object");
    }
    if (this.mode !== "done") throw syntaxError("unexpected end of the body", this.position);
    return this.root;
  }

  async discard(): Promise<void> {
    this.spoolFile?.destroy();
    await Promise.all(this.files.map((path) => rm(path, { force: true })));
  }

  /** Spool bytes up to the first quote, backslash or control byte; returns where it stopped. */
  private spoolBytes(chunk: Buffer): number {
    const end = plainByteRunEnd(chunk);
    if (end > 0) {
      this.spoolFile!.append(chunk.subarray(0, end));
      this.position += end;
    }
    return end;
  }

  private consume(chunk: string): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.mode === "string") {
        i = this.readString(chunk, i);
        continue;
      }
      const c = chunk[i]!;
      switch (this.mode) {
        case "number":
        case "literal":
          if (isTokenChar(c)) {
            this.token += c;
            if (this.token.length > 400)
              throw syntaxError("a number or literal that does not end", this.position);
            break;
          }
          this.endToken();
          continue; // look at c again in the new mode
        case "done":
          if (!isWhitespace(c))
            throw syntaxError(`unexpected ${show(c)} after the end of the JSON value`, this.position);
          break;
        default:
          this.structural(c);
      }
      i++;
      this.position++;
    }
  }

  private structural(c: string): void {
    if (isWhitespace(c)) return;
    const mode = this.mode;
    if (mode === "colon") {
      if (c !== ":") throw syntaxError(`expected ':' but found ${show(c)}`, this.position);
      this.mode = "value";
      return;
    }
    if (mode === "after") {
      const top = this.stack[this.stack.length - 1];
      if (c === "," && top) {
        this.mode = top.kind === "object" ? "key" : "value";
        return;
      }
      if ((c === "}" && top?.kind === "object") || (c === "]" && top?.kind === "array")) {
        this.close();
        return;
      }
      throw syntaxError(`unexpected ${show(c)}`, this.position);
    }
    if (mode === "key" || mode === "key_or_end") {
      if (c === "}" && mode === "key_or_end") {
        this.close();
        return;
      }
      if (c !== '"')
        throw syntaxError(`expected a property name in double quotes but found ${show(c)}`, this.position);
      this.startString(true);
      return;
    }
    // A value (or the end of an empty array).
    if (c === "]" && mode === "value_or_end") {
      this.close();
      return;
    }
    if (c === "{" || c === "[") {
      if (this.stack.length >= this.limits.maxDepth) {
        throw invalid(
          "invalid_json",
          `the request body nests objects and arrays deeper than ${this.limits.maxDepth} levels`,
        );
      }
      this.charge(2);
      const container: Container =
        c === "{" ? { kind: "object", value: {}, key: null } : { kind: "array", value: [] };
      this.place(container.value);
      this.stack.push(container);
      this.mode = c === "{" ? "key_or_end" : "value_or_end";
      return;
    }
    if (c === '"') {
      this.startString(false);
      return;
    }
    if (c === "-" || (c >= "0" && c <= "9")) {
      this.mode = "number";
      this.token = c;
      return;
    }
    if (c === "t" || c === "f" || c === "n") {
      this.mode = "literal";
      this.token = c;
      return;
    }
    throw syntaxError(`unexpected ${show(c)}`, this.position);
  }

  private endToken(): void {
    const token = this.token;
    this.token = "";
    this.charge(token.length);
    this.place(tokenValue(this.mode as "number" | "literal", token, this.position));
    this.afterValue();
  }

  private startString(isKey: boolean): void {
    this.mode = "string";
    this.isKey = isKey;
    this.text = "";
    this.hasNul = false;
    this.escape.reset();
  }

  /** Read string content from `chunk` at `i`; returns where reading stopped. */
  private readString(chunk: string, i: number): number {
    const n = chunk.length;
    while (i < n) {
      if (this.escape.active) {
        const decoded = this.escape.next(chunk[i]!, this.position);
        i++;
        this.position++;
        if (decoded !== undefined) {
          if (decoded === "\u0000") this.hasNul = true;
          this.append(decoded);
        }
        continue;
      }
      // Fast path: everything up to the next quote, backslash or control character.
      const j = plainRunEnd(chunk, i);
      if (j > i) {
        this.append(chunk.slice(i, j));
        this.position += j - i;
        i = j;
        continue;
      }
      const code = chunk.charCodeAt(i);
      i++;
      this.position++;
      if (code === 0x5c) {
        this.escape.begin();
      } else if (code === 0x22) {
        this.endString();
        return i;
      } else {
        throw syntaxError("a control character inside a string (escape it)", this.position - 1);
      }
    }
    return i;
  }

  private append(part: string): void {
    if (this.spoolFile) {
      this.spoolFile.append(part);
      return;
    }
    this.text += part;
    const spool = this.limits.spool;
    if (spool && !this.isKey && this.text.length > spool.afterChars && /^data:/i.test(this.text)) {
      const comma = this.text.indexOf(",");
      if (comma > 0 && comma < 1024) this.openSpool(comma);
    }
    if (!this.spoolFile && this.inMemory + this.text.length > this.limits.maxInMemoryBytes) {
      throw this.tooMuchInMemory();
    }
  }

  private openSpool(comma: number): void {
    const file = new SpoolFile(this.limits.spool!.dir, this.text.slice(0, comma + 1));
    this.files.push(file.path);
    file.append(this.text.slice(comma + 1));
    this.spoolFile = file;
    this.text = file.header;
  }

  private endString(): void {
    this.mode = this.isKey ? "colon" : "after";
    if (this.hasNul) {
      throw invalid(
        "invalid_value",
        `${this.pathName(this.isKey) ?? "the body"} contains a NUL character (\\u0000), which cannot be stored; remove it`,
        this.pathName(this.isKey),
      );
    }
    if (this.isKey) {
      if (this.text === "__proto__") {
        throw invalid("invalid_json", "the request body has a property named __proto__; remove it");
      }
      this.charge(this.text.length);
      (this.stack[this.stack.length - 1] as Extract<Container, { kind: "object" }>).key = this.text;
      this.text = "";
      return;
    }
    let value = this.text;
    this.text = "";
    if (this.spoolFile) {
      const full = this.spoolFile.takePending();
      const { marker, spooled, closed } = this.spoolFile.end();
      this.spoolFile = null;
      const done = full ? full.then(() => closed) : closed;
      this.pendingWrite = this.pendingWrite ? this.pendingWrite.then(() => done) : done;
      this.spooled.set(marker, spooled);
      value = marker;
    } else {
      this.charge(value.length);
    }
    this.place(value);
    this.afterValue();
  }

  private charge(chars: number): void {
    this.inMemory += chars;
    if (this.inMemory > this.limits.maxInMemoryBytes) throw this.tooMuchInMemory();
  }

  private tooMuchInMemory(): ApiError {
    return new ApiError(
      413,
      "invalid_request_error",
      "body_too_large",
      `the request body holds more than ${this.limits.maxInMemoryBytes} characters outside data: URLs`,
      null,
    );
  }

  private place(value: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      this.root = value;
    } else if (top.kind === "array") {
      top.value.push(value);
    } else {
      // "__proto__", the one key whose assignment is not a plain own property, is refused above.
      top.value[top.key!] = value;
    }
  }

  private afterValue(): void {
    this.mode = this.stack.length === 0 ? "done" : "after";
  }

  private close(): void {
    this.stack.pop();
    this.afterValue();
  }

  /** The contract's name of the field being read (`metadata.content[2].role`); null at the top. */
  private pathName(isKey: boolean): string | null {
    const path: Array<string | number> = [];
    this.stack.forEach((frame, depth) => {
      // An open container is already placed in its parent: below the top, the element being read
      // is the last one; at the top it is the one about to be placed.
      const inner = depth === this.stack.length - 1;
      if (frame.kind === "array") path.push(inner ? frame.value.length : frame.value.length - 1);
      else if (frame.key !== null) path.push(frame.key);
    });
    if (isKey) path.pop();
    return path.length > 0 ? formatPath(path) : null;
  }
}
