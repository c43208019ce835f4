/**
 * Models (admin): every model the gateway knows, built-in and the operator's, disabled ones too
 * (`GET /v1/admin/models`). Add one from a copy of another's declaration, edit one (a new version),
 * disable or enable one with a note, and read a model's version history. Every change is a version
 * the gateway keeps, and reaches every process within about a second.
 */
import type { ModelEntry } from "@vidrelay/sdk";
import { useState } from "react";
import { DataTable } from "../components/DataTable.tsx";
import { useAction } from "../components/form.tsx";
import { ErrorNote, PageHeader, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { ModelEditor } from "./models/ModelEditor.tsx";
import { MODEL_COLUMNS, ModelRow } from "./models/ModelRow.tsx";
import { VersionHistory } from "./models/VersionHistory.tsx";
import "./admin/admin.css";
import "./models/models.css";

/** The open editor: a new model, or the model (by id) whose declaration is edited. */
type Editing = { add: true } | { add: false; id: string };

export function ModelsPage() {
  const { client } = useSession();
  const loaded = useLoad(
    async (signal) => {
      const [models, channels] = await Promise.all([
        client.admin.models.list({ signal }),
        client.admin.channels.list({ signal }),
      ]);
      return { models, channels };
    },
    [client],
  );
  const [editing, setEditing] = useState<Editing | null>(null);
  const [historyOf, setHistoryOf] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const toggle = useAction(async (entry: ModelEntry, note: string) => {
    const options = note ? { note } : {};
    const saved = await client.admin.models[entry.enabled ? "disable" : "enable"](entry.id, options);
    setConfirming(null);
    setStatus(`${saved.id} is ${saved.enabled ? "enabled" : "disabled"} (version ${saved.version}).`);
    loaded.reload();
  });

  const models = loaded.data?.models ?? [];
  const channels = loaded.data?.channels ?? [];
  const find = (id: string | null) => models.find((m) => m.id === id);
  const edited = editing && !editing.add ? find(editing.id) : undefined;
  const history = find(historyOf);

  return (
    <section>
      <PageHeader title="Models">
        <button
          type="button"
          onClick={() => setEditing({ add: true })}
          disabled={editing?.add === true || !loaded.data}
        >
          Add model
        </button>
      </PageHeader>
      {editing && (editing.add || edited) ? (
        <ModelEditor
          key={editing.add ? "new" : editing.id}
          client={client}
          models={models}
          channels={channels}
          editing={edited}
          onCancel={() => setEditing(null)}
          onSaved={(entry) => {
            setEditing(null);
            setStatus(
              editing.add
                ? `Added ${entry.id} (version ${entry.version}).`
                : `Saved ${entry.id} as version ${entry.version}.`,
            );
            loaded.reload();
          }}
        />
      ) : null}
      <p role="status" className="muted">
        {status}
      </p>
      <ErrorNote error={loaded.error} title="Could not load the models" />
      <ErrorNote error={toggle.error} title="Not changed" />
      <DataTable caption="Models" columns={MODEL_COLUMNS}>
        {models.map((entry) => (
          <ModelRow
            key={entry.id}
            entry={entry}
            channels={channels}
            confirming={confirming === entry.id}
            setConfirming={(on) => setConfirming(on ? entry.id : null)}
            busy={toggle.busy}
            onToggle={(note) => void toggle.run(entry, note)}
            onEdit={() => setEditing({ add: false, id: entry.id })}
            onVersions={() => setHistoryOf(entry.id)}
          />
        ))}
      </DataTable>
      {loaded.data && models.length === 0 ? <p className="muted">No models.</p> : null}
      {history ? (
        <VersionHistory key={history.id} client={client} entry={history} onClose={() => setHistoryOf(null)} />
      ) : null}
    </section>
  );
}
