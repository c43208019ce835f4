/**
 * One model in the Models table: what it is, where it is routed, its price per second, and Edit,
 * Versions and Disable/Enable (which asks for an optional note first, one model at a time).
 */
import type { Channel, ModelEntry } from "@vidrelay/sdk";
import { useState } from "react";
import { StatusBadge } from "../../components/ui.tsx";
import { pricePerSecond } from "./declaration.ts";

export const MODEL_COLUMNS = [
  "Model",
  "Name",
  "State",
  "Version",
  "Source",
  "Upstream ids",
  "Price / second",
  "Actions",
];

export function ModelRow({
  entry,
  channels,
  confirming,
  setConfirming,
  busy,
  onToggle,
  onEdit,
  onVersions,
}: {
  entry: ModelEntry;
  channels: readonly Channel[];
  /** This row asks for the note of its state change. */
  confirming: boolean;
  setConfirming(on: boolean): void;
  busy: boolean;
  onToggle(note: string): void;
  onEdit(): void;
  onVersions(): void;
}) {
  const channelName = (id: string) => channels.find((c) => c.id === id)?.name ?? id;
  const upstream = Object.entries(entry.upstream_models);
  const prices = pricePerSecond(entry);
  return (
    <tr data-model-id={entry.id}>
      <td>
        <code>{entry.id}</code>
      </td>
      <td className="wrap">{entry.declaration.name}</td>
      <td>
        <StatusBadge status={entry.enabled ? "enabled" : "disabled"} />
      </td>
      <td className="money" data-version>
        {entry.version}
      </td>
      <td>{entry.builtin ? (entry.version > 0 ? "built-in, changed" : "built-in") : "operator"}</td>
      <td className="cell-long">
        {upstream.length === 0 ? <span className="muted">—</span> : null}
        {upstream.map(([channel, id]) => (
          <div key={channel} title={channel}>
            {channelName(channel)} → <code>{id}</code>
          </div>
        ))}
      </td>
      <td className="money">
        {prices.length === 0 ? <span className="muted">unpriced</span> : null}
        {prices.map(([resolution, amount]) => (
          <div key={resolution}>
            {resolution} {amount}
          </div>
        ))}
      </td>
      <td>
        <div className="cell-actions">
          <button type="button" className="secondary" onClick={onEdit} aria-label={`Edit ${entry.id}`}>
            Edit
          </button>
          <button
            type="button"
            className="secondary"
            onClick={onVersions}
            aria-label={`Versions of ${entry.id}`}
          >
            Versions
          </button>
          {confirming ? null : (
            <button
              type="button"
              className={entry.enabled ? "danger" : undefined}
              onClick={() => setConfirming(true)}
              aria-label={`${entry.enabled ? "Disable" : "Enable"} ${entry.id}`}
            >
              {entry.enabled ? "Disable" : "Enable"}
            </button>
          )}
        </div>
        {confirming ? (
          <StateChange entry={entry} busy={busy} onConfirm={onToggle} onCancel={() => setConfirming(false)} />
        ) : null}
      </td>
    </tr>
  );
}

/** Disable or enable: an optional note (kept with the version), then Confirm. */
function StateChange({
  entry,
  busy,
  onConfirm,
  onCancel,
}: {
  entry: ModelEntry;
  busy: boolean;
  onConfirm(note: string): void;
  onCancel(): void;
}) {
  const [note, setNote] = useState("");
  const [verb, doing] = entry.enabled ? ["Disable", "disabling"] : ["Enable", "enabling"];
  return (
    <form
      className="state-change"
      onSubmit={(e) => {
        e.preventDefault();
        onConfirm(note.trim());
      }}
    >
      <input
        aria-label={`Note for ${doing} ${entry.id} (optional)`}
        placeholder="Note (optional)"
        value={note}
        onChange={(e) => setNote(e.target.value)}
        maxLength={500}
        // biome-ignore lint/a11y/noAutofocus: the note is what the button that opened this asks for
        autoFocus
      />
      <div className="cell-actions">
        <button
          type="submit"
          className={entry.enabled ? "danger" : undefined}
          disabled={busy}
          aria-label={`Confirm: ${verb.toLowerCase()} ${entry.id}`}
        >
          {busy ? `${doing[0]!.toUpperCase()}${doing.slice(1)}…` : verb}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
