/**
 * Channels (admin): the upstream accounts tasks are routed to. Add one, test it (one cheap
 * authenticated call upstream), enable or disable it; the table shows tasks in flight against each
 * channel's maximum and refreshes while the page is open.
 */
import type { Channel, ChannelTestResult } from "@vidrelay/sdk";
import { useState } from "react";
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
  const [tests, setTests] = useState<Record<string, ChannelTestResult | "running">>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const act = async (channel: Channel, action: "enable" | "disable" | "test") => {
    setActionError(null);
    if (action === "test") setTests((t) => ({ ...t, [channel.id]: "running" }));
    else setBusy(channel.id);
    try {
      if (action === "test") {
        const result = await client.admin.channels.test(channel.id);
        setTests((t) => ({ ...t, [channel.id]: result }));
      } else {
        await client.admin.channels[action](channel.id);
        loaded.reload();
      }
    } catch (error) {
      setActionError(error);
      if (action === "test") setTests(({ [channel.id]: _dropped, ...rest }) => rest);
    } finally {
      setBusy(null);
    }
  };

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
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Channels</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Provider</th>
              <th scope="col">Base URL</th>
              <th scope="col">Models</th>
              <th scope="col">Key</th>
              <th scope="col">Status</th>
              <th scope="col">In flight / max</th>
              <th scope="col">Test</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {channels.map((channel) => (
              <tr key={channel.id} data-channel-id={channel.id}>
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
                  <TestResult result={tests[channel.id]} />
                </td>
                <td>
                  <div className="cell-actions">
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => act(channel, "test")}
                      disabled={tests[channel.id] === "running"}
                      aria-label={`Test ${channel.name}`}
                    >
                      Test
                    </button>
                    <button
                      type="button"
                      className={channel.enabled ? "danger" : undefined}
                      onClick={() => act(channel, channel.enabled ? "disable" : "enable")}
                      disabled={busy === channel.id}
                      aria-label={`${channel.enabled ? "Disable" : "Enable"} ${channel.name}`}
                    >
                      {channel.enabled ? "Disable" : "Enable"}
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {loaded.data && channels.length === 0 ? (
        <p className="muted">No channels yet: tasks are served by the local engine only.</p>
      ) : null}
    </section>
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
