/** "Create key": for an existing account, or a new one (optionally an admin account). */
import type { Account, ApiKeyCreated, ApiKeyCreateParams, VidRelay } from "@vidrelay/sdk";
import { useState } from "react";
import {
  FormActions,
  formErrors,
  SelectField,
  submitWith,
  TextField,
  useAction,
} from "../../components/form.tsx";
import { useFocusOnOpen } from "./api.ts";

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
  const save = useAction(async () => {
    const params: ApiKeyCreateParams =
      accountId === NEW_ACCOUNT
        ? { account_name: accountName, admin, name, test_mode: testMode }
        : { account_id: accountId, name, test_mode: testMode };
    onCreated(await client.admin.keys.create(params));
  });
  const form = formErrors<KeyField>(
    save.error,
    (param) =>
      ({ account_id: "key-account", account_name: "key-account-name", name: "key-name" })[param] as
        | KeyField
        | undefined,
  );
  const first = useFocusOnOpen<HTMLSelectElement>();

  return (
    <form className="panel" onSubmit={submitWith(save.run)} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create key</h2>
      <div className="row">
        <SelectField
          label="Account"
          {...form.field("key-account")}
          ref={first}
          value={accountId}
          onChange={(e) => setAccountId(e.target.value)}
          options={[
            { value: NEW_ACCOUNT, label: "New account…" },
            ...accounts.map((a) => ({ value: a.id, label: `${a.name}${a.admin ? " (admin)" : ""}` })),
          ]}
        />
        {accountId === NEW_ACCOUNT ? (
          <TextField
            label="New account name"
            {...form.field("key-account-name")}
            value={accountName}
            onChange={(e) => setAccountName(e.target.value)}
            autoComplete="off"
          />
        ) : null}
        <TextField
          label="Key name"
          {...form.field("key-name")}
          value={name}
          onChange={(e) => setName(e.target.value)}
          autoComplete="off"
        />
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
      <FormActions
        error={form.general}
        errorTitle="Not created"
        busy={save.busy}
        submit="Create key"
        busySubmit="Creating…"
        onCancel={onCancel}
      />
    </form>
  );
}
