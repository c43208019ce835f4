import type { WebhookDelivery } from "@vidrelay/sdk";
import { CLIENT_OPTIONS_HELP, EXIT, type Io, intFlag, isoTime, subcommand, UsageError } from "./common.ts";
import { type Columns, printList } from "./lists.ts";

export const WEBHOOKS_HELP = `vidrelay webhooks — the account's signing secret and a task's deliveries

Usage:
  vidrelay webhooks secret [--rotate [--grace-seconds N]]
  vidrelay webhooks deliveries TASK_ID
  vidrelay webhooks replay TASK_ID DELIVERY_ID

Webhooks are signed the Standard Webhooks way with this secret (whsec_…). After --rotate, both the
old and the new signature are sent for the grace period (default 24 h).

${CLIENT_OPTIONS_HELP}

Examples:
  vidrelay webhooks secret
  vidrelay webhooks secret --rotate --grace-seconds 3600
  vidrelay webhooks deliveries task_AbC…
`;

const DELIVERY_COLUMNS: Columns<WebhookDelivery> = {
  DELIVERY: (d) => d.id,
  STATUS: (d) => d.status,
  ATTEMPTS: (d) => String(d.attempts.length),
  "LAST ANSWER": (d) => {
    const last = d.attempts.at(-1);
    return last ? (last.status_code?.toString() ?? last.error ?? "-") : "-";
  },
  URL: (d) => d.url,
};

export async function webhooks(args: string[], io: Io): Promise<number> {
  const command = subcommand(args, io, WEBHOOKS_HELP, {
    rotate: { type: "boolean" },
    "grace-seconds": { type: "string" },
  });
  if (typeof command === "number") return command;
  const { sub, values, positionals } = command;
  const client = command.client();
  switch (sub) {
    case "secret": {
      const grace = intFlag("--grace-seconds", values["grace-seconds"] as string | undefined, 0);
      const secret = values.rotate
        ? await client.webhooks.rotateSecret({ graceSeconds: grace })
        : await client.webhooks.secret();
      if (values.json) io.out(JSON.stringify(secret));
      else {
        io.out(secret.secret);
        if (secret.previous_secret_expires_at) {
          io.err(
            `the previous secret is also signed with until ${isoTime(secret.previous_secret_expires_at)}`,
          );
        }
      }
      return EXIT.ok;
    }
    case "deliveries": {
      const taskId = positionals[0];
      if (!taskId) throw new UsageError("webhooks deliveries needs a TASK_ID");
      return printList(io, await client.webhooks.deliveries(taskId), values.json, DELIVERY_COLUMNS);
    }
    case "replay": {
      const [taskId, deliveryId] = positionals;
      if (!taskId || !deliveryId) throw new UsageError("webhooks replay needs TASK_ID and DELIVERY_ID");
      const d = await client.webhooks.replay(taskId, deliveryId);
      io.out(values.json ? JSON.stringify(d) : `${d.id} is ${d.status} again; it will be sent shortly`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown webhooks command "${sub}"\n\n${WEBHOOKS_HELP}`);
  }
}
