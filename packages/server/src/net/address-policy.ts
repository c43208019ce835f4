import { isIPv4, isIPv6 } from "node:net";

/**
 * Which IP addresses outbound requests (referenced media, webhooks) may connect to. Private,
 * loopback, link-local, metadata-service and other special-purpose ranges are refused unless the
 * operator allows them with VIDRELAY_ALLOW_PRIVATE_TARGETS (see `parseAllowList`).
 */

export interface ParsedIp {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

/** Parse a canonical textual IPv4 or IPv6 address (an IPv6 zone such as %eth0 is dropped). */
export function parseIp(text: string): ParsedIp | null {
  const ip = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (isIPv4(ip)) return { family: 4, bytes: parseIPv4(ip) };
  if (isIPv6(ip)) {
    const bytes = parseIPv6(ip.split("%")[0]!);
    return bytes ? { family: 6, bytes } : null;
  }
  return null;
}

function parseIPv4(ip: string): Uint8Array {
  return Uint8Array.from(ip.split(".").map((part) => Number.parseInt(part, 10)));
}

function parseIPv6(ip: string): Uint8Array | null {
  let text = ip;
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups (::ffff:102:304).
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    if (!isIPv4(last)) return null;
    const b = parseIPv4(last);
    const hi = ((b[0]! << 8) | b[1]!).toString(16);
    const lo = ((b[2]! << 8) | b[3]!).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) =>
    s === "" ? [] : s.split(":").map((h) => (/^[0-9a-f]{1,4}$/i.test(h) ? Number.parseInt(h, 16) : -1));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const words = [...head, ...new Array<number>(missing).fill(0), ...rest];
  if (words.some((w) => w < 0)) return null;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

/** Canonical text of parsed bytes (IPv6 compressed per RFC 5952, lower case). */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) return Array.from(ip.bytes).join(".");
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((ip.bytes[i]! << 8) | ip.bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > max) return null;
  return { family: ip.family, bytes: ip.bytes, prefix };
}

function inCidr(ip: ParsedIp, cidr: Cidr): boolean {
  if (ip.family !== cidr.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip.bytes[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`bad built-in CIDR ${text}`);
  return parsed;
}

/** Blocked IPv4 ranges, most specific first so the label is the most telling one. */
const V4_RANGES: Array<[Cidr, string]> = [
  [cidr("169.254.169.254/32"), "cloud metadata service"],
  [cidr("255.255.255.255/32"), "broadcast"],
  [cidr("0.0.0.0/8"), "unspecified / this network"],
  [cidr("10.0.0.0/8"), "private network"],
  [cidr("100.64.0.0/10"), "carrier-grade NAT"],
  [cidr("127.0.0.0/8"), "loopback"],
  [cidr("169.254.0.0/16"), "link-local"],
  [cidr("172.16.0.0/12"), "private network"],
  [cidr("192.0.0.0/24"), "IETF protocol assignments"],
  [cidr("192.0.2.0/24"), "documentation"],
  [cidr("192.88.99.0/24"), "6to4 relay anycast"],
  [cidr("192.168.0.0/16"), "private network"],
  [cidr("198.18.0.0/15"), "benchmarking"],
  [cidr("198.51.100.0/24"), "documentation"],
  [cidr("203.0.113.0/24"), "documentation"],
  [cidr("224.0.0.0/4"), "multicast"],
  [cidr("240.0.0.0/4"), "reserved"],
];

/** IPv6 ranges that embed an IPv4 address: judged by that address. [range, name, byte offset of the IPv4]. */
const V6_EMBEDDING: Array<[Cidr, string, number]> = [
  [cidr("::ffff:0:0/96"), "IPv4-mapped", 12],
  [cidr("::ffff:0:0:0/96"), "IPv4-translated", 12],
  [cidr("64:ff9b::/96"), "NAT64", 12],
  [cidr("2002::/16"), "6to4", 2],
];

const V6_RANGES: Array<[Cidr, string]> = [
  [cidr("::/128"), "unspecified"],
  [cidr("::1/128"), "loopback"],
  [cidr("::/96"), "IPv4-compatible (deprecated)"],
  [cidr("64:ff9b:1::/48"), "local-use NAT64"],
  [cidr("100::/64"), "discard-only"],
  [cidr("2001::/32"), "Teredo tunnel"],
  [cidr("2001:2::/48"), "benchmarking"],
  [cidr("2001:10::/28"), "ORCHID (deprecated)"],
  [cidr("2001:20::/28"), "ORCHIDv2"],
  [cidr("2001:db8::/32"), "documentation"],
  [cidr("3fff::/20"), "documentation"],
  [cidr("fd00:ec2::254/128"), "cloud metadata service"],
  [cidr("fc00::/7"), "unique local (private network)"],
  [cidr("fe80::/10"), "link-local"],
  [cidr("fec0::/10"), "site-local (deprecated)"],
  [cidr("ff00::/8"), "multicast"],
];

function classifyParsed(ip: ParsedIp): string | null {
  if (ip.family === 4) {
    for (const [range, label] of V4_RANGES) if (inCidr(ip, range)) return label;
    return null;
  }
  for (const [range, name, offset] of V6_EMBEDDING) {
    if (!inCidr(ip, range)) continue;
    const inner = classifyParsed({ family: 4, bytes: ip.bytes.slice(offset, offset + 4) });
    return inner === null ? null : `${inner}, ${name}`;
  }
  for (const [range, label] of V6_RANGES) if (inCidr(ip, range)) return label;
  return null;
}

/**
 * Why connecting to `ip` is refused ("loopback", "private network", "cloud metadata service",
 * "loopback, IPv4-mapped", …), or null for an ordinary public address. Anything that is not a valid
 * IP address is "not an IP address" (refused: fail closed).
 */
export function classifyAddress(ip: string): string | null {
  const parsed = parseIp(ip);
  if (!parsed) return "not an IP address";
  return classifyParsed(parsed);
}

/** True for every address outbound requests must not reach without an explicit allow-list entry. */
export function isPrivateAddress(ip: string): boolean {
  return classifyAddress(ip) !== null;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else the address itself. */
function unmapped(ip: ParsedIp): ParsedIp {
  if (ip.family === 6 && inCidr(ip, V6_EMBEDDING[0]![0])) return { family: 4, bytes: ip.bytes.slice(12) };
  return ip;
}

/** Same address, whatever the spelling (::ffff:127.0.0.1 equals 127.0.0.1). */
export function sameAddress(a: string, b: string): boolean {
  const pa = parseIp(a);
  const pb = parseIp(b);
  if (!pa || !pb) return false;
  const ua = unmapped(pa);
  const ub = unmapped(pb);
  return ua.family === ub.family && ua.bytes.every((x, i) => x === ub.bytes[i]);
}

// --- allow list ------------------------------------------------------------------------------------

export interface AllowTarget {
  /** The URL's host name (or IP literal), lower case, without brackets or a trailing dot. */
  hostname: string;
  /** The resolved address about to be connected to. */
  address: string;
  port: number;
}

export interface AllowMatcher {
  /** `*` or `true`: every private target is allowed. */
  readonly allowsAll: boolean;
  /** The entries as written (for logs and messages). */
  readonly entries: readonly string[];
  /** Whether connecting to `target` is allowed although its address is private. */
  allows(target: AllowTarget): boolean;
}

type Rule =
  | { type: "host"; host: string; suffix: boolean; port?: number }
  | { type: "cidr"; cidr: Cidr; port?: number };

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

export function normalizeHostname(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  while (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

function parsePort(text: string, entry: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new Error(`allow-list entry "${entry}": "${text}" is not a port number (1-65535)`);
  }
  return Number(text);
}

function parseRule(entry: string): Rule {
  let body = entry;
  let port: number | undefined;
  if (body.startsWith("[")) {
    // [IPv6] or [IPv6/prefix], optionally followed by :port
    const close = body.indexOf("]");
    if (close === -1) throw new Error(`allow-list entry "${entry}": missing "]"`);
    const after = body.slice(close + 1);
    if (after) {
      if (!after.startsWith(":")) throw new Error(`allow-list entry "${entry}": expected ":port" after "]"`);
      port = parsePort(after.slice(1), entry);
    }
    body = body.slice(1, close);
  } else if ((body.match(/:/g) ?? []).length === 1) {
    // host:port or IPv4[/prefix]:port (a bare IPv6 address has several colons and no port)
    const colon = body.indexOf(":");
    port = parsePort(body.slice(colon + 1), entry);
    body = body.slice(0, colon);
  }
  const range = parseCidr(body);
  if (range) return port === undefined ? { type: "cidr", cidr: range } : { type: "cidr", cidr: range, port };
  if (body.includes("/") || body.includes(":")) {
    throw new Error(`allow-list entry "${entry}": "${body}" is not a valid IP address or CIDR range`);
  }
  let host = normalizeHostname(body);
  let suffix = false;
  if (host.startsWith("*.") || host.startsWith(".")) {
    suffix = true;
    host = host.replace(/^\*?\./, "");
  }
  if (!HOSTNAME.test(host)) {
    throw new Error(
      `allow-list entry "${entry}" is not a host name, IP address or CIDR range ` +
        `(examples: localhost, *.internal, 10.0.0.0/8, [::1]:8080, 127.0.0.1:9000)`,
    );
  }
  return port === undefined ? { type: "host", host, suffix } : { type: "host", host, suffix, port };
}

/**
 * Parse an allow list of private targets, as in VIDRELAY_ALLOW_PRIVATE_TARGETS: entries separated
 * by commas or whitespace, each one of
 * - a host name (`localhost`, `minio.internal`), or a domain and all its subdomains (`*.internal`
 *   or `.internal`): matches the URL's host name, whatever it resolves to;
 * - an IP address or CIDR range (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`): matches the
 *   resolved address (an IPv4-mapped IPv6 address matches its IPv4 form);
 * - either of those with a port (`localhost:9000`, `127.0.0.1:8080`, `[::1]:8080`,
 *   `10.0.0.0/8:443`): also requires that port;
 * - `*` or `true` alone: every private target.
 * An empty or missing value allows nothing. A malformed entry throws an Error naming it.
 */
export function parseAllowList(spec: string | undefined | null): AllowMatcher {
  const entries = (spec ?? "")
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter(Boolean);
  const allowsAll = entries.some((e) => e === "*" || e.toLowerCase() === "true");
  const rules = allowsAll ? [] : entries.map(parseRule);
  return {
    allowsAll,
    entries,
    allows(target: AllowTarget): boolean {
      if (allowsAll) return true;
      const host = normalizeHostname(target.hostname);
      const parsed = parseIp(target.address);
      const address = parsed ? unmapped(parsed) : null;
      return rules.some((rule) => {
        if (rule.port !== undefined && rule.port !== target.port) return false;
        if (rule.type === "host")
          return host === rule.host || (rule.suffix && host.endsWith(`.${rule.host}`));
        if (!address) return false;
        return inCidr(address, rule.cidr) || (parsed !== null && inCidr(parsed, rule.cidr));
      });
    },
  };
}

/** The operator's allow list from VIDRELAY_ALLOW_PRIVATE_TARGETS. */
export function allowListFromEnv(env: NodeJS.ProcessEnv = process.env): AllowMatcher {
  return parseAllowList(env["VIDRELAY_ALLOW_PRIVATE_TARGETS"]);
}

/** Allows nothing: every private target is refused. */
export const ALLOW_NONE: AllowMatcher = parseAllowList("");
