/**
 * Keys (admin): every API key of every account, never their secrets. Create one (its secret is shown
 * once), revoke one (after a confirmation), or edit one key's limits.
 */
import type { ApiKey, ApiKeyCreated } from "@vidrelay/sdk";
import { useState } from "react";
import { DataTable } from "../components/DataTable.tsx";
import { ErrorNote, formatTime, PageHeader, StatusBadge, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { CreateKeyForm } from "./admin/CreateKeyForm.tsx";
import { LimitsEditor } from "./admin/LimitsEditor.tsx";
import { SecretDialog } from "./admin/SecretDialog.tsx";
import "./admin/admin.css";

export function KeysPage() {
  const { client } = useSession();
  const loaded = useLoad(
    async (signal) => {
      const [keys, accounts] = await Promise.all([
        client.admin.keys.list({}, { signal }),
        client.admin.accounts.list({ signal }),
      ]);
      return { keys, accounts };
    },
    [client],
  );
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [revokeError, setRevokeError] = useState<unknown>(null);
  const [limitsOf, setLimitsOf] = useState<ApiKey | null>(null);

  const accounts = loaded.data?.accounts ?? [];
  const accountName = (id: string) => accounts.find((a) => a.id === id)?.name ?? id;

  const revoke = async (key: ApiKey) => {
    setRevokeError(null);
    try {
      await client.admin.keys.revoke(key.id);
      setConfirming(null);
      loaded.reload();
    } catch (error) {
      setRevokeError(error);
    }
  };

  return (
    <section>
      <PageHeader title="Keys">
        <button type="button" onClick={() => setCreating(true)} disabled={creating}>
          Create key
        </button>
      </PageHeader>
      {creating ? (
        <CreateKeyForm
          client={client}
          accounts={accounts}
          onCancel={() => setCreating(false)}
          onCreated={(key) => {
            setCreating(false);
            setCreated(key);
            loaded.reload();
          }}
        />
      ) : null}
      {created ? <SecretDialog created={created} onClose={() => setCreated(null)} /> : null}
      <ErrorNote error={loaded.error} title="Could not load the keys" />
      <ErrorNote error={revokeError} title="Not revoked" />
      <DataTable caption="API keys" columns={COLUMNS}>
        {(loaded.data?.keys ?? []).map((key) => (
          <KeyRow
            key={key.id}
            apiKey={key}
            accountName={accountName(key.account_id)}
            confirming={confirming === key.id}
            setConfirming={(on) => setConfirming(on ? key.id : null)}
            onRevoke={() => revoke(key)}
            onLimits={() => setLimitsOf(key)}
          />
        ))}
      </DataTable>
      {loaded.data && loaded.data.keys.length === 0 ? <p className="muted">No keys yet.</p> : null}
      {limitsOf ? (
        <LimitsEditor
          key={limitsOf.id}
          client={client}
          keyId={limitsOf.id}
          keyName={limitsOf.name}
          onClose={() => setLimitsOf(null)}
        />
      ) : null}
    </section>
  );
}

const COLUMNS = ["Name", "Prefix", "Account", "Mode", "Created", "Last used", "Status", "Actions"];

/** One key: its facts, Limits, and Revoke behind a confirmation (one key at a time asks). */
function KeyRow({
  apiKey: key,
  accountName,
  confirming,
  setConfirming,
  onRevoke,
  onLimits,
}: {
  apiKey: ApiKey;
  accountName: string;
  confirming: boolean;
  setConfirming(on: boolean): void;
  onRevoke(): void;
  onLimits(): void;
}) {
  return (
    <tr data-key-id={key.id}>
      <td>{key.name}</td>
      <td>
        <code>{key.prefix}</code>
      </td>
      <td>{accountName}</td>
      <td>{key.test_mode ? "test" : "live"}</td>
      <td>{formatTime(key.created_at)}</td>
      <td>{formatTime(key.last_used_at)}</td>
      <td>
        {key.revoked_at ? (
          <span title={`Revoked ${formatTime(key.revoked_at)}`}>
            <StatusBadge status="revoked" />
          </span>
        ) : (
          <StatusBadge status="active" />
        )}
      </td>
      <td>
        <div className="cell-actions">
          <button type="button" className="secondary" onClick={onLimits} aria-label={`Limits of ${key.name}`}>
            Limits
          </button>
          {key.revoked_at ? null : confirming ? (
            <>
              <button
                type="button"
                className="danger"
                onClick={onRevoke}
                aria-label={`Confirm revoking ${key.name}`}
              >
                Confirm revoke
              </button>
              <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button
              type="button"
              className="danger"
              onClick={() => setConfirming(true)}
              aria-label={`Revoke ${key.name}`}
            >
              Revoke
            </button>
          )}
        </div>
      </td>
    </tr>
  );
}
