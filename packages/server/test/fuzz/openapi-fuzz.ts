/**
 * A seeded fuzz of every operation in a running gateway's `/openapi.json`. Each operation gets
 * requests built from its schemas (with ids, models and media the gateway handed out, so they get
 * past the shallow checks), then mutations of them. Every answer must be well-formed HTTP, never
 * 5xx, in the error envelope of docs/api.md §1 when it is an error, bodiless after HEAD, 401 for a
 * bad key, and must not echo an oversized input back.
 *
 * CLI: `node --import tsx test/fuzz/openapi-fuzz.ts [--seed N] [--per-operation N]` starts its own
 * gateway, prints every violation and exits 1 if there is one.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import { pathToFileURL } from "node:url";
import { sample } from "../helpers/paths.ts";
import { ADMIN_KEY, startTestServer } from "../helpers/server.ts";

type Schema = { [key: string]: unknown };
type Role = "admin" | "user" | "test";
type Path = Array<string | number>;
type Keys = { admin: string; user: string; test?: string };

export interface FuzzOptions {
  baseUrl: string;
  keys: Keys;
  seed: number;
  requestsPerOperation: number;
  onResult?: (result: FuzzResult) => void;
  /** Per request; one that takes longer is a violation. Default 10 s. */
  timeoutMs?: number;
}
export interface FuzzRequest {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  /** Sent as exact bytes on a socket (fetch would normalise the path or refuse the header). */
  raw: boolean;
}
export interface FuzzAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  error?: string;
}
export interface Violation {
  /** The run's seed: with it, the operation and the index regenerate the same request (ids aside). */
  seed: number;
  operation: string;
  index: number;
  method: string;
  path: string;
  kind: "timeout" | "malformed-http" | "5xx" | "envelope" | "head-body" | "long-message" | "echo" | "auth";
  detail: string;
  mutation: string;
  request: string;
  status: number;
  answer: string;
}
export interface FuzzResult {
  operation: string;
  index: number;
  mutation: string;
  request: FuzzRequest;
  answer: FuzzAnswer;
  violations: Violation[];
}
export interface FuzzReport {
  requests: number;
  byStatus: Record<string, number>;
  violations: Violation[];
}

interface Param {
  name: string;
  in: string;
  required?: boolean;
  schema: Schema;
}
interface Operation {
  key: string;
  method: string;
  path: string;
  secured: boolean;
  admin: boolean;
  bodyKind?: "json" | "multipart";
  bodySchema?: Schema;
  params: Param[];
}
interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: Buffer;
  head?: string;
}
/** A request being built: kept in parts until sent, so a mutation can aim at one of them. */
interface Draft {
  method: string;
  role?: Role;
  params: Record<string, string>;
  pathSuffix: string;
  query: string[];
  headers: Array<[string, string]>;
  json?: unknown;
  parts?: Part[];
  boundary: string;
  body?: Buffer;
  rawJson: Buffer[];
  raw: boolean;
  /** Strings sent that are over 1,000 characters: no answer may hold a 200-character run of one. */
  long: string[];
  expect401: boolean;
}
interface Ctx {
  lean: boolean;
  doc: Schema;
  rng: Rng;
  op: Operation;
  pools: Pools;
  keys: Keys;
  media: Record<"good" | "corrupt" | "giant" | "bomb", Buffer>;
}

// ------------------------------------------------------------------------ seeded randomness

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a: a stream per (seed, operation, index), so one request replays alone and ops never shift each other. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int = (lo: number, hi: number) => lo + Math.floor(this.next() * (hi - lo + 1));
  chance = (p: number) => this.next() < p;
  pick = <T>(items: readonly T[]): T => items[this.int(0, items.length - 1)]!;
  shuffle = <T>(items: T[]): T[] => {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  };
  /** Random text: no answer holds a 200-character run of it by chance, so one that does echoes it. */
  text = (length: number, alphabet = `${ALNUM}-_.~ `) => {
    let out = "";
    for (let i = 0; i < length; i++) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  };
}

// ------------------------------------------------------------------------ ids the gateway handed out

class Pools {
  private readonly map = new Map<string, string[]>();
  add(scope: Role | "*", name: string, value: string): void {
    const list = (this.map.get(`${scope}:${name}`) ?? []).filter((v) => v !== value);
    this.map.set(`${scope}:${name}`, [...list, value].slice(-20));
  }
  get(role: Role | undefined, name: string): string[] {
    return [...(role ? (this.map.get(`${role}:${name}`) ?? []) : []), ...(this.map.get(`*:${name}`) ?? [])];
  }
}

/** Objects whose ids fill path params and fields (`object` → the names they fill). */
const OBJECT_IDS: Record<string, string[]> = {
  file: ["file_id"],
  video: ["task_id", "video_id"],
  channel: ["channel_id"],
  webhook_delivery: ["delivery_id"],
  model: ["model", "model_id"],
};

/** Remember ids, media names and cursors from a 2xx answer. */
function harvest(pools: Pools, role: Role | undefined, value: unknown, depth = 0): void {
  if (typeof value === "string") {
    const media = /\/(files|videos)\/([A-Za-z0-9]{32}\.\w+)$/.exec(value);
    if (media) pools.add("*", `name@/${media[1]}`, media[2]!);
  }
  if (depth > 6 || value === null || typeof value !== "object") return;
  const object = value as Record<string, unknown>;
  if (typeof object.id === "string" && typeof object.object === "string") {
    const scope = object.object === "model" || !role ? "*" : role;
    for (const name of OBJECT_IDS[object.object] ?? []) pools.add(scope, name, object.id);
    if (object.object === "file" && typeof object.url === "string") pools.add(scope, "url", object.url);
  }
  if (typeof object.next_cursor === "string") pools.add(role ?? "*", "after", object.next_cursor);
  for (const inner of Object.values(object)) harvest(pools, role, inner, depth + 1);
}

// ------------------------------------------------------------------------ generation from the schemas

function deref(doc: Schema, schema: Schema): Schema {
  if (typeof schema.$ref !== "string") return schema;
  const components = (doc.components as { schemas: Record<string, Schema> }).schemas;
  return deref(doc, components[schema.$ref.split("/").pop()!] ?? {});
}

const jsonType = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
function types(doc: Schema, schema: Schema): string[] {
  const s = deref(doc, schema);
  const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (branches) return branches.flatMap((b) => types(doc, b));
  const t = s.type ?? (s.enum || s.const !== undefined ? "string" : "any");
  return (Array.isArray(t) ? t : [t]).map((x) => (x === "integer" ? "number" : String(x)));
}

/** Values a schema cannot tell: ids the gateway made, URLs and models it will accept. */
const HINTS: Record<string, (c: Ctx, role?: Role) => unknown> = {
  model: (c) => c.rng.pick([...c.pools.get(undefined, "model"), "no-such-model"]),
  prompt: (c) => c.rng.pick(["a red fox runs through snow", "waves roll onto a beach at dusk"]),
  seconds: (c) => c.rng.pick(["5", 5, "4", "10"]),
  duration: (c) => c.rng.pick(["5", 5, "4"]),
  url: (c, role) => c.rng.pick([...c.pools.get(role, "url"), "https://media.example.invalid/cat.jpg"]),
  image_url: (c, role) => c.rng.pick([...c.pools.get(role, "url"), "https://media.example.invalid/a.jpg"]),
  file_id: (c, role) => c.rng.pick([...c.pools.get(role, "file_id"), "file_missing"]),
  callback_url: () => "https://hooks.example.invalid/fuzz",
  base_url: () => "https://upstream.example.invalid/api/v3",
  provider: (c) => c.rng.pick(["ark", "dashscope", "fal", "xai", "relaydance"]),
  api_key: () => "sk-upstream-fuzz",
  account_id: (c) => c.rng.pick(c.pools.get(undefined, "account_id")),
  key_id: (c) => c.rng.pick(c.pools.get(undefined, "key_id")),
  start_date: (c) => `2025-0${c.rng.int(1, 9)}-1${c.rng.int(0, 9)}`,
  end_date: (c) => `2026-0${c.rng.int(1, 9)}-0${c.rng.int(1, 9)}`,
  group_by: (c) => c.rng.pick(["day", "model,key", "day,model,key"]),
  after: (c, role) => c.rng.pick([...c.pools.get(role, "after"), "bm9wZQ"]),
  amount: (c) => c.rng.pick(["1.50", "0.07", 2]),
  daily_spend_cap: (c) => c.rng.pick(["25.00", null]),
  size: (c) => c.rng.pick(["1280x720", "720x1280", "1920x1080", "854x480"]),
  models: (c) => ({ [c.rng.pick([...c.pools.get(undefined, "model"), "m"])]: "upstream-model" }),
  per_second: () => ({ "720p": "0.07" }),
  purpose: () => "video_reference",
};

function generate(c: Ctx, schema: Schema, name: string, role: Role | undefined, depth = 0): unknown {
  const s = deref(c.doc, schema);
  const hinted = HINTS[name]?.(c, role);
  const allowed = types(c.doc, s);
  if (hinted !== undefined && (allowed.includes("any") || allowed.includes(jsonType(hinted)))) return hinted;
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum)) return c.rng.pick(s.enum);
  const branches = ((s.anyOf ?? s.oneOf) as Schema[] | undefined)?.filter(
    (b) => deref(c.doc, b).type !== "null",
  );
  if (branches?.length) {
    // The first branch is the documented form (an object rather than a JSON string of one).
    return generate(c, c.rng.chance(0.7) ? branches[0]! : c.rng.pick(branches), name, role, depth);
  }
  const type = Array.isArray(s.type) ? c.rng.pick(s.type.filter((t) => t !== "null")) : s.type;
  const min = typeof s.minimum === "number" ? s.minimum : 0;
  const max = typeof s.maximum === "number" ? s.maximum : min + 100;
  if (type === "object") {
    const out: Record<string, unknown> = {};
    const required = new Set((s.required as string[] | undefined) ?? []);
    for (const [key, sub] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
      // Fields with a hint carry values the gateway accepts, so they come more often; a lean
      // request (each operation's first) has only those, so one request has a fair chance of a 200.
      const chance = HINTS[key] ? 0.8 : c.lean ? 0 : 0.5;
      if (required.has(key) || (depth < 4 && c.rng.chance(chance)))
        out[key] = generate(c, sub, key, role, depth + 1);
    }
    return out;
  }
  if (type === "array") {
    const count = c.rng.int(0, Math.min(Number(s.maxItems ?? 3), 3));
    return Array.from({ length: count }, () => generate(c, (s.items ?? {}) as Schema, name, role, depth + 1));
  }
  if (type === "string") {
    return c.rng.text(
      Math.max(Number(s.minLength ?? 1), c.rng.int(1, Math.min(Number(s.maxLength ?? 24), 24))),
    );
  }
  if (type === "integer" || type === "number") return c.rng.int(min, Math.min(max, min + 100));
  return type === "boolean" ? c.rng.chance(0.5) : null;
}

/** `/files/{name}` and `/videos/{name}` take different names. */
const poolName = (op: Operation, param: string) =>
  param === "name" ? `name@/${op.path.split("/")[1]}` : param;

/** A valid-looking request: the caller's own ids, a body from the schema, the right key. */
function baseDraft(c: Ctx): Draft {
  const { op, rng } = c;
  const roles = (["admin", "user", "test"] as const).filter((r) => c.keys[r]);
  const role: Role | undefined = !op.secured ? undefined : op.admin ? "admin" : rng.pick(roles);
  const d: Draft = {
    method: op.method,
    role,
    params: {},
    pathSuffix: "",
    query: [],
    headers: [],
    boundary: `fuzz${rng.text(12, ALNUM)}`,
    rawJson: [],
    raw: false,
    long: [],
    expect401: false,
  };
  if (role) d.headers.push(["authorization", `Bearer ${c.keys[role]}`]);
  for (const p of op.params) {
    if (p.in === "path") {
      const known = c.pools.get(role, poolName(op, p.name));
      const made = `${p.name.replace(/_id$/, "")}_${rng.text(20, ALNUM)}`;
      d.params[p.name] = encodeURIComponent(known.length ? rng.pick(known) : made);
    } else if (p.in === "query" && (p.required || rng.chance(0.5))) {
      d.query.push(`${p.name}=${encodeURIComponent(String(generate(c, p.schema, p.name, role)))}`);
    } else if (p.in === "header" && rng.chance(0.3)) {
      d.headers.push([p.name, p.name === "If-None-Match" ? '"abc"' : `idem-${rng.text(16, ALNUM)}`]);
    }
  }
  if (op.bodyKind === "json") {
    d.json = generate(c, op.bodySchema ?? {}, "", role);
    d.headers.push(["content-type", "application/json"]);
  } else if (op.bodyKind === "multipart") {
    d.parts = [{ name: "file", filename: "photo.jpg", type: "image/jpeg", data: c.media.good }];
    if (rng.chance(0.5)) d.parts.unshift({ name: "purpose", data: Buffer.from("video_reference") });
    d.headers.push(["content-type", `multipart/form-data; boundary=${d.boundary}`]);
  }
  return d;
}

// ------------------------------------------------------------------------ mutations

function fieldPaths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (out.length > 200 || value === null || typeof value !== "object") return out;
  for (const [k, v] of Object.entries(value)) {
    const path = [...prefix, Array.isArray(value) ? Number(k) : k];
    out.push(path);
    fieldPaths(v, path, out);
  }
  return out;
}
const showPath = (p: Path) =>
  p.map((k, i) => (typeof k === "number" ? `[${k}]` : i ? `.${k}` : k)).join("") || "(root)";
const getAt = (json: unknown, path: Path) =>
  path.reduce<unknown>(
    (v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined),
    json,
  );

/** Set (or with `undefined`, delete) the value at a path; what is not an object on the way becomes one. */
function setAt(d: Draft, path: Path, value: unknown): void {
  if (path.length === 0) {
    d.json = value;
    return;
  }
  if (d.json === null || typeof d.json !== "object") d.json = {};
  let node = d.json as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Record<string | number, unknown>;
  }
  if (value === undefined) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
}
function somePath(c: Ctx, d: Draft): Path {
  const paths = fieldPaths(d.json);
  const props = Object.keys((deref(c.doc, c.op.bodySchema ?? {}).properties ?? {}) as object);
  return paths.length ? c.rng.pick(paths) : [c.rng.pick(props.length ? props : ["x"])];
}
/** Raw JSON text or bytes in place of a value: what JSON.stringify cannot write. */
const rawValue = (d: Draft, bytes: string | Buffer) =>
  `@@raw:${d.rawJson.push(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes) - 1}@@`;
function huge(c: Ctx, d: Draft, min = 1001, max = 60000, alphabet?: string): string {
  const text = c.rng.text(c.rng.int(min, max), alphabet);
  if (text.length > 1000) d.long.push(text);
  return text;
}
/** Raw non-ASCII bytes travel as latin1 characters (one per byte) to the socket. */
const utf8Bytes = (text: string) => Buffer.from(text, "utf8").toString("latin1");
const short = (s: string, n = 60) => (s.length > n ? `${s.slice(0, 20)}…(${s.length} chars)` : s);

function serialize(d: Draft): Buffer | undefined {
  if (d.body) return d.body;
  if (d.parts) {
    const out = d.parts.flatMap((p) => {
      const file = p.filename === undefined ? "" : `; filename="${p.filename}"`;
      const type = p.type ? `Content-Type: ${p.type}\r\n` : "";
      const head = p.head ?? `Content-Disposition: form-data; name="${p.name}"${file}\r\n${type}\r\n`;
      return [Buffer.from(`--${d.boundary}\r\n${head}`, "latin1"), p.data, Buffer.from("\r\n")];
    });
    return Buffer.concat([...out, Buffer.from(`--${d.boundary}--\r\n`)]);
  }
  if (d.json === undefined) return undefined;
  const pieces = JSON.stringify(d.json).split(/"@@raw:(\d+)@@"/);
  return Buffer.concat(pieces.map((piece, i) => (i % 2 ? d.rawJson[Number(piece)]! : Buffer.from(piece))));
}
function setHeader(d: Draft, name: string, value?: string): void {
  d.headers = d.headers.filter(([k]) => k.toLowerCase() !== name.toLowerCase());
  if (value !== undefined) d.headers.push([name, value]);
}

type Mutate = (c: Ctx, d: Draft) => string;
const words = (text: string) => text.split(" ");
/** Put a value at a random field of the JSON body. */
const atField =
  (make: (c: Ctx, d: Draft) => [value: unknown, label: string]): Mutate =>
  (c, d) => {
    const path = somePath(c, d);
    const [value, label] = make(c, d);
    setAt(d, path, value);
    return `${label} at ${showPath(path)}`;
  };
const WRONG_TYPES = [7, -1, 1.5, true, false, null, "text", [], {}, [1, "a"], { a: 1 }];
const NUMBERS = words("1e308 -1e308 1e400 9007199254740993 123456789012345678901234567890 -0 1e-400 0.1e1");
const NAN_LIKE = [
  ...words('-1 -999999999 0 -0.5 "NaN" "Infinity" "-1" "" NaN Infinity -Infinity undefined'),
  '" "',
];
const CONTROLS = "\u0000|a\u0000b|\u0001\u001f|\u007f|\ud800|x\udc00|\u2028|\ufeff|\r\n".split("|");
const BAD_UTF8 = ["ff", "c328", "eda080", "e0a4", "f888808080", "c0af"].map((hex) => Buffer.from(hex, "hex"));

const JSON_MUTATIONS: Record<string, Mutate> = {
  "wrong JSON type": atField((c) => {
    const v = c.rng.pick(WRONG_TYPES);
    return [v, `wrong JSON type ${JSON.stringify(v)}`];
  }),
  "missing field": (c, d) => {
    const required = (deref(c.doc, c.op.bodySchema ?? {}).required as string[] | undefined) ?? [];
    const path = required.length && c.rng.chance(0.6) ? [c.rng.pick(required)] : somePath(c, d);
    setAt(d, path, undefined);
    return `missing ${showPath(path)}`;
  },
  "unknown field": (c, d) => {
    const parent = c.rng.pick([
      [],
      ...fieldPaths(d.json).filter((p) => jsonType(getAt(d.json, p)) === "object"),
    ]);
    const key = c.rng.pick(["extra", "x_fuzz", "", "💥", "a.b", "0", "callback_url"]);
    setAt(d, [...parent, key], c.rng.pick([1, "x", { deep: [1] }, null]));
    return `unknown field ${showPath([...parent, key])}`;
  },
  "huge string": atField((c, d) => {
    const text = huge(c, d);
    return [text, `a ${text.length}-char string`];
  }),
  "huge key": (c, d) => {
    const key = huge(c, d);
    setAt(d, [...somePath(c, d).slice(0, -1), key], 1);
    return `a ${key.length}-char key`;
  },
  "huge number": atField((c, d) => {
    const n = c.rng.pick(NUMBERS);
    return [rawValue(d, n), `number ${n}`];
  }),
  "negative or NaN-like": atField((c, d) => {
    const v = c.rng.pick(NAN_LIKE);
    return [rawValue(d, v), `value ${v}`];
  }),
  "deep nesting": (c, d) => {
    const n = c.rng.int(10_000, 50_000);
    const nested = c.rng.chance(0.5)
      ? `${"[".repeat(n)}${"]".repeat(n)}`
      : `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
    const path = c.rng.chance(0.3) ? [] : somePath(c, d);
    setAt(d, path, rawValue(d, nested));
    return `${n} levels of nesting at ${showPath(path)}`;
  },
  "prototype keys": (c, d) => {
    const key = c.rng.pick(["__proto__", "constructor", "prototype"]);
    const parent = c.rng.chance(0.5) ? [] : somePath(c, d).slice(0, -1);
    setAt(d, [...parent, key], rawValue(d, '{"admin":true,"prototype":{"admin":true},"test_mode":true}'));
    return `"${key}" key at ${showPath(parent)}`;
  },
  "control characters": atField((c) => {
    const bad = c.rng.pick(CONTROLS);
    return [c.rng.chance(0.7) ? bad : { [bad]: bad }, `control characters ${JSON.stringify(bad)}`];
  }),
  "invalid UTF-8": atField((c, d) => {
    const bytes = c.rng.pick(BAD_UTF8);
    return [
      rawValue(d, Buffer.concat([Buffer.from('"a'), bytes, Buffer.from('b"')])),
      `bytes ${bytes.toString("hex")}`,
    ];
  }),
  "non-object JSON": (c, d) => {
    const text = c.rng.pick(words('[] null "x" 42 true [{}] \ufeff{} {}} {,} {\'a\':1} {"a":1}x'));
    d.body = Buffer.from(text);
    return `body ${JSON.stringify(text)}`;
  },
  "duplicate keys": (_c, d) => {
    const body = serialize(d)!.toString("latin1");
    const key = /^\{("(?:[^"\\]|\\.)*"):/.exec(body)?.[1] ?? '"x"';
    d.body = Buffer.from(`{${key}:12345,${body.startsWith("{}") ? `${key}:1}` : body.slice(1)}`, "latin1");
    return `duplicate key ${key}`;
  },
  "fields as multipart": (c, d) => {
    const fields = Object.entries((d.json ?? {}) as object);
    d.parts = fields.map(([name, v]) => ({
      name,
      data: Buffer.from(typeof v === "string" ? v : JSON.stringify(v)),
    }));
    if (c.rng.chance(0.5)) d.parts.push({ name: "input_reference", filename: "r.jpg", data: c.media.good });
    setHeader(d, "content-type", `multipart/form-data; boundary=${d.boundary}`);
    return "the JSON fields as multipart/form-data";
  },
};

const BODY_MUTATIONS: Record<string, Mutate> = {
  "wrong Content-Type": (c, d) => {
    const types = ["text/plain", "application/xml", "application/x-www-form-urlencoded", "*/*", ""];
    types.push("application/json; charset=utf-16", "application/jsonx", "multipart/form-data");
    if (c.op.bodyKind === "multipart") types.push("application/json");
    const type = c.rng.chance(0.1) ? undefined : c.rng.pick(types);
    setHeader(d, "content-type", type);
    return `Content-Type ${JSON.stringify(type ?? "(none)")}`;
  },
  "empty body": (_c, d) => {
    d.body = Buffer.alloc(0);
    return "empty body";
  },
  "truncated body": (c, d) => {
    const body = serialize(d)!;
    d.body = body.subarray(0, c.rng.int(1, Math.max(1, body.length - 1)));
    return `body cut to ${d.body.length} of ${body.length} bytes`;
  },
};
/** Work on the serialized body, so they run after the structural ones. */
const LATE = new Set(["empty body", "truncated body", "non-object JSON", "duplicate keys"]);

const BODILESS_MUTATIONS: Record<string, Mutate> = {
  "body on a bodiless request": (c, d) => {
    d.body = Buffer.from(c.rng.pick(['{"a":1}', "[", "x".repeat(70_000)]));
    d.headers.push(["content-type", c.rng.pick(["application/json", "text/plain"])]);
    d.raw = true;
    return `a ${d.body.length}-byte body on ${d.method}`;
  },
};
const GET_MUTATIONS: Record<string, Mutate> = {
  "HEAD instead of GET": (_c, d) => {
    d.method = "HEAD";
    return "HEAD of a GET route";
  },
};

/** Replace a path param (or, on a route without one, append to the path) with an odd value. */
const inPath =
  (label: string, values: (c: Ctx, d: Draft) => string, raw = false): Mutate =>
  (c, d) => {
    const value = values(c, d);
    const names = Object.keys(d.params);
    if (names.length) d.params[c.rng.pick(names)] = value;
    else d.pathSuffix = value;
    d.raw ||= raw;
    return `${label} ${JSON.stringify(short(value))}`;
  };
const BAD_PERCENT = words("%zz % %E0%A4%A abc% %% %u0041 %C0%AF %FF %00 %ED%A0%80");
const SLASHES = words("a%2Fb ..%2F..%2Fv1%2Fme %2F %5C x%2F..%2F..%2Fhealthz %2e%2e");
const RAW_BYTES = [..."é|日本|💥".split("|").map(utf8Bytes), ..."\xff|\x80|a b|\x7f|\t|..|.".split("|")];
const PATH_MUTATIONS: Record<string, Mutate> = {
  "long path param": inPath("path param", (c, d) => huge(c, d, 300, 5000, ALNUM)),
  "bad percent-encoding": inPath("path param", (c) => c.rng.pick(BAD_PERCENT)),
  "encoded slash": inPath("path param", (c) => c.rng.pick(SLASHES)),
  "raw non-ASCII bytes": inPath("raw path bytes", (c) => c.rng.pick(RAW_BYTES), true),
  "someone else's id": inPath("another account's or a missing id", (c, d) => {
    const others = (["admin", "user", "test"] as const).filter((r) => r !== d.role);
    const ids = others.flatMap((r) => [...c.pools.get(r, "task_id"), ...c.pools.get(r, "file_id")]);
    return c.rng.pick([...ids, "task_00000000000000000000000000000000", "file_x", ""]);
  }),
};

const queryName = (c: Ctx) => c.rng.pick(c.op.params.filter((p) => p.in === "query")).name;
const BAD_QUERY = words("abc -1 0 1e309 0x10 NaN %zz % %E0%A4%A 101 1.5 %00");
const QUERY_MUTATIONS: Record<string, Mutate> = {
  "repeated or array query keys": (c, d) => {
    const k = queryName(c);
    const forms = "K=1&K=2|K[]=1&K[]=2|K[0]=x|K[a]=b|K|K=|K=1&K=abc".split("|");
    const extra = c.rng.pick(forms).replace(/K/g, k);
    d.query.push(extra);
    return `query ${extra}`;
  },
  "bad query value": (c, d) => {
    const pair = `${queryName(c)}=${c.rng.pick(BAD_QUERY)}`;
    d.query = [pair];
    return `query ${pair}`;
  },
};
const ANY_MUTATIONS: Record<string, Mutate> = {
  "huge query value": (c, d) => {
    const v = huge(c, d, 1001, c.rng.chance(0.5) ? 8000 : 60000);
    const name = c.op.params.some((p) => p.in === "query") ? queryName(c) : "q";
    d.query.push(`${name}=${encodeURIComponent(v)}`);
    return `a query value of ${v.length} chars`;
  },
  "path noise": inPath("path param", (c) => c.rng.pick([...BAD_PERCENT, ...SLASHES])),
};

const AUTH_MUTATIONS: Record<string, Mutate> = {
  "missing Authorization": (_c, d) => {
    setHeader(d, "authorization");
    d.expect401 = true;
    return "no Authorization header";
  },
  "wrong Authorization": (c, d) => {
    const admin = c.keys.admin;
    const values = ["Bearer", "Basic dXNlcjpwYXNz", `Token ${admin}`, admin, `Bearer ${admin} extra`];
    values.push(`Bearer sk-${c.rng.text(48, ALNUM)}`, `Bearer ${utf8Bytes("sk-é")}`, `bearer\t${admin}x`);
    const value = c.rng.chance(0.2) ? `Bearer sk-${huge(c, d, 1001, 6000, ALNUM)}` : c.rng.pick(values);
    setHeader(d, "authorization", value);
    d.expect401 = true;
    return `Authorization ${JSON.stringify(short(value))}`;
  },
  "odd Authorization bytes or a second one": (c, d) => {
    const odd = c.rng.pick(["Bearer sk-\x01abc", `Bearer ${c.keys.admin}\x7f`, "Bearer \x00"]);
    if (c.rng.chance(0.5)) d.headers.unshift(["authorization", "Bearer sk-wrong"]);
    else setHeader(d, "authorization", odd);
    d.raw = true;
    return "Authorization with control characters, or a second (wrong) one first";
  },
};
const IDEMPOTENCY_MUTATIONS: Record<string, Mutate> = {
  "bad Idempotency-Key": (c, d) => {
    const odd = ["a b", "", "\x01key", "key\x7f", "tab\there", utf8Bytes("ключ")];
    const value = c.rng.chance(0.4) ? huge(c, d, 256, 5000, ALNUM) : c.rng.pick(odd);
    setHeader(d, "Idempotency-Key", value);
    return `Idempotency-Key ${JSON.stringify(short(value))}`;
  },
};

const ODD_PARTS = [
  "two file parts",
  "a 0-byte file",
  "the file under another field name",
  "no file part",
  "a part without Content-Disposition",
  "twelve extra fields",
  "a file of text",
  "a bad sample image",
];
const ODD_FILENAMES = [
  "../../etc/passwd",
  'a"b.jpg',
  "",
  utf8Bytes("é.jpg"),
  "a\r\nX-Injected: 1",
  "%00.jpg",
];
const MULTIPART_MUTATIONS: Record<string, Mutate> = {
  "no or wrong boundary": (c, d) => {
    const boundaries = [
      "",
      "; boundary=other",
      `; boundary="${d.boundary}x"`,
      `; boundary=${"b".repeat(200)}`,
    ];
    const type = c.rng.chance(0.2)
      ? `multipart/mixed; boundary=${d.boundary}`
      : `multipart/form-data${c.rng.pick(boundaries)}`;
    setHeader(d, "content-type", type);
    return `Content-Type ${short(type)}`;
  },
  "odd parts": (c, d) => {
    const file = d.parts!.find((p) => p.name === "file")!;
    const which = c.rng.int(0, ODD_PARTS.length - 1);
    if (which === 0) d.parts!.push({ ...file, filename: "second.jpg" });
    if (which === 1) file.data = Buffer.alloc(0);
    if (which === 2) file.name = "upload";
    if (which === 3) d.parts = d.parts!.filter((p) => p !== file);
    if (which === 4) file.head = "Content-Type: image/jpeg\r\n\r\n";
    if (which === 5)
      d.parts!.push(...Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, data: Buffer.from("v") })));
    if (which === 6) file.data = Buffer.from(c.rng.text(2000));
    if (which === 7) file.data = c.rng.pick([c.media.corrupt, c.media.giant, c.media.bomb]);
    return ODD_PARTS[which]!;
  },
  "odd filename": (c, d) => {
    const name = c.rng.chance(0.4) ? huge(c, d) : c.rng.pick(ODD_FILENAMES);
    d.parts!.find((p) => p.name === "file")!.filename = name;
    return `filename ${JSON.stringify(short(name))}`;
  },
};

/** The mutations that make sense for an operation, by name. */
function mutationsFor(op: Operation): Array<[string, Mutate]> {
  const groups = [ANY_MUTATIONS];
  if (op.bodyKind) groups.push(BODY_MUTATIONS);
  else groups.push(BODILESS_MUTATIONS);
  if (op.bodyKind === "json") groups.push(JSON_MUTATIONS);
  if (op.bodyKind === "multipart") groups.push(MULTIPART_MUTATIONS);
  if (op.method === "GET") groups.push(GET_MUTATIONS);
  if (op.params.some((p) => p.in === "path")) groups.push(PATH_MUTATIONS);
  if (op.params.some((p) => p.in === "query")) groups.push(QUERY_MUTATIONS);
  if (op.secured) groups.push(AUTH_MUTATIONS);
  if (op.params.some((p) => p.name === "Idempotency-Key")) groups.push(IDEMPOTENCY_MUTATIONS);
  const all = groups.flatMap((g) => Object.entries(g));
  // Without path params, "path noise" stands in for the path mutations.
  return op.params.some((p) => p.in === "path") ? all.filter(([n]) => n !== "path noise") : all;
}

// ------------------------------------------------------------------------ sending

async function sendFetch(baseUrl: string, r: FuzzRequest, timeoutMs: number): Promise<FuzzAnswer> {
  try {
    const res = await fetch(`${baseUrl}${r.target}`, {
      method: r.method,
      headers: r.headers,
      body: r.body ? new Uint8Array(r.body) : undefined,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const headers = Object.fromEntries(res.headers);
    // An event stream stays open by design: its headers are the answer.
    if (headers["content-type"]?.startsWith("text/event-stream")) {
      await res.body?.cancel();
      return { status: res.status, headers, body: Buffer.alloc(0) };
    }
    return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
  } catch (error) {
    const e = error as Error & { cause?: Error & { code?: string } };
    if (e.name === "TimeoutError") return { status: 0, headers: {}, body: Buffer.alloc(0), error: "timeout" };
    const why = `the client could not read the answer: ${e.cause?.code ?? ""} ${e.cause?.message ?? e.message}`;
    return { status: 0, headers: {}, body: Buffer.alloc(0), error: why };
  }
}

/** Parse an HTTP/1.1 answer strictly; `done` once the whole answer is in. */
function parseAnswer(buf: Buffer, head: boolean): { done: boolean; answer?: FuzzAnswer; error?: string } {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return { done: false, error: "no end of headers" };
  const [statusLine, ...lines] = buf.subarray(0, end).toString("latin1").split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/.exec(statusLine!)?.[1];
  if (!status) return { done: true, error: `bad status line ${JSON.stringify(short(statusLine!, 80))}` };
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) return { done: true, error: `bad header line ${JSON.stringify(short(line, 80))}` };
    headers[m[1]!.toLowerCase()] = m[2]!;
  }
  const body = buf.subarray(end + 4);
  const answer = (bytes: Buffer) => ({ status: Number(status), headers, body: bytes });
  if (head || headers["content-type"]?.startsWith("text/event-stream"))
    return { done: true, answer: answer(body) };
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const out: Buffer[] = [];
    for (let i = 0; ; ) {
      const eol = body.indexOf("\r\n", i);
      const size = eol < 0 ? Number.NaN : Number.parseInt(body.subarray(i, eol).toString("latin1"), 16);
      if (Number.isNaN(size) || eol + size + 4 > body.length)
        return { done: false, error: "chunked body cut short" };
      if (size === 0) return { done: true, answer: answer(Buffer.concat(out)) };
      out.push(body.subarray(eol + 2, eol + 2 + size));
      i = eol + size + 4;
    }
  }
  const length = Number(headers["content-length"] ?? Number.NaN);
  if (Number.isNaN(length)) return { done: false, answer: answer(body) }; // ends when the connection does
  if (body.length < length) return { done: false, error: `body shorter than its Content-Length ${length}` };
  if (body.length > length) return { done: true, error: `${body.length - length} bytes after the body` };
  return { done: true, answer: answer(body) };
}

/** Exact bytes through a socket: fetch would normalise the path and refuse odd headers. */
function sendRaw(baseUrl: string, r: FuzzRequest, timeoutMs: number): Promise<FuzzAnswer> {
  const { hostname, port } = new URL(baseUrl);
  const lines = [`${r.method} ${r.target} HTTP/1.1`, `host: ${hostname}:${port}`, "connection: close"];
  lines.push(...r.headers.map(([k, v]) => `${k}: ${v}`));
  if (r.body) lines.push(`content-length: ${r.body.length}`);
  const bytes = Buffer.concat([
    Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"),
    r.body ?? Buffer.alloc(0),
  ]);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const socket = net.connect(Number(port), hostname, () => socket.write(bytes, () => {}));
    const finish = (why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      socket.destroy();
      const { answer, error } = parseAnswer(Buffer.concat(chunks), r.method === "HEAD");
      if (answer && !error && !why) return resolve(answer);
      const message =
        why ?? (chunks.length ? `malformed answer: ${error}` : "connection closed without an answer");
      resolve({
        status: answer?.status ?? 0,
        headers: answer?.headers ?? {},
        body: answer?.body ?? Buffer.alloc(0),
        error: message,
      });
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      if (!parseAnswer(Buffer.concat(chunks), false).done) return;
      // A HEAD answer ends with its headers; bytes that follow soon after are a body that should not be there.
      if (r.method !== "HEAD") finish();
      else grace ??= setTimeout(() => finish(), 300);
    });
    socket.on("close", () => finish());
    socket.on("error", () => {}); // a reset after the answer is still an answer; 'close' follows
  });
}

// ------------------------------------------------------------------------ checks

/** Whether `hay` holds a run of `run` characters of `needle` (any such run covers an aligned half-run block). */
function echoes(hay: string, needle: string, run = 200): boolean {
  const half = run / 2;
  for (let start = 0; start + half <= needle.length; start += half) {
    const block = needle.slice(start, start + half);
    for (let at = hay.indexOf(block); at >= 0; at = hay.indexOf(block, at + 1)) {
      let left = 0;
      while (left < start && left < at && hay[at - left - 1] === needle[start - left - 1]) left++;
      let right = half;
      while (start + right < needle.length && hay[at + right] === needle[start + right]) right++;
      if (left + right >= run) return true;
    }
  }
  return false;
}

function check(r: FuzzRequest, a: FuzzAnswer, d: Draft): Array<[Violation["kind"], string]> {
  const started = a.status ? ` (after a ${a.status} ${a.headers["content-type"] ?? ""} head)` : "";
  if (a.error === "timeout") return [["timeout", `no complete answer within the time limit${started}`]];
  if (a.error) return [["malformed-http", a.error]];
  const out: Array<[Violation["kind"], string]> = [];
  const text = a.body.subarray(0, 1 << 20).toString("utf8");
  if (a.status >= 500) out.push(["5xx", `status ${a.status}`]);
  // Every socket request says `Connection: close` (RFC 9112 §9.6: the server must then close).
  if (r.raw && /keep-alive/i.test(a.headers.connection ?? "")) {
    out.push(["malformed-http", "answered Connection: keep-alive to a request that asked to close"]);
  }
  if (r.method === "HEAD" && a.body.length > 0)
    out.push(["head-body", `${a.body.length} bytes after a HEAD`]);
  if (a.status >= 400 && r.method !== "HEAD") {
    let e: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      if (Object.keys(parsed).join() === "error") e = parsed.error as Record<string, unknown>;
    } catch {}
    const strings = e && [e.message, e.type, e.code].every((v) => typeof v === "string");
    const shaped = strings && Object.keys(e!).sort().join() === "code,message,param,type";
    if (!shaped || !(e!.param === null || typeof e!.param === "string")) {
      out.push(["envelope", "the body is not exactly {error: {message, type, code, param}}"]);
    }
    const type = a.headers["content-type"] ?? "(none)";
    if (!/^application\/json\b/.test(type)) out.push(["envelope", `content-type ${type}`]);
    const message = e?.message;
    if (typeof message === "string" && message.length > 1000) {
      out.push(["long-message", `a message of ${message.length} chars`]);
    }
  }
  for (const sent of d.long) {
    if (echoes(text, sent))
      out.push(["echo", `a 200-char run of a ${sent.length}-char input is in the answer`]);
  }
  // A request node's HTTP parser refuses never reaches the key check: its 400 is the right answer.
  const refusedAsHttp = a.status === 400 && text.includes('"code":"invalid_request"');
  if (d.expect401 && a.status !== 401 && !refusedAsHttp) out.push(["auth", `answered ${a.status}, not 401`]);
  return out;
}

function curlish(baseUrl: string, r: FuzzRequest, keys: Keys): string {
  // The keys are the run's own; placeholders keep the line readable.
  const hide = (s: string) =>
    Object.entries(keys).reduce(
      (out, [role, key]) => (key ? out.split(key).join(`$${role.toUpperCase()}_KEY`) : out),
      s,
    );
  const headers = r.headers.map(([k, v]) => ` -H ${JSON.stringify(`${k}: ${short(hide(v), 100)}`)}`).join("");
  const body = r.body ? ` --data-binary ${JSON.stringify(short(r.body.toString("latin1"), 300))}` : "";
  const url = JSON.stringify(short(`${baseUrl}${r.target}`, 300));
  return `${r.raw ? "raw socket (exact bytes):" : "curl"} -X ${r.method} ${url}${headers}${body}`;
}

// ------------------------------------------------------------------------ the run

function operations(doc: Schema): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(item)) {
      const content = ((op.requestBody as Schema | undefined)?.content ?? {}) as Record<
        string,
        { schema: Schema }
      >;
      const multipart = content["multipart/form-data"]?.schema;
      ops.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        secured: ((op.security as unknown[] | undefined)?.length ?? 1) > 0,
        admin: path.startsWith("/v1/admin/") || String(op.description ?? "").includes("Admin keys only"),
        bodyKind: multipart ? "multipart" : content["application/json"] ? "json" : undefined,
        bodySchema: multipart ?? content["application/json"]?.schema,
        params: (op.parameters ?? []) as Param[],
      });
    }
  }
  // Reads first, deletes last, and the writes that change the whole gateway (routing, prices) at the very end.
  const rank = (op: Operation) => {
    const byMethod =
      ({ GET: 0, HEAD: 0, POST: 1, PUT: 2, PATCH: 2 } as Record<string, number>)[op.method] ?? 3;
    return byMethod + (/^\/v1\/admin\/(channels|prices)/.test(op.path) && op.method !== "GET" ? 10 : 0);
  };
  return ops.sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key));
}

/** Ids, media and a finished task of each key's account, so valid-looking requests can name real things. */
async function setup(o: FuzzOptions, pools: Pools, image: Buffer): Promise<void> {
  const call = async (role: Role, method: string, path: string, body?: unknown) => {
    const form = body instanceof FormData;
    const headers = {
      authorization: `Bearer ${o.keys[role]}`,
      ...(form ? {} : { "content-type": "application/json" }),
    };
    const init = {
      method,
      headers,
      body: form ? body : body === undefined ? undefined : JSON.stringify(body),
    };
    const res = await fetch(`${o.baseUrl}${path}`, init);
    const json = (await res.json()) as Record<string, unknown>;
    if (res.ok) harvest(pools, role, json);
    return json;
  };
  type Model = { id: string; modes: string[]; seconds: { min: number }; resolutions: { values: string[] } };
  const models = (await call("admin", "GET", "/v1/models")).data as Model[];
  const victim = await call("admin", "POST", "/v1/admin/keys", {
    account_name: "fuzz-victim",
    name: "victim",
  });
  // Admin routes that take an account or key aim at this one, never at the keys the fuzz runs with.
  pools.add("*", "account_id", (victim.account as { id: string }).id);
  pools.add("*", "key_id", String(victim.id));
  // The shortest text-only clip renders quickest.
  const model = models
    .filter((m) => m.modes.includes("text"))
    .sort((a, b) => a.seconds.min - b.seconds.min)[0]!;
  const tasks: Array<[Role, string]> = [];
  for (const role of (["admin", "user", "test"] as const).filter((r) => o.keys[r])) {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(image)], { type: "image/jpeg" }), "setup.jpg");
    await call(role, "POST", "/v1/files", form);
    const metadata = {
      resolution: model.resolutions.values[0],
      callback_url: "https://hooks.example.invalid/x",
    };
    const body = { model: model.id, prompt: "setup", seconds: model.seconds.min, metadata };
    const task = await call(role, "POST", "/v1/video/generations", body);
    if (typeof task.id === "string") tasks.push([role, task.id]);
  }
  for (const deadline = Date.now() + 60_000; tasks.length && Date.now() < deadline; ) {
    const [role, id] = tasks[0]!;
    const task = await call(role, "GET", `/v1/video/generations/${id}`);
    if (task.status !== "succeeded" && task.status !== "failed") await new Promise((r) => setTimeout(r, 250));
    else if (tasks.shift()) await call(role, "GET", `/v1/video/generations/${id}/deliveries`);
  }
  // Disabled: the local engine serves every model only while no channel is enabled.
  const channel = {
    provider: "ark",
    base_url: "https://upstream.example.invalid/v3",
    api_key: "sk-fuzz",
    enabled: false,
  };
  await call("admin", "POST", "/v1/admin/channels", { ...channel, models: { [model.id]: "up" } });
}

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const doc = (await (await fetch(`${options.baseUrl}/openapi.json`)).json()) as Schema;
  const pools = new Pools();
  const read = (name: string) => readFileSync(sample(name));
  const media: Ctx["media"] = {
    good: read("grey-400x267.jpg"),
    corrupt: read("bad/corrupt-header.jpg"),
    giant: read("bad/giant-20000x14000.jpg"),
    bomb: read("bad/pixel-bomb-65536x65536.png"),
  };
  await setup(options, pools, read("landscape-600x450.jpg"));
  const report: FuzzReport = { requests: 0, byStatus: {}, violations: [] };
  let unreachable = 0;
  for (const op of operations(doc)) {
    const order = new Rng(hash32(`${options.seed}:${op.key}`)).shuffle(mutationsFor(op));
    for (let index = 0; index < options.requestsPerOperation; index++) {
      const rng = new Rng(hash32(`${options.seed}:${op.key}:${index}`));
      const c: Ctx = { lean: index === 0, doc, rng, op, pools, keys: options.keys, media };
      const d = baseDraft(c);
      // The first request and a quarter of the rest are unmutated; the others take the mutations in turn
      // (so a budget a little over their number covers them all), a fifth of them with a second one.
      const chosen = index === 0 || rng.chance(0.25) ? [] : [order[(index - 1) % order.length]!];
      if (chosen.length && rng.chance(0.2)) chosen.push(rng.pick(order));
      const applied = [...new Set(chosen)].sort(([a], [b]) => Number(LATE.has(a)) - Number(LATE.has(b)));
      const mutation = applied.map(([, mutate]) => mutate(c, d)).join(" + ") || "valid-looking";
      if (applied.length > 1) d.expect401 = false; // the other mutation may rightly be refused first
      const body = serialize(d);
      const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => d.params[name] ?? "") + d.pathSuffix;
      const target = d.query.length ? `${path}?${d.query.join("&")}` : path;
      // fetch cannot send a body with GET, odd header bytes, or show whether a HEAD answer has a body.
      const oddHeader = d.headers.some(([, v]) => /[^\x20-\x7e]|^\s|\s$/.test(v));
      const raw = d.raw || oddHeader || d.method === "HEAD" || (!!body && d.method === "GET");
      const request: FuzzRequest = { method: d.method, target, headers: d.headers, body, raw };
      const answer = await (raw ? sendRaw : sendFetch)(options.baseUrl, request, options.timeoutMs ?? 10_000);
      report.requests++;
      const status = answer.error ? "error" : String(answer.status);
      report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
      if (answer.status >= 200 && answer.status < 300 && /json/.test(answer.headers["content-type"] ?? "")) {
        try {
          harvest(pools, d.role, JSON.parse(answer.body.toString("utf8")));
        } catch {}
      }
      const shown = {
        seed: options.seed,
        operation: op.key,
        index,
        method: request.method,
        path: short(request.target, 300),
        mutation,
        request: curlish(options.baseUrl, request, options.keys),
        status: answer.status,
        answer: answer.body.subarray(0, 300).toString("utf8"),
      };
      const violations = check(request, answer, d).map(([kind, detail]) => ({ ...shown, kind, detail }));
      report.violations.push(...violations);
      options.onResult?.({ operation: op.key, index, mutation, request, answer, violations });
      // A gateway that stopped answering would turn every later request into noise.
      unreachable = /ECONNREFUSED|without an answer/.test(answer.error ?? "") ? unreachable + 1 : 0;
      if (unreachable >= 5) return report;
    }
  }
  return report;
}

export function formatViolation(v: Violation): string {
  const answer = `${v.status} ${v.answer.replace(/\s+/g, " ")}`;
  return `[${v.kind}] ${v.operation} #${v.index} (seed ${v.seed}): ${v.detail}\n  mutation: ${v.mutation}\n  request:  ${v.request}\n  answer:   ${answer}`;
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? Number(process.argv[at + 1]) : fallback;
  };
  const seed = arg("--seed", 1);
  const perOperation = arg("--per-operation", 20);
  const started = Date.now();
  const t = await startTestServer();
  try {
    const user = await t.newAccountKey("fuzz-user");
    const test = await t.newAccountKey("fuzz-test", true);
    const keys = { admin: ADMIN_KEY, user, test };
    const report = await fuzz({ baseUrl: t.url, keys, seed, requestsPerOperation: perOperation });
    for (const v of report.violations) console.log(`${formatViolation(v)}\n`);
    const statuses = Object.entries(report.byStatus).map(([s, n]) => `${s}: ${n}`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`seed ${seed}, ${perOperation} per operation: ${report.requests} requests in ${seconds} s`);
    console.log(`statuses ${statuses.join(", ")}; ${report.violations.length} violations`);
    process.exitCode = report.violations.length ? 1 : 0;
  } finally {
    await t.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
