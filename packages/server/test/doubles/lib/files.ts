import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { type Clock, isoBasic } from "./clock.ts";
import type { Reply, RequestContext } from "./http.ts";
import { sampleMedia } from "./media.ts";
import type { Rng } from "./random.ts";

/**
 * A small static file server for real media at presigned-looking, expiring URLs.
 *
 * Styles:
 * * `tos` (Volcengine/BytePlus TOS): `/tos/<bucket>/<key>?X-Tos-Algorithm=TOS4-HMAC-SHA256&X-Tos-Credential=…
 *   &X-Tos-Date=<yyyymmddThhmmssZ>&X-Tos-Expires=<seconds>&X-Tos-SignedHeaders=host&X-Tos-Signature=<hmac>`.
 * * `oss` (Alibaba OSS v1): `/oss/<bucket>/<key>?Expires=<epoch s>&OSSAccessKeyId=…&Signature=<base64 hmac>`.
 * * `plain` (a CDN): `/cdn/<key>`, unsigned, but it still expires.
 *
 * Expired, revoked or badly signed URLs get 403 with an XML error body; unknown objects 404.
 */

export type FileStyle = "tos" | "oss" | "plain";
export type FileKind = "mp4" | "png";

export interface PublishOptions {
  /** Built-in sample media (default mp4), or your own bytes with `data` + `contentType`. */
  kind?: FileKind;
  data?: Buffer;
  contentType?: string;
  style?: FileStyle;
  bucket?: string;
  /** Object key (path inside the bucket); default a random id with the kind's extension. */
  key?: string;
  /** Lifetime in simulated ms (what the URL advertises, e.g. X-Tos-Expires). Default 24 h. */
  ttlMs?: number;
  /** Revoke earlier than advertised: the URL stops working after this many simulated ms. */
  revokeAfterMs?: number;
  /** Free-form label (e.g. a task id) to find or expire files by. */
  tag?: string;
  /** Region shown in the TOS credential scope. */
  region?: string;
  /** Simulated time the URL is signed at (default now); expiry counts from here. */
  at?: number;
}

export interface PublishedFile {
  id: string;
  style: FileStyle;
  bucket: string;
  key: string;
  /** Path + query, without the origin. */
  pathAndQuery: string;
  url: string;
  contentType: string;
  bytes: number;
  createdAt: number;
  /** Simulated epoch ms after which the URL answers 403 (the advertised expiry). */
  expiresAt: number;
  /** Set when revoked early (on demand or by `revokeAfterMs`). */
  revokedAt?: number;
  tag?: string;
  downloads: number;
}

interface StoredFile extends PublishedFile {
  data: Buffer | (() => Buffer);
}

export interface ExpireFilter {
  ids?: string[];
  tag?: string;
  /** Any file whose URL contains this substring. */
  urlContains?: string;
}

export const DEFAULT_FILE_TTL_MS = 24 * 3600 * 1000;
const ACCESS_KEY = "AKLTdoubleTESTKEY0000";

export class Files {
  #files = new Map<string, StoredFile>();
  #byPath = new Map<string, string>();
  #media: Awaited<ReturnType<typeof sampleMedia>> | undefined;
  readonly #secret: string;
  /** Origin the URLs are built on; set by startDouble once listening. */
  baseUrl = "http://127.0.0.1";

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
    secret?: string,
  ) {
    this.#secret = secret ?? `double-secret-${rng.hex(16)}`;
  }

  /** Load (generating if needed) the sample MP4 and PNG. Done by startDouble. */
  async init(): Promise<void> {
    this.#media ??= await sampleMedia();
  }

  get sample(): { mp4: Buffer; png: Buffer; mp4Path: string; pngPath: string } {
    if (!this.#media) throw new Error("Files.init() has not run");
    return this.#media;
  }

  publish(options: PublishOptions = {}): PublishedFile {
    const kind = options.kind ?? "mp4";
    const style = options.style ?? "tos";
    const data = options.data ?? (kind === "mp4" ? this.sample.mp4 : this.sample.png);
    const contentType = options.contentType ?? (kind === "mp4" ? "video/mp4" : "image/png");
    const ext = options.data ? "" : `.${kind}`;
    const id = this.rng.hex(24);
    const bucket = options.bucket ?? "double-media";
    const key = options.key ?? `${id}${ext}`;
    const now = options.at ?? this.clock.now();
    const ttlMs = options.ttlMs ?? DEFAULT_FILE_TTL_MS;
    const path = style === "plain" ? `/cdn/${key}` : `/${style}/${bucket}/${key}`;
    let query = "";
    if (style === "tos") {
      const date = isoBasic(now);
      const credential = `${ACCESS_KEY}/${date.slice(0, 8)}/${options.region ?? "cn-beijing"}/tos/request`;
      const expires = Math.max(1, Math.round(ttlMs / 1000));
      const sig = this.#sign(["GET", path, date, String(expires)]);
      query = new URLSearchParams({
        "X-Tos-Algorithm": "TOS4-HMAC-SHA256",
        "X-Tos-Credential": credential,
        "X-Tos-Date": date,
        "X-Tos-Expires": String(expires),
        "X-Tos-SignedHeaders": "host",
        "X-Tos-Signature": sig,
      }).toString();
    } else if (style === "oss") {
      const expires = Math.floor((now + ttlMs) / 1000);
      const sig = Buffer.from(this.#sign(["GET", path, String(expires)]), "hex").toString("base64");
      query = new URLSearchParams({
        Expires: String(expires),
        OSSAccessKeyId: ACCESS_KEY,
        Signature: sig,
      }).toString();
    }
    const pathAndQuery = query ? `${path}?${query}` : path;
    const file: StoredFile = {
      id,
      style,
      bucket,
      key,
      pathAndQuery,
      url: `${this.baseUrl}${pathAndQuery}`,
      contentType,
      bytes: data.length,
      createdAt: now,
      expiresAt: now + ttlMs,
      tag: options.tag,
      downloads: 0,
      data,
    };
    if (options.revokeAfterMs !== undefined) file.revokedAt = now + options.revokeAfterMs;
    this.#files.set(id, file);
    this.#byPath.set(path, id);
    return publicView(file);
  }

  get(id: string): PublishedFile | undefined {
    const f = this.#files.get(id);
    return f && publicView(f);
  }

  /** The file a URL (or path) points at. */
  byUrl(url: string): PublishedFile | undefined {
    const path = new URL(url, this.baseUrl).pathname;
    const id = this.#byPath.get(path);
    return id === undefined ? undefined : this.get(id);
  }

  list(filter: ExpireFilter = {}): PublishedFile[] {
    return [...this.#files.values()].filter((f) => selects(f, filter)).map(publicView);
  }

  /** Make matching URLs stop working now (all files when the filter is empty). Returns how many. */
  expire(filter: ExpireFilter = {}): number {
    const now = this.clock.now();
    let n = 0;
    for (const f of this.#files.values()) {
      if (!selects(f, filter)) continue;
      if (f.revokedAt === undefined || f.revokedAt > now) f.revokedAt = now;
      n++;
    }
    return n;
  }

  /** Forget matching files entirely (their URLs then answer 404). */
  delete(filter: ExpireFilter = {}): number {
    let n = 0;
    for (const f of [...this.#files.values()]) {
      if (!selects(f, filter)) continue;
      this.#files.delete(f.id);
      this.#byPath.delete(new URL(f.url).pathname);
      n++;
    }
    return n;
  }

  /** Handles GET/HEAD on /tos/, /oss/ and /cdn/ paths; undefined for any other path. */
  serve(ctx: RequestContext): Reply | undefined {
    const style: FileStyle | undefined = ctx.path.startsWith("/tos/")
      ? "tos"
      : ctx.path.startsWith("/oss/")
        ? "oss"
        : ctx.path.startsWith("/cdn/")
          ? "plain"
          : undefined;
    if (!style) return undefined;
    if (ctx.method !== "GET" && ctx.method !== "HEAD")
      return xmlError(405, "MethodNotAllowed", "Method not allowed", ctx);
    const id = this.#byPath.get(ctx.path);
    const file = id === undefined ? undefined : this.#files.get(id);
    if (!file) return xmlError(404, "NoSuchKey", "The specified key does not exist.", ctx);
    const now = this.clock.now();
    const q = ctx.query;
    if (style === "tos") {
      const date = q.get("X-Tos-Date") ?? "";
      const expires = q.get("X-Tos-Expires") ?? "";
      if (q.get("X-Tos-Algorithm") !== "TOS4-HMAC-SHA256" || !date || !expires)
        return xmlError(403, "AccessDenied", "Missing or malformed query-string authentication.", ctx);
      if (!this.#verify(["GET", ctx.path, date, expires], q.get("X-Tos-Signature") ?? ""))
        return xmlError(
          403,
          "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided.",
          ctx,
        );
    } else if (style === "oss") {
      const expires = q.get("Expires") ?? "";
      const sig = Buffer.from(q.get("Signature") ?? "", "base64").toString("hex");
      if (!this.#verify(["GET", ctx.path, expires], sig))
        return xmlError(
          403,
          "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided.",
          ctx,
        );
    }
    if (now >= file.expiresAt || (file.revokedAt !== undefined && now >= file.revokedAt))
      return xmlError(403, "AccessDenied", "Request has expired", ctx, {
        Expires: new Date(Math.min(file.expiresAt, file.revokedAt ?? file.expiresAt)).toISOString(),
        ServerTime: new Date(now).toISOString(),
      });
    file.downloads++;
    const data = typeof file.data === "function" ? file.data() : file.data;
    return rangeReply(ctx, data, file.contentType);
  }

  #sign(parts: string[]): string {
    return createHmac("sha256", this.#secret).update(parts.join("\n")).digest("hex");
  }

  #verify(parts: string[], signature: string): boolean {
    const want = Buffer.from(this.#sign(parts), "hex");
    const got = Buffer.from(signature, "hex");
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

function publicView(f: StoredFile): PublishedFile {
  const { data: _data, ...rest } = f;
  return { ...rest };
}

function selects(f: StoredFile, filter: ExpireFilter): boolean {
  if (filter.ids && !filter.ids.includes(f.id)) return false;
  if (filter.tag !== undefined && f.tag !== filter.tag) return false;
  if (filter.urlContains !== undefined && !f.url.includes(filter.urlContains)) return false;
  return true;
}

/** A 200 with the whole body, or a 206 for a single `Range: bytes=a-b`. */
function rangeReply(ctx: RequestContext, data: Buffer, contentType: string): Reply {
  const headers: Record<string, string> = {
    "content-type": contentType,
    "accept-ranges": "bytes",
    etag: `"${createHash("md5").update(data).digest("hex")}"`,
  };
  const range = ctx.headers.range;
  const m = typeof range === "string" ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
  if (m && (m[1] || m[2])) {
    let start: number;
    let end: number;
    if (m[1]) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
    } else {
      start = Math.max(0, data.length - Number(m[2]));
      end = data.length - 1;
    }
    if (start > end || start >= data.length)
      return { status: 416, headers: { ...headers, "content-range": `bytes */${data.length}` }, body: "" };
    return {
      status: 206,
      headers: { ...headers, "content-range": `bytes ${start}-${end}/${data.length}` },
      body: data.subarray(start, end + 1),
    };
  }
  return { status: 200, headers, body: data };
}

function xmlError(
  status: number,
  code: string,
  message: string,
  ctx: RequestContext,
  extra: Record<string, string> = {},
): Reply {
  const fields = Object.entries(extra)
    .map(([k, v]) => `  <${k}>${v}</${k}>\n`)
    .join("");
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${code}</Code>\n  <Message>${message}</Message>\n` +
    `  <Resource>${ctx.path}</Resource>\n  <RequestId>${ctx.requestId}</RequestId>\n` +
    `  <HostId>double-files</HostId>\n${fields}</Error>\n`;
  return { status, headers: { "content-type": "application/xml" }, body };
}
