/**
 * One account: a top-up form and its ledger (newest first). A top-up carries an Idempotency-Key
 * chosen when the form is filled, so a retried or double-clicked submit credits the account once.
 */
import type { Account, Balance, VidRelay } from "@vidrelay/sdk";
import { type FormEvent, useState } from "react";
import { ErrorNote, Field, formatMoney, formatTime, useLoad } from "../../components/ui.tsx";
import { useFocusOnOpen, useFormError } from "./api.ts";

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
  const [amount, setAmount] = useState("");
  const [note, setNote] = useState("");
  const [attempt, setAttempt] = useState(() => crypto.randomUUID());
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useFormError<TopupField>((param) =>
    param === "amount" ? "topup-amount" : param === "note" ? "topup-note" : undefined,
  );

  const first = useFocusOnOpen<HTMLInputElement>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setDone(null);
    form.setError(null);
    try {
      const result = await client.admin.ledger.topup(
        account.id,
        { amount: amount.trim(), note: note.trim() || undefined },
        { idempotencyKey: attempt },
      );
      onBalance(result.balance);
      setDone(
        `${result.replayed ? "Already credited" : "Credited"} ${formatMoney(result.entry.amount, result.entry.currency)}; balance ${formatMoney(result.balance.balance, result.balance.currency)}.`,
      );
      setAmount("");
      setNote("");
      setAttempt(crypto.randomUUID());
      ledger.reload();
    } catch (error) {
      form.setError(error);
    } finally {
      setBusy(false);
    }
  };
  // Any change to the form is a new top-up, with a new key.
  const edit = (set: (v: string) => void) => (v: string) => {
    set(v);
    setAttempt(crypto.randomUUID());
  };

  return (
    <section className="panel" aria-labelledby="account-title">
      <h2 id="account-title">Account “{account.name}”</h2>
      <form onSubmit={submit} aria-label={`Top up ${account.name}`}>
        <div className="row">
          <Field label="Amount" htmlFor="topup-amount" error={form.on("topup-amount")} hint="e.g. 25.00">
            <input
              id="topup-amount"
              ref={first}
              {...form.aria("topup-amount")}
              inputMode="decimal"
              value={amount}
              onChange={(e) => edit(setAmount)(e.target.value)}
              autoComplete="off"
            />
          </Field>
          <Field label="Note" htmlFor="topup-note" error={form.on("topup-note")} hint="Optional">
            <input
              id="topup-note"
              {...form.aria("topup-note")}
              value={note}
              onChange={(e) => edit(setNote)(e.target.value)}
            />
          </Field>
        </div>
        <ErrorNote error={form.general} title="Not credited" />
        <div className="page-actions">
          <button type="submit" disabled={busy}>
            {busy ? "Crediting…" : "Top up"}
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Close
          </button>
          <span role="status">{done ?? ""}</span>
        </div>
      </form>
      <h3 id="ledger-title">Ledger</h3>
      <ErrorNote error={ledger.error} title="Could not load the ledger" />
      <div className="table-wrap">
        <table aria-labelledby="ledger-title">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Kind</th>
              <th scope="col">Amount</th>
              <th scope="col">Note</th>
              <th scope="col">Task</th>
            </tr>
          </thead>
          <tbody>
            {(ledger.data?.data ?? []).map((entry) => (
              <tr key={entry.id}>
                <td>{formatTime(entry.created_at)}</td>
                <td>{entry.kind}</td>
                <td className="money">{formatMoney(entry.amount, entry.currency)}</td>
                <td className="wrap">{entry.note ?? ""}</td>
                <td>{entry.task_id ? <code>{entry.task_id}</code> : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {ledger.data && ledger.data.data.length === 0 ? <p className="muted">No entries yet.</p> : null}
      {ledger.data?.has_more ? <p className="muted">Showing the newest 50 entries.</p> : null}
    </section>
  );
}
