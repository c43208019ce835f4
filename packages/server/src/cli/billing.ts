import {
  CLIENT_OPTIONS_HELP,
  clientCommand,
  EXIT,
  type Io,
  subcommand,
  table,
  UsageError,
} from "./common.ts";

export const USAGE_HELP = `vidrelay usage — tasks, seconds and cost per day, model and key

Usage:
  vidrelay usage [--start-date YYYY-MM-DD] [--end-date YYYY-MM-DD] [--group-by day,model,key] [--model ID]
  vidrelay balance

${CLIENT_OPTIONS_HELP}

Example:
  vidrelay usage --start-date 2026-11-01 --group-by model
`;

export const ACCOUNTS_HELP = `vidrelay accounts — account administration (admin key)

Usage:
  vidrelay accounts list
  vidrelay accounts topup ACCOUNT_ID AMOUNT [--idempotency-key KEY] [--note TEXT]
  vidrelay accounts billing-mode ACCOUNT_ID prepaid|unmetered

AMOUNT is a decimal in the gateway's currency, e.g. 25.00. A retry with the same
--idempotency-key credits once.

Billing modes: prepaid (new accounts) needs a balance that covers each task's worst-case
price; unmetered (the installation's own account) records usage and cost but needs no balance.
Limits apply in both.

${CLIENT_OPTIONS_HELP}

Example:
  vidrelay accounts topup acct_3kT… 50.00 --idempotency-key invoice-1042
`;

export async function usage(args: string[], io: Io): Promise<number> {
  const command = clientCommand(args, io, USAGE_HELP, {
    "start-date": { type: "string" },
    "end-date": { type: "string" },
    "group-by": { type: "string" },
    model: { type: "string" },
  });
  if (typeof command === "number") return command;
  const { values } = command;
  const report = await command.client().billing.usage({
    start_date: values["start-date"] as string | undefined,
    end_date: values["end-date"] as string | undefined,
    group_by: values["group-by"] as string | undefined,
    model: values.model as string | undefined,
  });
  if (values.json) {
    io.out(JSON.stringify(report));
    return EXIT.ok;
  }
  io.out(
    table(
      ["DAY", "MODEL", "KEY", "TASKS", "SECONDS", `COST (${report.currency})`],
      [...report.data, { ...report.totals, date: "total" }].map((r) => [
        r.date ?? "",
        r.model ?? "",
        r.key_id ?? "",
        String(r.tasks),
        String(r.seconds),
        r.cost,
      ]),
    ),
  );
  return EXIT.ok;
}

export async function balance(args: string[], io: Io): Promise<number> {
  const command = clientCommand(args, io, USAGE_HELP);
  if (typeof command === "number") return command;
  const { values } = command;
  const result = await command.client().core.request<Record<string, unknown>>({
    method: "GET",
    path: "/v1/balance",
  });
  io.out(
    values.json
      ? JSON.stringify(result)
      : Object.entries(result)
          .map(([k, v]) => `${k}: ${v}`)
          .join("\n"),
  );
  return EXIT.ok;
}

export async function accounts(args: string[], io: Io): Promise<number> {
  const command = subcommand(args, io, ACCOUNTS_HELP, {
    "idempotency-key": { type: "string" },
    note: { type: "string" },
  });
  if (typeof command === "number") return command;
  const { sub, values, positionals } = command;
  const client = command.client();
  switch (sub) {
    case "list": {
      const { data } = await client.core.request<{
        data: Array<{ id: string; name: string; admin: boolean; billing_mode: string }>;
      }>({
        method: "GET",
        path: "/v1/admin/accounts",
      });
      io.out(
        values.json
          ? JSON.stringify(data)
          : table(
              ["ID", "NAME", "ADMIN", "BILLING"],
              data.map((a) => [a.id, a.name, a.admin ? "yes" : "", a.billing_mode]),
            ),
      );
      return EXIT.ok;
    }
    case "topup": {
      const [accountId, amount] = positionals;
      if (!accountId || !amount)
        throw new UsageError("accounts topup needs ACCOUNT_ID and AMOUNT (e.g. 25.00)");
      if (!/^\d+(\.\d{1,6})?$/.test(amount))
        throw new UsageError(`AMOUNT must be a positive decimal such as 25.00, got "${amount}"`);
      const result = await client.core.request<Record<string, unknown>>({
        method: "POST",
        path: `/v1/admin/accounts/${accountId}/topup`,
        json: { amount, note: values.note },
        headers: values["idempotency-key"] ? { "idempotency-key": values["idempotency-key"] as string } : {},
      });
      io.out(values.json ? JSON.stringify(result) : `credited ${amount} to ${accountId}`);
      return EXIT.ok;
    }
    case "billing-mode": {
      const [accountId, mode] = positionals;
      if (!accountId || !mode)
        throw new UsageError("accounts billing-mode needs ACCOUNT_ID and prepaid|unmetered");
      if (mode !== "prepaid" && mode !== "unmetered")
        throw new UsageError(`the billing mode is prepaid or unmetered, got "${mode}"`);
      const result = await client.core.request<{ id: string; billing_mode: string }>({
        method: "PATCH",
        path: `/v1/admin/accounts/${accountId}`,
        json: { billing_mode: mode },
      });
      io.out(values.json ? JSON.stringify(result) : `${result.id} is now ${result.billing_mode}`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown accounts command "${sub}"\n\n${ACCOUNTS_HELP}`);
  }
}
