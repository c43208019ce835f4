/**
 * Accounts (admin): every account with its billing mode and balance; switch the mode, top up one
 * and read its ledger.
 */

import type { Account, Balance, BillingMode, VidRelay } from "@vidrelay/sdk";
import { useState } from "react";
import { ErrorNote, formatMoney, PageHeader, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { AccountDetail } from "./admin/AccountDetail.tsx";
import "./admin/admin.css";

export function AccountsPage() {
  const { client } = useSession();
  const loaded = useLoad(
    async (signal) => {
      const accounts = await client.admin.accounts.list({ signal });
      const balances = await Promise.all(
        accounts.map((a) => client.billing.balance({ account_id: a.id }, { signal })),
      );
      return { accounts, balances: new Map(balances.map((b) => [b.account_id, b])) };
    },
    [client],
  );
  // Balances the top-up form received, newer than the last load.
  const [updated, setUpdated] = useState<Map<string, Balance>>(new Map());
  const [selected, setSelected] = useState<Account | null>(null);
  const balanceOf = (id: string) => updated.get(id) ?? loaded.data?.balances.get(id);

  return (
    <section>
      <PageHeader title="Accounts" />
      <ErrorNote error={loaded.error} title="Could not load the accounts" />
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Accounts</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Admin</th>
              <th scope="col">Billing</th>
              <th scope="col">Balance</th>
              <th scope="col">Held by running tasks</th>
              <th scope="col">Available</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(loaded.data?.accounts ?? []).map((account) => {
              const balance = balanceOf(account.id);
              return (
                <tr key={account.id} data-account-id={account.id}>
                  <td>{account.name}</td>
                  <td>{account.admin ? "admin" : ""}</td>
                  <td>
                    <BillingModeSelect client={client} account={account} />
                  </td>
                  <td className="money" data-balance>
                    {formatMoney(balance?.balance, balance?.currency)}
                  </td>
                  <td className="money">{formatMoney(balance?.held, balance?.currency)}</td>
                  <td className="money">{formatMoney(balance?.available, balance?.currency)}</td>
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => setSelected(account)}
                      aria-label={`Top up and ledger of ${account.name}`}
                    >
                      Top up · Ledger
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {selected ? (
        <AccountDetail
          key={selected.id}
          client={client}
          account={selected}
          onBalance={(b) => setUpdated((m) => new Map(m).set(b.account_id, b))}
          onClose={() => setSelected(null)}
        />
      ) : null}
    </section>
  );
}

/** The account's billing mode, changed with PATCH /v1/admin/accounts/{id} as soon as it is picked. */
function BillingModeSelect({ client, account }: { client: VidRelay; account: Account }) {
  const [mode, setMode] = useState<BillingMode>(account.billing_mode);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const change = async (next: BillingMode) => {
    const previous = mode;
    setMode(next);
    setSaving(true);
    setError(null);
    try {
      const saved = await client.admin.accounts.update(account.id, { billing_mode: next });
      setMode(saved.billing_mode);
    } catch (e) {
      setMode(previous);
      setError(e);
    } finally {
      setSaving(false);
    }
  };
  return (
    <>
      <select
        aria-label={`Billing mode of ${account.name}`}
        value={mode}
        disabled={saving}
        onChange={(e) => void change(e.target.value as BillingMode)}
      >
        <option value="prepaid">Prepaid</option>
        <option value="unmetered">Unmetered</option>
      </select>
      <ErrorNote error={error} title="Could not change the billing mode" />
    </>
  );
}
