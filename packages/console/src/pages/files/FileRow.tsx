/** One uploaded file in the Files table: its facts, copy buttons, and Delete with an inline confirmation. */
import type { FileObject } from "@vidrelay/sdk";
import { useEffect, useRef, useState } from "react";
import { copyText, errorText, formatAge, formatBytes, formatTime } from "../../components/ui.tsx";

/** What a row's copy buttons copy: the file's id, and its URL. */
const COPIES: [string, (file: FileObject) => string][] = [
  ["id", (file) => file.id],
  ["URL", (file) => file.url],
];

export function FileRow({
  file,
  onDelete,
  onCopied,
}: {
  file: FileObject;
  /** Resolves once the gateway deleted it; rejects with the API's error. */
  onDelete(file: FileObject): Promise<void>;
  onCopied(message: string): void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const deleteRef = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);

  // Keyboard users land on the safe choice when asked, and back on Delete when they cancel.
  useEffect(() => {
    if (confirming) cancelRef.current?.focus();
    else if (wasConfirming.current) deleteRef.current?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);

  const copy = async (what: string, text: string) => {
    await copyText(text);
    onCopied(`Copied the ${what} of ${file.filename}`);
  };

  const remove = async () => {
    setDeleting(true);
    setError(null);
    try {
      await onDelete(file);
    } catch (e) {
      setError(errorText(e));
      setDeleting(false);
      setConfirming(false);
    }
  };

  const dimensions = file.width && file.height ? `${file.width} × ${file.height}` : "—";
  return (
    <tr data-file-id={file.id}>
      <td className="wrap file-name">
        <a href={file.url} target="_blank" rel="noreferrer">
          {file.filename}
        </a>
        <div className="muted file-id">{file.id}</div>
      </td>
      <td data-col="type">{file.content_type}</td>
      <td data-col="size" data-bytes={file.bytes}>
        {formatBytes(file.bytes)}
      </td>
      <td data-col="dimensions">{dimensions}</td>
      <td title={formatTime(file.created_at)}>{formatAge(file.created_at)}</td>
      <td>{formatTime(file.expires_at)}</td>
      <td>
        {confirming ? (
          <fieldset className="file-actions confirm-delete">
            <legend>Delete {file.filename}?</legend>
            <button type="button" className="danger" onClick={remove} disabled={deleting}>
              {deleting ? "Deleting…" : "Confirm delete"}
            </button>
            <button
              type="button"
              className="button secondary"
              ref={cancelRef}
              onClick={() => setConfirming(false)}
              disabled={deleting}
            >
              Cancel
            </button>
          </fieldset>
        ) : (
          <div className="file-actions">
            {COPIES.map(([what, value]) => (
              <button
                key={what}
                type="button"
                className="button secondary"
                aria-label={`Copy ${what} of ${file.filename}`}
                onClick={() => copy(what, value(file))}
              >
                Copy {what}
              </button>
            ))}
            <button
              type="button"
              className="danger"
              ref={deleteRef}
              aria-label={`Delete ${file.filename}`}
              onClick={() => setConfirming(true)}
            >
              Delete
            </button>
          </div>
        )}
        {error ? (
          <div className="field-error" role="alert">
            {error}
          </div>
        ) : null}
      </td>
    </tr>
  );
}
