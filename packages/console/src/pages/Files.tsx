/**
 * Files: the account's unexpired uploads (newest first, cursor paging), upload from the page, copy
 * of a file's id or URL, and Delete with a confirmation.
 */
import type { FileObject } from "@vidrelay/sdk";
import { type ChangeEvent, useRef, useState } from "react";
import { DataTable } from "../components/DataTable.tsx";
import { ErrorNote, formatBytes, PageHeader, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { FileRow } from "./files/FileRow.tsx";
import "./files/files.css";

const PAGE_SIZE = 20;

export function FilesPage() {
  const { client } = useSession();
  // Cursors of the pages before the current one (the first page has none), so Previous works.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const after = cursors[cursors.length - 1];
  const files = useLoad((signal) => client.files.listPage({ limit: PAGE_SIZE, after }, { signal }), [after]);
  const [status, setStatus] = useState("");
  const [uploading, setUploading] = useState(false);
  const [uploadError, setUploadError] = useState<unknown>(null);
  const inputRef = useRef<HTMLInputElement>(null);

  const upload = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (!file) return;
    setUploading(true);
    setUploadError(null);
    setStatus(`Uploading ${file.name}…`);
    try {
      const stored = await client.files.upload(file, { filename: file.name });
      setStatus(`Uploaded ${stored.filename} (${formatBytes(stored.bytes)}).`);
      firstPage();
    } catch (error) {
      setUploadError(error);
      setStatus("");
    } finally {
      setUploading(false);
      if (inputRef.current) inputRef.current.value = "";
    }
  };

  const firstPage = () => {
    if (cursors.length === 1) files.reload();
    else setCursors([undefined]);
  };

  const remove = async (file: FileObject) => {
    await client.files.delete(file.id);
    setStatus(`Deleted ${file.filename}.`);
    // The last file of a later page: step back rather than show an empty page.
    if (files.data?.data.length === 1 && cursors.length > 1) setCursors((c) => c.slice(0, -1));
    else files.reload();
  };

  const page = files.data;
  return (
    <section>
      <PageHeader title="Files" />
      <div className="panel">
        <label htmlFor="file-upload" className="upload-label">
          Upload file
        </label>
        <input
          id="file-upload"
          ref={inputRef}
          type="file"
          accept="image/*,video/*,audio/*"
          onChange={upload}
          disabled={uploading}
          aria-describedby="file-upload-hint"
        />
        <p id="file-upload-hint" className="muted upload-hint">
          Reference images, videos or audio for tasks. Files expire; cite a file's URL in a task's{" "}
          <code>metadata.content</code>.
        </p>
        <ErrorNote error={uploadError} title="Upload failed" />
      </div>
      <p className="muted" role="status" aria-live="polite">
        {status}
      </p>
      <ErrorNote error={files.error} title="Could not list files" />
      {page && page.data.length === 0 && cursors.length === 1 ? (
        <p className="notice">No files yet. Upload one above, or with the API (POST /v1/files).</p>
      ) : null}
      {page && page.data.length > 0 ? (
        <DataTable
          aria-label="Files"
          aria-busy={files.loading}
          columns={["Name", "Type", "Size", "Dimensions", "Created", "Expires", "Actions"]}
        >
          {page.data.map((file) => (
            <FileRow key={file.id} file={file} onDelete={remove} onCopied={setStatus} />
          ))}
        </DataTable>
      ) : null}
      {!page && files.loading ? <p className="muted">Loading…</p> : null}
      {cursors.length > 1 || page?.has_more ? (
        <nav className="pager" aria-label="Pages of files">
          <button
            type="button"
            className="button secondary"
            disabled={cursors.length === 1 || files.loading}
            onClick={() => setCursors((c) => c.slice(0, -1))}
          >
            Previous
          </button>
          <span className="muted">Page {cursors.length}</span>
          <button
            type="button"
            className="button secondary"
            disabled={!page?.has_more || !page.next_cursor || files.loading}
            onClick={() => page?.next_cursor && setCursors((c) => [...c, page.next_cursor ?? undefined])}
          >
            Next
          </button>
        </nav>
      ) : null}
    </section>
  );
}
