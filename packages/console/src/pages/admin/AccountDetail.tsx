/**
 * One account: a top-up form and its ledger (newest first). A top-up carries an Idempotency-Key
 * chosen when the form is filled, so a retried or double-clicked submit credits the account once.
 */
import type { Account, Balance, VidRelay } from "@vidrelay/sdk";
import { type ChangeEvent, useState } from "react";
import { DataTable } from "../../components/DataTable.tsx";
import { FormActions, formErrors, submitWith, TextField, useAction } from "../../components/form.tsx";
import { ErrorNote, formatMoney, formatTime, useLoad } from "../../components/ui.tsx";
import { useFocusOnOpen } from "./api.ts";

type TopupField = "topup-amount" | "topup-note";

export function AccountDetail({
  client,
  account,
  onBalance,
  onClose,
}: {
  client: VidRelay;
  account: Account;
  onBalance(balance: Balance): void;
  onClose(): void;
}) {
  const ledger = useLoad(
    (signal) => client.admin.ledger.list(account.id, {}, { signal }),
    [client, account.id],
  );
  return (
    <section className="panel" aria-labelledby="account-title">
      <h2 id="account-title">Account “{account.name}”</h2>
      <TopupForm
        client={client}
        account={account}
        onCredited={(balance) => {
          onBalance(balance);
          ledger.reload();
        }}
        onClose={onClose}
      />
      <h3 id="ledger-title">Ledger</h3>
      <ErrorNote error={ledger.error} title="Could not load the ledger" />
      <DataTable aria-labelledby="ledger-title" columns={["When", "Kind", "Amount", "Note", "Task"]}>
        {(ledger.data?.data ?? []).map((entry) => (
          <tr key={entry.id}>
            <td>{formatTime(entry.created_at)}</td>
            <td>{entry.kind}</td>
            <td className="money">{formatMoney(entry.amount, entry.currency)}</td>
            <td className="wrap">{entry.note ?? ""}</td>
            <td>{entry.task_id ? <code>{entry.task_id}</code> : ""}</td>
          </tr>
        ))}
      </DataTable>
      {ledger.data && ledger.data.data.length === 0 ? <p className="muted">No entries yet.</p> : null}
      {ledger.data?.has_more ? <p className="muted">Showing the newest 50 entries.</p> : null}
    </section>
  );
}

function TopupForm({
  client,
  account,
  onCredited,
  onClose,
}: {
  client: VidRelay;
  account: Account;
  onCredited(balance: Balance): void;
  onClose(): void;
}) {
  const [amount, setAmount] = useState("");
  const [note, setNote] = useState("");
  const [attempt, setAttempt] = useState(() => crypto.randomUUID());
  const [done, setDone] = useState<string | null>(null);
  const save = useAction(async () => {
    setDone(null);
    const result = await client.admin.ledger.topup(
      account.id,
      { amount: amount.trim(), note: note.trim() || undefined },
      { idempotencyKey: attempt },
    );
    setDone(
      `${result.replayed ? "Already credited" : "Credited"} ${formatMoney(result.entry.amount, result.entry.currency)}; balance ${formatMoney(result.balance.balance, result.balance.currency)}.`,
    );
    setAmount("");
    setNote("");
    setAttempt(crypto.randomUUID());
    onCredited(result.balance);
  });
  const form = formErrors<TopupField>(save.error, (param) =>
    param === "amount" ? "topup-amount" : param === "note" ? "topup-note" : undefined,
  );
  const first = useFocusOnOpen<HTMLInputElement>();
  // Any change to the form is a new top-up, with a new key.
  const edit = (set: (v: string) => void) => (e: ChangeEvent<HTMLInputElement>) => {
    set(e.target.value);
    setAttempt(crypto.randomUUID());
  };

  return (
    <form onSubmit={submitWith(save.run)} aria-label={`Top up ${account.name}`}>
      <div className="row">
        <TextField
          label="Amount"
          {...form.field("topup-amount")}
          hint="e.g. 25.00"
          ref={first}
          inputMode="decimal"
          value={amount}
          onChange={edit(setAmount)}
          autoComplete="off"
        />
        <TextField
          label="Note"
          {...form.field("topup-note")}
          hint="Optional"
          value={note}
          onChange={edit(setNote)}
        />
      </div>
      <FormActions
        error={form.general}
        errorTitle="Not credited"
        busy={save.busy}
        submit="Top up"
        busySubmit="Crediting…"
        cancel="Close"
        onCancel={onClose}
        status={done ?? ""}
      />
    </form>
  );
}
