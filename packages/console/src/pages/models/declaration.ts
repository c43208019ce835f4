/**
 * The Models page's pure rules: the declaration as the editor shows it, its text read back, where a
 * refused field (`error.param`, e.g. `seconds.default`, `modes[0]`, `pricing.per_second.720p`) sits
 * in that text, and which of the editor's fields a param belongs to.
 */
import type { ModelEntry } from "@vidrelay/sdk";

/** The editor's fields (their element ids). */
export type ModelField = "model-id" | "model-declaration" | "model-upstream" | "model-note";

/**
 * A model's declaration as editable JSON: without `id` (the Model id field says it, and the path of
 * the PUT); a copy for a new model also leaves out `created`, so the gateway stamps the new one.
 * Its current price lines (`pricing`) stay in: sent back unchanged, they write no new price.
 */
export function declarationText(entry: ModelEntry, forNew: boolean): string {
  const kept = Object.entries(entry.declaration).filter(
    ([key]) => key !== "id" && !(forNew && key === "created"),
  );
  return JSON.stringify(Object.fromEntries(kept), null, 2);
}

/** An id for a copy of `sourceId` that no model has yet: `<source>-copy`, `<source>-copy-2`, … */
export function copyId(sourceId: string, taken: readonly string[]): string {
  const base = `${sourceId}-copy`.slice(0, 95);
  if (!taken.includes(base)) return base;
  for (let n = 2; ; n++) if (!taken.includes(`${base}-${n}`)) return `${base}-${n}`;
}

/** A mistake found before anything is sent (the editor's text, the id), on one of the editor's fields. */
export class EditorError extends Error {
  constructor(
    readonly field: ModelField,
    message: string,
    /** Where in the declaration's text, when the mistake is there. */
    readonly span?: Span,
  ) {
    super(message);
    this.name = "EditorError";
  }
}

/** The editor's text as a declaration object, or an EditorError saying where it is not JSON. */
export function parseDeclaration(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const at = /position (\d+)/.exec(reason);
    const position = at ? Number(at[1]) : undefined;
    throw new EditorError(
      "model-declaration",
      `The declaration is not valid JSON: ${reason}`,
      position === undefined ? undefined : { start: position, end: Math.min(position + 1, text.length) },
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new EditorError("model-declaration", "The declaration is a JSON object: { … }");
  }
  return value as Record<string, unknown>;
}

/** Which field of the editor a refused param belongs to (anything else is in the declaration). */
export function fieldOfParam(param: string): ModelField {
  if (param === "id" || param === "model") return "model-id";
  if (param === "note") return "model-note";
  if (param === "upstream_models" || param.startsWith("upstream_models.")) return "model-upstream";
  return "model-declaration";
}

/** The API's message, naming the param when the message does not already. */
export function messageWithParam(message: string, param: string | undefined): string {
  return !param || message.includes(param) ? message : `${param}: ${message}`;
}

/** The channel an `upstream_models.<channel id>` param names. */
export function channelOfParam(param: string | undefined): string | undefined {
  return param?.startsWith("upstream_models.") ? param.slice("upstream_models.".length) : undefined;
}

export interface Span {
  start: number;
  end: number;
}

/**
 * Where `param` sits in the declaration's text: the `"key": value` it names, or — when the text
 * has no such key (a price line left out) — its nearest enclosing one. The path found is returned
 * with it, in the param's dotted form. Undefined when nothing of it is in the text.
 */
export function locateParam(text: string, param: string): (Span & { path: string }) | undefined {
  let members: Map<string, Span>;
  try {
    members = memberSpans(text);
  } catch {
    return undefined;
  }
  const segments = param
    .replace(/\[(\d+)\]/g, ".$1")
    .split(".")
    .filter(Boolean);
  for (let n = segments.length; n > 0; n--) {
    const span = members.get(segments.slice(0, n).join("\u0000"));
    if (span) return { ...span, path: segments.slice(0, n).join(".") };
  }
  return undefined;
}

/** Every member and element of a JSON text by its path (segments joined by NUL) → where it is. */
function memberSpans(text: string): Map<string, Span> {
  const out = new Map<string, Span>();
  let i = 0;
  const fail = (): never => {
    throw new Error(`not JSON at ${i}`);
  };
  const space = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (c: string) => {
    space();
    if (text[i] !== c) fail();
    i++;
  };
  const string = (): string => {
    const start = i;
    if (text[i] !== '"') fail();
    for (i++; text[i] !== '"'; i++) {
      if (i >= text.length) fail();
      if (text[i] === "\\") i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string[]): void => {
    space();
    const open = text[i];
    if (open === "{" || open === "[") {
      const close = open === "{" ? "}" : "]";
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (let index = 0; ; index++) {
        space();
        const start = i;
        const key = open === "{" ? string() : String(index);
        if (open === "{") expect(":");
        value([...path, key]);
        out.set([...path, key].join("\u0000"), { start, end: i });
        space();
        if (text[i] !== ",") {
          expect(close);
          return;
        }
        i++;
      }
    }
    if (open === '"') {
      string();
      return;
    }
    const start = i;
    while (i < text.length && /[^\s,\]}]/.test(text[i]!)) i++;
    if (i === start) fail();
  };
  value([]);
  return out;
}

/** A model's price per second, resolution by resolution, in the order of its resolutions. */
export function pricePerSecond(entry: ModelEntry): Array<[resolution: string, amount: string]> {
  const lines = Object.entries(entry.declaration.pricing?.per_second ?? {});
  const order = entry.declaration.resolutions.values as string[];
  const rank = (r: string) => (order.includes(r) ? order.indexOf(r) : order.length);
  return lines.sort(([a], [b]) => rank(a) - rank(b));
}
