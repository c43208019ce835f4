import type { Core, Paginator, RequestOptions } from "../core.ts";
import { VidRelayError } from "../errors.ts";
import { hasNodeFs, nodeModule } from "../runtime.ts";
import type { FileDeleted, FileObject, ListPage, ListParams } from "../types.ts";

/** What `files.upload` takes: a path (Node, Bun, Deno), a Blob/File, or bytes (Buffer, Uint8Array, ArrayBuffer). */
export type Uploadable = string | Blob | ArrayBuffer | ArrayBufferView;

export interface UploadOptions extends RequestOptions {
  /** The name stored with the file. Default: the path's base name, the File's name, or `upload`. */
  filename?: string;
  /** Declared type; the server sniffs the real one from the bytes anyway. */
  contentType?: string;
  /** Accepted and ignored by the server (compatibility). */
  purpose?: string;
}

/** Uploads default to a 10-minute time limit (large videos), unless `timeout` says otherwise. */
const UPLOAD_TIMEOUT_MS = 600_000;

export class Files {
  constructor(private readonly core: Core) {}

  /**
   * Upload reference media (`POST /v1/files`). A path is streamed from disk on Node (no full read
   * into memory); in browsers pass a Blob/File or bytes.
   */
  async upload(input: Uploadable, options: UploadOptions = {}): Promise<FileObject> {
    const { blob, filename } = await toBlob(input, options);
    const form = new FormData();
    if (options.purpose !== undefined) form.append("purpose", options.purpose);
    form.append("file", blob, options.filename ?? filename);
    const { filename: _f, contentType: _c, purpose: _p, ...request } = options;
    return this.core.request<FileObject>({
      ...request,
      timeout: options.timeout ?? Math.max(this.core.timeout, UPLOAD_TIMEOUT_MS),
      method: "POST",
      path: "/v1/files",
      body: form,
    });
  }

  /** Every unexpired file, newest first; iterate with `for await`. `limit` is the page size. */
  list(params: ListParams = {}, options: RequestOptions = {}): Paginator<FileObject> {
    return this.core.paginate<FileObject>("/v1/files", { limit: params.limit, after: params.after }, options);
  }

  /** One page of files. */
  listPage(params: ListParams = {}, options: RequestOptions = {}): Promise<ListPage<FileObject>> {
    return this.core.request({
      ...options,
      method: "GET",
      path: "/v1/files",
      query: { limit: params.limit, after: params.after },
    });
  }

  get(fileId: string, options: RequestOptions = {}): Promise<FileObject> {
    return this.core.request({ ...options, method: "GET", path: `/v1/files/${encodeURIComponent(fileId)}` });
  }

  delete(fileId: string, options: RequestOptions = {}): Promise<FileDeleted> {
    return this.core.request({
      ...options,
      method: "DELETE",
      path: `/v1/files/${encodeURIComponent(fileId)}`,
    });
  }
}

async function toBlob(input: Uploadable, options: UploadOptions): Promise<{ blob: Blob; filename: string }> {
  const type = options.contentType ?? "";
  if (typeof input === "string") {
    if (!hasNodeFs()) {
      throw new VidRelayError("uploading from a path needs Node, Bun or Deno; pass a Blob, File or bytes", {
        code: "path_unsupported",
      });
    }
    const fs = await nodeModule<typeof import("node:fs")>("fs");
    const filename = input.split(/[\\/]/).pop() || "upload";
    try {
      const info = await fs.promises.stat(input);
      if (info.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      // openAsBlob streams from disk when the form is sent; older runtimes read the file.
      const blob =
        typeof fs.openAsBlob === "function"
          ? await fs.openAsBlob(input, { type })
          : new Blob([(await fs.promises.readFile(input)) as Uint8Array<ArrayBuffer>], { type });
      return { blob, filename };
    } catch (error) {
      const code = (error as { code?: string }).code;
      const reason =
        code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : String(error);
      throw new VidRelayError(`cannot read ${input}: ${reason}`, {
        code: code ?? "read_failed",
        cause: error,
      });
    }
  }
  if (typeof Blob !== "undefined" && input instanceof Blob) {
    const name = (input as { name?: unknown }).name;
    const blob = type && input.type !== type ? new Blob([input], { type }) : input;
    return { blob, filename: typeof name === "string" && name ? name : "upload" };
  }
  if (input instanceof ArrayBuffer) return { blob: new Blob([input], { type }), filename: "upload" };
  if (ArrayBuffer.isView(input)) {
    const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    return { blob: new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), filename: "upload" };
  }
  throw new VidRelayError(
    "files.upload takes a path, a Blob/File, or bytes (Buffer, Uint8Array, ArrayBuffer)",
    {
      code: "invalid_upload",
    },
  );
}
