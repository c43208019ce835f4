/**
 * JSON's lexical rules for the streaming parser (json-parser.ts): whitespace, numbers and
 * literals, the plain runs and backslash escapes of strings, and the 400 a violation answers.
 * The parser keeps the state machine, the limits and the spooling; this module only says what
 * the characters mean.
 */
import { type ApiError, invalid } from "../domain/errors.ts";

export function syntaxError(what: string, at: number): ApiError {
  return invalid(
    "invalid_json",
    `the request body is not valid JSON (${what} at character ${at + 1}); send a JSON object with Content-Type: application/json`,
  );
}

/** A piece of the body quoted in an error message, cut at 20 characters. */
export function show(text: string): string {
  return JSON.stringify(text.length > 20 ? `${text.slice(0, 20)}…` : text);
}

export const isWhitespace = (c: string): boolean => WHITESPACE.test(c);

/** Whether `c` can continue a number or a literal being read (the token is checked as a whole at its end). */
export const isTokenChar = (c: string): boolean => TOKEN_CHAR.test(c);

/** The value of a whole number (`kind` "number") or literal (`true`, `false`, `null`); `at`: for the error. */
export function tokenValue(kind: "number" | "literal", token: string, at: number): number | boolean | null {
  if (kind === "number") {
    if (!NUMBER.test(token)) throw syntaxError(`${show(token)} is not a number`, at);
    return Number(token);
  }
  // Own keys only: `toString` must not find Object.prototype's.
  const literal = Object.hasOwn(LITERALS, token) ? LITERALS[token] : undefined;
  if (literal === undefined) throw syntaxError(`unexpected ${show(token)}`, at);
  return literal;
}

/** Where the plain run of string content in `chunk` from `from` ends: the next quote, backslash or control character. */
export function plainRunEnd(chunk: string, from: number): number {
  let end = from;
  while (end < chunk.length) {
    const code = chunk.charCodeAt(end);
    if (code === 0x22 || code === 0x5c || code < 0x20) break;
    end++;
  }
  return end;
}

/** The same on raw bytes (a spooled string's UTF-8 is copied as it came): quote, backslash or control byte. */
export function plainByteRunEnd(chunk: Buffer): number {
  let end = 0;
  while (end < chunk.length) {
    const b = chunk[end]!;
    if (b === 0x22 || b === 0x5c || b < 0x20) break;
    end++;
  }
  return end;
}

/** Decodes one backslash escape of a string, a character at a time (escapes may span chunks). */
export class EscapeReader {
  /** null: not in an escape; "" after the backslash; "u…" while reading \uXXXX. */
  private escape: string | null = null;

  /** Whether an escape is being read (the next character belongs to it). */
  get active(): boolean {
    return this.escape !== null;
  }

  /** The backslash was read. */
  begin(): void {
    this.escape = "";
  }

  reset(): void {
    this.escape = null;
  }

  /** The escape's next character (at `at`); the decoded text once the escape is complete, else undefined. */
  next(c: string, at: number): string | undefined {
    if (this.escape === "") {
      if (c === "u") {
        this.escape = "u";
        return undefined;
      }
      const simple = ESCAPES[c];
      if (simple === undefined) throw syntaxError(`bad escape \\${show(c)}`, at);
      this.escape = null;
      return simple;
    }
    if (!/[0-9a-fA-F]/.test(c)) throw syntaxError("bad \\u escape", at);
    this.escape += c;
    if (this.escape!.length < 5) return undefined;
    const code = Number.parseInt(this.escape!.slice(1), 16);
    this.escape = null;
    return String.fromCharCode(code);
  }
}

const WHITESPACE = /[ \t\n\r]/;
const TOKEN_CHAR = /[0-9a-zA-Z.+-]/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const LITERALS: Record<string, boolean | null> = { true: true, false: false, null: null };

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};
