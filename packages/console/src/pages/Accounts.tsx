/**
 * Accounts (admin): every account with its billing mode and balance; switch the mode, top up one
 * and read its ledger.
 */

import type { Account, Balance, BillingMode, VidRelay } from "@vidrelay/sdk";
import { useState } from "react";
import { DataTable } from "../components/DataTable.tsx";
import { useAction } from "../components/form.tsx";
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
      <DataTable caption="Accounts" columns={COLUMNS}>
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
      </DataTable>
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

const COLUMNS = ["Name", "Admin", "Billing", "Balance", "Held by running tasks", "Available", "Actions"];

/** The account's billing mode, changed with PATCH /v1/admin/accounts/{id} as soon as it is picked. */
function BillingModeSelect({ client, account }: { client: VidRelay; account: Account }) {
  const [mode, setMode] = useState<BillingMode>(account.billing_mode);
  const change = useAction(async (next: BillingMode) => {
    const previous = mode;
    setMode(next);
    try {
      const saved = await client.admin.accounts.update(account.id, { billing_mode: next });
      setMode(saved.billing_mode);
    } catch (error) {
      setMode(previous);
      throw error;
    }
  });
  return (
    <>
      <select
        aria-label={`Billing mode of ${account.name}`}
        value={mode}
        disabled={change.busy}
        onChange={(e) => void change.run(e.target.value as BillingMode)}
      >
        <option value="prepaid">Prepaid</option>
        <option value="unmetered">Unmetered</option>
      </select>
      <ErrorNote error={change.error} title="Could not change the billing mode" />
    </>
  );
}
