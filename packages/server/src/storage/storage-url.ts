import { isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";

/** Where blobs go, as `VIDRELAY_STORAGE_URL` names it. */
export type StorageLocation = { kind: "disk"; root: string } | ({ kind: "s3" } & S3Location);

export interface S3Location {
  bucket: string;
  /** "" or a key prefix ending in "/" (`media/` for `s3://bucket/media`). */
  prefix: string;
  /** An S3-compatible endpoint (MinIO, R2, …); absent for AWS itself. */
  endpoint?: string;
  /** Absent: the SDK's chain (AWS_REGION, the profile), else us-east-1 when an endpoint is given. */
  region?: string;
  forcePathStyle: boolean;
}

const S3_PARAMS = ["endpoint", "region", "force_path_style"];
export const STORAGE_URL_FORMS =
  "s3://BUCKET[/PREFIX][?endpoint=URL&region=R&force_path_style=true] or file:///absolute/path";

/**
 * Parse a storage URL. Throws an Error whose message says what is wrong (config.ts and
 * open-storage.ts put the variable's name in front of it). Credentials never go in the URL: the
 * AWS SDK's default chain finds them (env, profile, instance or task role).
 */
export function parseStorageUrl(text: string): StorageLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`not a URL; expected ${STORAGE_URL_FORMS}`);
  }
  if (url.protocol === "file:") {
    if (!/^file:\/\//i.test(text)) throw new Error("a file: URL must be file:///absolute/path");
    if (url.search || url.hash) throw new Error("a file: URL takes no ?query or #fragment");
    let root: string;
    try {
      root = fileURLToPath(url);
    } catch (error) {
      throw new Error(`file: URL: ${(error as Error).message}`);
    }
    if (!isAbsolute(root) || root === "/") {
      throw new Error("a file: URL must name a directory, e.g. file:///var/lib/vidrelay/blobs");
    }
    return { kind: "disk", root };
  }
  if (url.protocol !== "s3:") {
    throw new Error(`unsupported scheme "${url.protocol}"; expected ${STORAGE_URL_FORMS}`);
  }
  if (url.username || url.password) {
    throw new Error(
      "credentials do not belong in the URL; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or use an instance role",
    );
  }
  if (url.port) throw new Error("the bucket name has no port; put the server in ?endpoint=http://host:port");
  const bucket = url.hostname;
  if (!bucket) throw new Error("no bucket name: expected s3://BUCKET[/PREFIX]");
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
    throw new Error(`"${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
  }
  if (url.hash) throw new Error("a storage URL takes no #fragment");
  // URL parsing resolves "a/../b" to "b"; a prefix must be what was written, so look at the text.
  const rawPath = /^s3:\/\/[^/?#]*([^?#]*)/i.exec(text)?.[1] ?? "";
  if (/(^|\/)\.\.?(\/|$)/.test(rawPath)) {
    throw new Error(`the prefix "${rawPath.replace(/^\/+/, "")}" has an empty, "." or ".." segment`);
  }

  let prefix = "";
  const path = url.pathname.replace(/^\/+|\/+$/g, "");
  if (path) {
    let segments: string[];
    try {
      segments = path.split("/").map(decodeURIComponent);
    } catch {
      throw new Error(`the prefix "${path}" is not valid percent-encoding`);
    }
    if (segments.some((s) => s === "" || s === "." || s === "..")) {
      throw new Error(`the prefix "${path}" has an empty, "." or ".." segment`);
    }
    prefix = `${segments.join("/")}/`;
  }

  const params = url.searchParams;
  const unknown = [...new Set(params.keys())].filter((k) => !S3_PARAMS.includes(k));
  if (unknown.length) {
    throw new Error(
      `unknown parameter ${unknown.map((k) => `"${k}"`).join(", ")}; known: ${S3_PARAMS.join(", ")}`,
    );
  }
  for (const name of S3_PARAMS) {
    if (params.getAll(name).length > 1) throw new Error(`"${name}" is given more than once`);
  }

  const endpoint = params.get("endpoint") ?? undefined;
  if (endpoint !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(endpoint);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.search || parsed.hash) {
      throw new Error(`endpoint "${endpoint}" must be an http(s) URL such as http://127.0.0.1:9000`);
    }
  }
  const region = params.get("region") ?? undefined;
  if (region !== undefined && !/^[a-z0-9-]{1,64}$/i.test(region)) {
    throw new Error(`region "${region}" is not a region name (e.g. us-east-1, auto)`);
  }
  const style = params.get("force_path_style");
  let forcePathStyle = false;
  if (style !== null) {
    if (!["true", "false"].includes(style))
      throw new Error(`force_path_style must be true or false, got "${style}"`);
    forcePathStyle = style === "true";
  }
  return {
    kind: "s3",
    bucket,
    prefix,
    forcePathStyle,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
  };
}
