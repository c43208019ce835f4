/**
 * `/console`: the web console (packages/console), a static single-page app served from its built
 * folder on the API's own origin, so it calls the public API with no CORS and no second server.
 * The build is small (a few hundred KB), so it is read once at start and kept in memory with a
 * gzip copy of each text file; hashed assets are cached for a year, `index.html` never.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export interface ConsoleRouteDeps {
  /** The built console (a folder with index.html); undefined = the workspace package's `dist`. */
  dir?: string;
}

interface StaticFile {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

/**
 * The console runs only its own bundled scripts; it loads videos and posters from this origin's
 * media URLs (and `blob:` previews of files being uploaded) and talks to nothing else.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

/** Where `npm run build -w @vidrelay/console` puts the console, found through the workspace link. */
export function defaultConsoleDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve("@vidrelay/console/package.json");
    return join(dirname(pkg), "dist");
  } catch {
    return undefined;
  }
}

async function loadFiles(root: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const body = await readFile(path);
        const type = TYPES[extname(entry.name)] ?? "application/octet-stream";
        const compressible = /^(text\/|image\/svg|application\/json)/.test(type) && body.length > 512;
        files.set(relative(root, path).split(sep).join("/"), {
          body,
          gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
          type,
          etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
        });
      }
    }
  };
  await walk(root);
  return files;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>vidrelay console</title>
<h1>The console is not built</h1>
<p>Build it with <code>npm run build -w @vidrelay/console</code> (<code>npm start</code> does this
when the build is missing), then reload. The API works without it.</p>`;

export async function consoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): Promise<void> {
  const dir = deps.dir ?? defaultConsoleDir();
  const files = dir && existsSync(join(dir, "index.html")) ? await loadFiles(dir) : undefined;

  const send = (request: FastifyRequest, reply: FastifyReply, path: string, file: StaticFile) => {
    reply
      .header("content-type", file.type)
      .header("etag", file.etag)
      .header("vary", "accept-encoding")
      .header("x-content-type-options", "nosniff")
      .header(
        "cache-control",
        path.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      );
    if (file.type.startsWith("text/html")) {
      reply
        .header("content-security-policy", CSP)
        .header("referrer-policy", "no-referrer")
        .header("x-frame-options", "DENY");
    }
    if (request.headers["if-none-match"] === file.etag) return reply.code(304).send();
    const acceptsGzip = /\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""));
    if (file.gzip && acceptsGzip) return reply.header("content-encoding", "gzip").send(file.gzip);
    return reply.send(file.body);
  };

  app.get("/console", async (_request, reply) => reply.redirect("/console/", 302));
  app.get("/console/*", async (request, reply) => {
    let path: string;
    try {
      path = decodeURIComponent((request.params as { "*": string })["*"] ?? "");
    } catch {
      // Malformed percent-encoding (`/console/%25` decodes once to "%", which is not valid again).
      return reply.code(404).header("content-type", "text/plain; charset=utf-8").send("not found\n");
    }
    if (!files) {
      return reply.code(503).header("content-type", "text/html; charset=utf-8").send(NOT_BUILT);
    }
    const file = files.get(path);
    if (file && path !== "index.html") return send(request, reply, path, file);
    // A missing asset is a 404 (a stale tab asking for an old hash must not get HTML as script);
    // any other path is a page of the app, which routes it in the browser.
    if (path.startsWith("assets/") || extname(path) !== "") {
      return reply.code(404).header("content-type", "text/plain; charset=utf-8").send("not found\n");
    }
    return send(request, reply, "index.html", files.get("index.html")!);
  });
}
