/** "Create key": for an existing account, or a new one (optionally an admin account). */
import type { Account, ApiKeyCreated, ApiKeyCreateParams, VidRelay } from "@vidrelay/sdk";
import { type FormEvent, useState } from "react";
import { ErrorNote, Field } from "../../components/ui.tsx";
import { useFocusOnOpen, useFormError } from "./api.ts";

const NEW_ACCOUNT = "";
type KeyField = "key-account" | "key-account-name" | "key-name";

export function CreateKeyForm({
  client,
  accounts,
  onCreated,
  onCancel,
}: {
  client: VidRelay;
  accounts: Account[];
  onCreated(created: ApiKeyCreated): void;
  onCancel(): void;
}) {
  const [accountId, setAccountId] = useState(NEW_ACCOUNT);
  const [accountName, setAccountName] = useState("");
  const [admin, setAdmin] = useState(false);
  const [name, setName] = useState("");
  const [testMode, setTestMode] = useState(false);
  const [busy, setBusy] = useState(false);
  const form = useFormError<KeyField>(
    (param) =>
      ({ account_id: "key-account", account_name: "key-account-name", name: "key-name" })[param] as
        | KeyField
        | undefined,
  );

  const first = useFocusOnOpen<HTMLSelectElement>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    form.setError(null);
    try {
      const params: ApiKeyCreateParams =
        accountId === NEW_ACCOUNT
          ? { account_name: accountName, admin, name, test_mode: testMode }
          : { account_id: accountId, name, test_mode: testMode };
      onCreated(await client.admin.keys.create(params));
    } catch (error) {
      form.setError(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="panel" onSubmit={submit} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create key</h2>
      <div className="row">
        <Field label="Account" htmlFor="key-account" error={form.on("key-account")}>
          <select
            id="key-account"
            ref={first}
            {...form.aria("key-account")}
            value={accountId}
            onChange={(e) => setAccountId(e.target.value)}
          >
            <option value={NEW_ACCOUNT}>New account…</option>
            {accounts.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
                {a.admin ? " (admin)" : ""}
              </option>
            ))}
          </select>
        </Field>
        {accountId === NEW_ACCOUNT ? (
          <Field label="New account name" htmlFor="key-account-name" error={form.on("key-account-name")}>
            <input
              id="key-account-name"
              {...form.aria("key-account-name")}
              value={accountName}
              onChange={(e) => setAccountName(e.target.value)}
              autoComplete="off"
            />
          </Field>
        ) : null}
        <Field label="Key name" htmlFor="key-name" error={form.on("key-name")}>
          <input
            id="key-name"
            {...form.aria("key-name")}
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="off"
          />
        </Field>
      </div>
      <div className="row checks">
        <label>
          <input type="checkbox" checked={testMode} onChange={(e) => setTestMode(e.target.checked)} /> Test
          mode (served by the local engine, never billed)
        </label>
        {accountId === NEW_ACCOUNT ? (
          <label>
            <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} /> Admin
            account (its keys can use these pages)
          </label>
        ) : null}
      </div>
      <ErrorNote error={form.general} title="Not created" />
      <div className="page-actions">
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create key"}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
