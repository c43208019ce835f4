/**
 * Channels (admin): the upstream accounts tasks are routed to. Add one, test it (one cheap
 * authenticated call upstream), enable or disable it; the table shows tasks in flight against each
 * channel's maximum and refreshes while the page is open.
 */
import type { Channel, ChannelTestResult, VidRelay } from "@vidrelay/sdk";
import { useState } from "react";
import { DataTable } from "../components/DataTable.tsx";
import { ErrorNote, PageHeader, StatusBadge, useInterval, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { ChannelForm } from "./admin/ChannelForm.tsx";
import "./admin/admin.css";

const REFRESH_MS = 10_000;

export function ChannelsPage() {
  const { client } = useSession();
  const loaded = useLoad((signal) => client.admin.channels.list({ signal }), [client]);
  useInterval(loaded.reload, REFRESH_MS);
  const [adding, setAdding] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);

  const channels = loaded.data ?? [];
  return (
    <section>
      <PageHeader title="Channels">
        <button type="button" onClick={() => setAdding(true)} disabled={adding}>
          Add channel
        </button>
      </PageHeader>
      {adding ? (
        <ChannelForm
          client={client}
          onCancel={() => setAdding(false)}
          onCreated={() => {
            setAdding(false);
            loaded.reload();
          }}
        />
      ) : null}
      <ErrorNote error={loaded.error} title="Could not load the channels" />
      <ErrorNote error={actionError} title="Failed" />
      <DataTable caption="Channels" columns={COLUMNS}>
        {channels.map((channel) => (
          <ChannelRow
            key={channel.id}
            client={client}
            channel={channel}
            onChanged={loaded.reload}
            onError={setActionError}
          />
        ))}
      </DataTable>
      {loaded.data && channels.length === 0 ? (
        <p className="muted">No channels yet: tasks are served by the local engine only.</p>
      ) : null}
    </section>
  );
}

const COLUMNS = [
  "Name",
  "Provider",
  "Base URL",
  "Models",
  "Key",
  "Status",
  "In flight / max",
  "Test",
  "Actions",
];

/** One channel, with Test (its result stays in the row) and Enable or Disable. */
function ChannelRow({
  client,
  channel,
  onChanged,
  onError,
}: {
  client: VidRelay;
  channel: Channel;
  onChanged(): void;
  /** An action's error for the page to show (null as an action starts). */
  onError(error: unknown): void;
}) {
  const [test, setTest] = useState<ChannelTestResult | "running">();
  const [busy, setBusy] = useState(false);

  const runTest = async () => {
    onError(null);
    setTest("running");
    try {
      setTest(await client.admin.channels.test(channel.id));
    } catch (error) {
      onError(error);
      setTest(undefined);
    }
  };
  const toggle = async () => {
    onError(null);
    setBusy(true);
    try {
      await client.admin.channels[channel.enabled ? "disable" : "enable"](channel.id);
      onChanged();
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <tr data-channel-id={channel.id}>
      <td>{channel.name}</td>
      <td>{channel.provider}</td>
      <td className="cell-long">
        <code>{channel.base_url}</code>
      </td>
      <td className="cell-long">
        {Object.entries(channel.models).map(([ours, upstream]) => (
          <div key={ours}>
            {ours} → <code>{upstream}</code>
          </div>
        ))}
      </td>
      <td>
        <code>{channel.api_key_hint}</code>
      </td>
      <td>
        <StatusBadge status={channel.enabled ? "enabled" : "disabled"} />
      </td>
      <td className="money">
        {channel.in_flight} / {channel.max_concurrent}
      </td>
      <td aria-live="polite">
        <TestResult result={test} />
      </td>
      <td>
        <div className="cell-actions">
          <button
            type="button"
            className="secondary"
            onClick={runTest}
            disabled={test === "running"}
            aria-label={`Test ${channel.name}`}
          >
            Test
          </button>
          <button
            type="button"
            className={channel.enabled ? "danger" : undefined}
            onClick={toggle}
            disabled={busy}
            aria-label={`${channel.enabled ? "Disable" : "Enable"} ${channel.name}`}
          >
            {channel.enabled ? "Disable" : "Enable"}
          </button>
        </div>
      </td>
    </tr>
  );
}

function TestResult({ result }: { result: ChannelTestResult | "running" | undefined }) {
  if (result === undefined) return <span className="muted">—</span>;
  if (result === "running") return <span>Testing…</span>;
  if (result.ok) return <span className="test-result-ok">OK · {result.latency_ms} ms</span>;
  return (
    <span className="test-result-failed">
      Failed after {result.latency_ms} ms: {result.error ?? "no reason given"}
    </span>
  );
}
