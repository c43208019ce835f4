/**
 * Accounts (admin): every account with its balance; top up one and read its ledger. (Billing mode,
 * prepaid or unmetered, is not in the API yet, so it is not shown.)
 */
import { useState } from "react";
import { ErrorNote, formatMoney, PageHeader, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { AccountDetail } from "./admin/AccountDetail.tsx";
import { type Account, adminRequest, type Balance, type List } from "./admin/api.ts";
import "./admin/admin.css";

export function AccountsPage() {
  const { client } = useSession();
  const loaded = useLoad(
    async (signal) => {
      const accounts = await adminRequest<List<Account>>(client, "GET", "/v1/admin/accounts", { signal });
      const balances = await Promise.all(
        accounts.data.map((a) =>
          adminRequest<Balance>(client, "GET", "/v1/balance", { query: { account_id: a.id }, signal }),
        ),
      );
      return { accounts: accounts.data, balances: new Map(balances.map((b) => [b.account_id, b])) };
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
