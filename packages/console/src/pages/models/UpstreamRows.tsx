/**
 * The model's upstream ids: per channel, the provider's own id for this model (`upstream_models`
 * of the PUT, written into that channel's model map). A row with no channel picked is not sent.
 */
import type { Channel } from "@vidrelay/sdk";
import type { Dispatch, SetStateAction } from "react";
import { GroupError, RemoveRowButton } from "../../components/form.tsx";

export interface UpstreamRow {
  channel: string;
  upstream: string;
}

/** The rows an editor starts with: the model's current mappings, or one empty row. */
export function upstreamRowsOf(mapped: Record<string, string> | undefined): UpstreamRow[] {
  const rows = Object.entries(mapped ?? {}).map(([channel, upstream]) => ({ channel, upstream }));
  return rows.length ? rows : [{ channel: "", upstream: "" }];
}

/** The rows as `upstream_models`, ids as typed (the API checks them and names the channel). */
export function upstreamModelsOf(rows: readonly UpstreamRow[]): Record<string, string> {
  return Object.fromEntries(rows.filter((r) => r.channel).map((r) => [r.channel, r.upstream.trim()]));
}

export function UpstreamRows({
  channels,
  rows,
  setRows,
  error,
  invalidChannel,
}: {
  channels: readonly Channel[];
  rows: UpstreamRow[];
  setRows: Dispatch<SetStateAction<UpstreamRow[]>>;
  error: string | null;
  /** The channel the API's error names (`upstream_models.<id>`): its row is marked. */
  invalidChannel?: string;
}) {
  const setRow = (i: number, patch: Partial<UpstreamRow>) =>
    setRows((list) => list.map((row, j) => (j === i ? { ...row, ...patch } : row)));
  return (
    <fieldset className={`model-choice${error ? " field-invalid" : ""}`} id="model-upstream">
      <legend>Upstream ids (optional): channel → the provider's model id</legend>
      {channels.length === 0 ? (
        <p className="muted">No channels yet: add one on the Channels page to route this model upstream.</p>
      ) : null}
      {(channels.length === 0 && rows.every((r) => !r.channel) ? [] : rows).map((row, i) => {
        const invalid = Boolean(error && invalidChannel && row.channel === invalidChannel);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity beyond their position
          <div className="model-row" key={i}>
            <select
              aria-label={`Channel ${i + 1}`}
              value={row.channel}
              onChange={(e) => setRow(i, { channel: e.target.value })}
              aria-invalid={invalid || undefined}
            >
              <option value="">Choose a channel…</option>
              {channels.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} ({c.provider})
                </option>
              ))}
              {row.channel && !channels.some((c) => c.id === row.channel) ? (
                <option value={row.channel}>{row.channel}</option>
              ) : null}
            </select>
            <input
              aria-label={`Upstream model id ${i + 1}`}
              placeholder="e.g. doubao-seedance-1-5-pro-251215"
              value={row.upstream}
              onChange={(e) => setRow(i, { upstream: e.target.value })}
              aria-invalid={invalid || undefined}
              spellCheck={false}
            />
            {rows.length > 1 ? (
              <RemoveRowButton
                label={`Remove channel ${i + 1}`}
                onRemove={() => setRows((list) => list.filter((_, j) => j !== i))}
              />
            ) : null}
          </div>
        );
      })}
      {channels.length === 0 ? null : (
        <>
          <button
            type="button"
            className="secondary"
            onClick={() => setRows((list) => [...list, { channel: "", upstream: "" }])}
          >
            Add a channel
          </button>
          <div className="hint">
            A removed row leaves that channel's mapping as it is; the Channels page shows every mapping.
          </div>
        </>
      )}
      <GroupError field="model-upstream" message={error} />
    </fieldset>
  );
}
