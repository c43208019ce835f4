/**
 * A model's version history (`GET /v1/admin/models/{id}/versions`), newest first: each version's
 * state, when and by which key it was written, and its note.
 */
import type { ModelEntry, VidRelay } from "@vidrelay/sdk";
import { DataTable } from "../../components/DataTable.tsx";
import { ErrorNote, formatTime, StatusBadge, useLoad } from "../../components/ui.tsx";
import { useFocusOnOpen } from "../admin/api.ts";

export function VersionHistory({
  client,
  entry,
  onClose,
}: {
  client: VidRelay;
  entry: ModelEntry;
  onClose(): void;
}) {
  const loaded = useLoad(
    async (signal) => {
      const [versions, keys] = await Promise.all([
        client.admin.models.versions(entry.id, { signal }),
        client.admin.keys.list({}, { signal }),
      ]);
      return { versions, keyNames: new Map(keys.map((k) => [k.id, k.name])) };
    },
    [client, entry.id, entry.version],
  );
  const heading = useFocusOnOpen<HTMLHeadingElement>();
  const versions = loaded.data?.versions ?? [];

  return (
    <section className="panel" aria-labelledby="versions-title">
      <div className="page-header">
        <h2 id="versions-title" ref={heading} tabIndex={-1}>
          Versions of {entry.id}
        </h2>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorNote error={loaded.error} title="Could not load the versions" />
      <DataTable aria-labelledby="versions-title" columns={["Version", "State", "When", "By", "Note"]}>
        {versions.map((v) => (
          <tr key={v.version} data-version={v.version}>
            <td className="money">{v.version}</td>
            <td>
              <StatusBadge status={v.enabled ? "enabled" : "disabled"} />
            </td>
            <td>{formatTime(v.created_at)}</td>
            <td title={v.created_by ?? undefined}>
              {v.created_by ? (loaded.data?.keyNames.get(v.created_by) ?? <code>{v.created_by}</code>) : "—"}
            </td>
            <td className="wrap">{v.note ?? ""}</td>
          </tr>
        ))}
      </DataTable>
      {loaded.data && versions.length === 0 ? (
        <p className="muted">
          No versions yet: the built-in declaration (version 0) is in use. Edit it or disable it to write
          version 1.
        </p>
      ) : null}
    </section>
  );
}
